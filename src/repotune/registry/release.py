"""Release a trained candidate: semantic version, registered version with lineage and model card,
the readiness gate's call (champion, challenger or kept), and the keep-N policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from repotune.config import PromotionConfig
from repotune.registry.lifecycle import archive_old_versions
from repotune.registry.model_card import CardFacts, model_card_markdown
from repotune.registry.models import (
    BASE_MODEL_TAG,
    CONFIG_HASH_TAG,
    SCHEMA_TAG,
    SEMVER_TAG,
    decide_champion,
    next_semver,
    register_version,
)
from repotune.registry.tracking import RunTracker

MODEL_CARD_ARTIFACT = "model_card.md"


def release_candidate(
    tracker: RunTracker,
    model_name: str,
    *,
    adapter_artifact: str,
    base_model: str,
    config_hash: str,
    dataset_schema: str,
    lineage: dict[str, str],
    candidate: dict[str, float],
    base: dict[str, float],
    key_metric: str,
    promotion: PromotionConfig,
    keep_versions: int,
    card: CardFacts,
    champion_metrics: dict[str, float] | None = None,
    scores: tuple[Sequence[float], Sequence[float]] | None = None,
) -> dict[str, Any]:
    """Register the run's adapter artifact, decide whether it becomes ``champion``, write its card.

    The semver is decided before registering (it compares with the versions already there) and is
    written on the version and on the run, so either UI shows it. ``card`` carries what the
    pipeline knows (data, training, comparison); version, semver and decision are filled in here.
    """
    client = tracker.client
    semver, semver_reason = next_semver(client, model_name, base_model, config_hash, dataset_schema)
    tags = {
        **lineage,
        SEMVER_TAG: semver,
        BASE_MODEL_TAG: base_model,
        CONFIG_HASH_TAG: config_hash,
        SCHEMA_TAG: dataset_schema,
        "semver_reason": semver_reason,
    }
    version = register_version(
        client,
        model_name,
        tracker.run_id,
        tracker.artifact_uri(adapter_artifact),
        tags,
        description=f"LoRA adapter on {base_model}; {semver_reason}",
    )
    decision = decide_champion(
        client,
        tracker.tracking_uri,
        model_name,
        version,
        candidate,
        base,
        key_metric,
        promotion,
        champion_metrics,
        scores,
    )
    card = replace(
        card, version=version, semver=semver, semver_reason=semver_reason, decision=decision.reason
    )
    markdown = model_card_markdown(card)
    client.update_model_version(model_name, version, description=markdown)
    tracker.log_text(markdown, MODEL_CARD_ARTIFACT)
    archived = archive_old_versions(client, tracker.tracking_uri, model_name, keep_versions)
    tracker.set_tags(
        {
            "registered_version": version,
            SEMVER_TAG: semver,
            "promoted": str(decision.promoted).lower(),
            "challenger": str(decision.challenger).lower(),
        }
    )
    return {
        "model_name": model_name,
        "version": version,
        "semver": semver,
        "semver_reason": semver_reason,
        "promoted": decision.promoted,
        "challenger": decision.challenger,
        "previous_champion": decision.previous_champion,
        "reason": decision.reason,
        "archived": archived,
    }
