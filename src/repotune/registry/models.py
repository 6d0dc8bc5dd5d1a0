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

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from repotune.config import LOWER_IS_BETTER
from repotune.errors import RepotuneError

SEMVER_TAG = "semver"
BASE_MODEL_TAG = "base_model"
CONFIG_HASH_TAG = "config_hash"
DECISION_TAG = "champion_decision"
METRIC_TAG_PREFIX = "metric."
CHAMPION = "champion"
PREVIOUS = "previous"
SUMMARY_TAGS = (BASE_MODEL_TAG, CONFIG_HASH_TAG, "dataset_fingerprint", DECISION_TAG)
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class ChampionDecision:
    promoted: bool
    reason: str
    previous_champion: str | None


def _parse_semver(text: str | None) -> tuple[int, int, int] | None:
    match = _SEMVER.match(text or "")
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _versions(client: MlflowClient, model_name: str) -> list[ModelVersion]:
    """All versions of the model, following pages (search results carry no aliases)."""
    if "'" in model_name:
        raise RepotuneError(
            "register",
            f"model name {model_name!r} contains a quote, which MLflow search filters cannot hold",
            "choose a `registry.model_name` without quotes",
        )
    found: list[ModelVersion] = []
    token = None
    while True:
        page = client.search_model_versions(f"name='{model_name}'", page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _aliases(client: MlflowClient, model_name: str) -> dict[str, str] | None:
    """alias -> version (as str); None when the model is not registered."""
    try:
        model = client.get_registered_model(model_name)
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    return {alias: str(version) for alias, version in model.aliases.items()}


def next_semver(
    client: MlflowClient, model_name: str, base_model: str, config_hash: str
) -> tuple[str, str]:
    """(semver, reason) for the next version, compared with the highest semver registered.

    Base model changed -> major, config changed -> minor, same both (new data) -> patch. Two runs
    registering at the same moment can compute the same semver; the MLflow version number still
    tells them apart.
    """
    tagged = [
        (parsed, version)
        for version in _versions(client, model_name)
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
    if _aliases(client, model_name) is None:
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


def _beats(candidate: float, other: float, lower_is_better: bool) -> bool:
    return candidate < other if lower_is_better else candidate > other


def decide_champion(
    client: MlflowClient,
    model_name: str,
    version: str,
    candidate: dict[str, float],
    base: dict[str, float],
    key_metric: str,
) -> ChampionDecision:
    """Promote ``version`` to ``champion`` if it beats both the base and the current champion.

    A tie with the champion keeps the champion: retraining on unchanged data must not churn the
    alias that serving follows.

    The candidate's metrics are stored as ``metric.<name>`` version tags whatever the outcome, so a
    later candidate is compared with the champion's recorded numbers. A champion without a
    recorded key metric (registered by hand) cannot be compared and does not block promotion.
    """
    for label, metrics in (("candidate", candidate), ("base", base)):
        if key_metric not in metrics:
            raise RepotuneError(
                "register",
                f"key metric `{key_metric}` is missing from the {label} metrics "
                f"(have: {', '.join(sorted(metrics)) or 'none'})",
                "evaluate both models with the metric named in `evaluation.key_metric`",
            )
    version = str(version)
    for name, value in candidate.items():
        client.set_model_version_tag(model_name, version, f"{METRIC_TAG_PREFIX}{name}", str(value))
    lower = key_metric in LOWER_IS_BETTER
    direction = "lower" if lower else "higher"
    value, base_value = float(candidate[key_metric]), float(base[key_metric])
    champion = (_aliases(client, model_name) or {}).get(CHAMPION)

    promoted = False
    if champion == version:
        reason = f"version {version} is already the champion"
    elif not _beats(value, base_value, lower):
        reason = (
            f"kept: {key_metric} {value:.6g} does not beat the base model's {base_value:.6g} "
            f"({direction} is better)"
        )
    else:
        reason = f"{key_metric} {value:.6g} beats the base model's {base_value:.6g}"
        recorded = None
        if champion is not None:
            tags = client.get_model_version(model_name, champion).tags
            recorded = tags.get(f"{METRIC_TAG_PREFIX}{key_metric}")
        if champion is None:
            promoted, reason = True, f"promoted: {reason}; no champion yet"
        elif recorded is None:
            promoted = True
            reason = f"promoted: {reason}; champion {champion} has no recorded {key_metric}"
        elif not _beats(value, float(recorded), lower):
            reason = (
                f"kept: {reason}, but does not beat champion {champion}'s {float(recorded):.6g} "
                f"({direction} is better; a tie keeps the champion)"
            )
        else:
            promoted = True
            reason = f"promoted: {reason} and beats champion {champion}'s {float(recorded):.6g}"

    if promoted:
        if champion is not None:
            client.set_registered_model_alias(model_name, PREVIOUS, champion)
        client.set_registered_model_alias(model_name, CHAMPION, version)
    client.set_model_version_tag(model_name, version, DECISION_TAG, reason)
    return ChampionDecision(promoted, reason, champion)


def registry_summary(client: MlflowClient, model_name: str) -> list[dict[str, Any]]:
    """Newest-first rows for ``repotune status``; empty when the model is not registered."""
    aliases = _aliases(client, model_name)
    if aliases is None:
        return []
    by_version: dict[str, list[str]] = {}
    for alias, version in sorted(aliases.items()):
        by_version.setdefault(version, []).append(alias)
    rows = []
    for mv in sorted(_versions(client, model_name), key=lambda v: int(v.version), reverse=True):
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
