"""Release a trained candidate: semantic version, registered version with lineage, champion call."""

from __future__ import annotations

from typing import Any

from repotune.registry.models import (
    BASE_MODEL_TAG,
    CONFIG_HASH_TAG,
    SEMVER_TAG,
    decide_champion,
    next_semver,
    register_version,
)
from repotune.registry.tracking import RunTracker


def release_candidate(
    tracker: RunTracker,
    model_name: str,
    *,
    adapter_artifact: str,
    base_model: str,
    config_hash: str,
    lineage: dict[str, str],
    candidate: dict[str, float],
    base: dict[str, float],
    key_metric: str,
) -> dict[str, Any]:
    """Register the run's adapter artifact and decide whether it becomes ``champion``.

    The semver is decided before registering (it compares with the versions already there) and is
    written on the version and on the run, so either UI shows it.
    """
    client = tracker.client
    semver, semver_reason = next_semver(client, model_name, base_model, config_hash)
    tags = {
        **lineage,
        SEMVER_TAG: semver,
        BASE_MODEL_TAG: base_model,
        CONFIG_HASH_TAG: config_hash,
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
    decision = decide_champion(client, model_name, version, candidate, base, key_metric)
    tracker.set_tags(
        {
            "registered_version": version,
            SEMVER_TAG: semver,
            "promoted": str(decision.promoted).lower(),
        }
    )
    return {
        "model_name": model_name,
        "version": version,
        "semver": semver,
        "semver_reason": semver_reason,
        "promoted": decision.promoted,
        "previous_champion": decision.previous_champion,
        "reason": decision.reason,
    }
