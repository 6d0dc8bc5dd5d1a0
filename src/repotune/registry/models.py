"""Registered model versions: semantic versions, registration, and the champion decision.

Every version carries the tags that make it explainable later: ``semver``, ``base_model``,
``config_hash`` (what the semver rules compare), ``metric.<name>`` (its evaluation, so a later
candidate can be compared with the champion without re-evaluating it) and ``champion_decision``
(why it was or was not promoted). Aliases: ``champion`` is what serving loads, ``previous`` is where
a rollback goes.

Model versions are strings here: the SQLite store returns ints, the REST store strings, and a
mix of both breaks comparisons and alias look-ups in subtle ways.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow.artifacts import download_artifacts
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from repotune.config import PromotionConfig
from repotune.registry.aliases import (
    CHALLENGER,
    CHAMPION,
    all_versions,
    move_alias,
    registered_aliases,
)
from repotune.registry.lifecycle import ARCHIVED_TAG, promote
from repotune.registry.readiness import assess

SEMVER_TAG = "semver"
BASE_MODEL_TAG = "base_model"
CONFIG_HASH_TAG = "config_hash"
SCHEMA_TAG = "dataset_schema"
DECISION_TAG = "champion_decision"
METRIC_TAG_PREFIX = "metric."
SUMMARY_TAGS = (BASE_MODEL_TAG, CONFIG_HASH_TAG, "dataset_fingerprint", DECISION_TAG)
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class ChampionDecision:
    promoted: bool
    challenger: bool
    reason: str
    previous_champion: str | None


def _parse_semver(text: str | None) -> tuple[int, int, int] | None:
    match = _SEMVER.match(text or "")
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def next_semver(
    client: MlflowClient,
    model_name: str,
    base_model: str,
    config_hash: str,
    dataset_schema: str | None = None,
) -> tuple[str, str]:
    """(semver, reason) for the next version, compared with the highest semver registered.

    Base model (and so its tokenizer) changed -> major; training config or dataset schema
    (``dataset_schema``: the task datasets' table layout) changed -> minor; same all (new data) ->
    patch. Two runs registering at the same moment can compute the same semver; the MLflow version
    number still tells them apart.
    """
    tagged = [
        (parsed, version)
        for version in all_versions(client, model_name)
        if (parsed := _parse_semver(version.tags.get(SEMVER_TAG))) is not None
    ]
    if not tagged:
        return "1.0.0", f"first version of {model_name}"
    (major, minor, patch), latest = max(tagged, key=lambda item: item[0])
    latest_semver = f"{major}.{minor}.{patch}"
    previous_base = latest.tags.get(BASE_MODEL_TAG)
    if previous_base != base_model:
        return (
            f"{major + 1}.0.0",
            f"base model changed since {latest_semver} ({previous_base} -> {base_model})",
        )
    if latest.tags.get(CONFIG_HASH_TAG) != config_hash:
        return (
            f"{major}.{minor + 1}.0",
            f"training config changed since {latest_semver} "
            f"({latest.tags.get(CONFIG_HASH_TAG)} -> {config_hash})",
        )
    previous_schema = latest.tags.get(SCHEMA_TAG)
    if dataset_schema is not None and previous_schema not in {None, dataset_schema}:
        return (
            f"{major}.{minor + 1}.0",
            f"dataset schema changed since {latest_semver} ({previous_schema} -> {dataset_schema})",
        )
    return f"{major}.{minor}.{patch + 1}", f"same base and config as {latest_semver}: new data"


def register_version(
    client: MlflowClient,
    model_name: str,
    run_id: str,
    source_uri: str,
    tags: dict[str, str],
    description: str = "",
) -> str:
    """Register ``source_uri`` (an artifact directory of ``run_id``) as a new version.

    ``create_model_version`` is used instead of ``mlflow.register_model("runs:/...")``, which in
    MLflow 3 only accepts logged MLflow models, not plain artifact directories such as an adapter.
    """
    if registered_aliases(client, model_name) is None:
        try:
            client.create_registered_model(model_name)
        except MlflowException as err:
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
    version = client.create_model_version(
        model_name,
        source=source_uri,
        run_id=run_id,
        tags={key: str(value) for key, value in tags.items()},
        description=description or None,
    )
    return str(version.version)


def recorded_metrics(client: MlflowClient, model_name: str, version: str) -> dict[str, float]:
    """The ``metric.<name>`` tags of a version: its evaluation when it was registered."""
    tags = client.get_model_version(model_name, str(version)).tags
    metrics = {}
    for key, value in tags.items():
        if key.startswith(METRIC_TAG_PREFIX):
            with contextlib.suppress(ValueError):
                metrics[key.removeprefix(METRIC_TAG_PREFIX)] = float(value)
    return metrics


def decide_champion(
    client: MlflowClient,
    tracking_uri: str,
    model_name: str,
    version: str,
    candidate: dict[str, float],
    base: dict[str, float],
    key_metric: str,
    promotion: PromotionConfig,
    champion_metrics: dict[str, float] | None = None,
    scores: tuple[Sequence[float], Sequence[float]] | None = None,
) -> ChampionDecision:
    """Run the readiness gate on ``version``; promote it, make it ``challenger``, or keep it.

    The candidate's metrics are stored as ``metric.<name>`` version tags whatever the outcome.
    The champion is judged by ``champion_metrics`` (its evaluation on this run's test rows) when
    given, else by its recorded tags; ``scores`` are per-sample key-metric values of (champion,
    candidate) for the significance test.
    """
    version = str(version)
    for name, value in candidate.items():
        client.set_model_version_tag(model_name, version, f"{METRIC_TAG_PREFIX}{name}", str(value))
    champion = (registered_aliases(client, model_name) or {}).get(CHAMPION)
    if champion == version:
        reason = f"version {version} is already the champion"
        client.set_model_version_tag(model_name, version, DECISION_TAG, reason)
        return ChampionDecision(False, False, reason, champion)
    if champion is not None and champion_metrics is None:
        champion_metrics = recorded_metrics(client, model_name, champion)
    verdict = assess(
        candidate,
        base,
        champion_metrics if champion is not None else None,
        promotion,
        key_metric,
        scores,
    )
    if verdict.ready:
        reason = f"promoted: {verdict.summary()}"
        promote(client, tracking_uri, model_name, version, reason)
    elif verdict.challenger:
        reason = f"challenger: champion {champion} kept, {verdict.summary()}"
        move_alias(client, model_name, CHALLENGER, version, reason)
    else:
        reason = f"kept: {verdict.summary()}"
    client.set_model_version_tag(model_name, version, DECISION_TAG, reason[:5000])
    return ChampionDecision(verdict.ready, verdict.challenger, reason, champion)


def champion_adapter(
    client: MlflowClient, tracking_uri: str, model_name: str, base_model: str, dest: Path
) -> tuple[str, str] | None:
    """``(version, local adapter dir)`` of the champion, downloaded into ``dest``, when it is an
    adapter on ``base_model`` whose weights are kept; ``None`` otherwise (then it is judged by its
    recorded metrics)."""
    champion = (registered_aliases(client, model_name) or {}).get(CHAMPION)
    if champion is None:
        return None
    version = client.get_model_version(model_name, champion)
    if version.tags.get(BASE_MODEL_TAG) != base_model or ARCHIVED_TAG in version.tags:
        return None
    local = download_artifacts(
        artifact_uri=version.source, dst_path=str(dest), tracking_uri=tracking_uri
    )
    return champion, local


def registry_summary(client: MlflowClient, model_name: str) -> list[dict[str, Any]]:
    """Newest-first rows for ``repotune status``; empty when the model is not registered."""
    aliases = registered_aliases(client, model_name)
    if aliases is None:
        return []
    by_version: dict[str, list[str]] = {}
    for alias, version in sorted(aliases.items()):
        by_version.setdefault(version, []).append(alias)
    rows = []
    for mv in sorted(all_versions(client, model_name), key=lambda v: int(v.version), reverse=True):
        version = str(mv.version)
        created = datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC)
        rows.append(
            {
                "version": version,
                "semver": mv.tags.get(SEMVER_TAG, ""),
                "aliases": by_version.get(version, []),
                "created": created.isoformat(timespec="seconds"),
                "run_id": mv.run_id,
                "tags": {
                    key: value
                    for key, value in sorted(mv.tags.items())
                    if key in SUMMARY_TAGS or key.startswith(METRIC_TAG_PREFIX)
                },
            }
        )
    return rows
