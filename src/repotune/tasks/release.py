"""Prefect tasks of the release stage: register a candidate, promote, roll back."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from repotune.config import PipelineConfig
from repotune.datasets.store import DatasetRef
from repotune.datasets.task_datasets import TASKS_FORMAT
from repotune.modeling.base import BaseModelInfo
from repotune.registry.lifecycle import promote, rollback
from repotune.registry.model_card import CardFacts
from repotune.registry.release import release_candidate
from repotune.registry.tracking import RunTracker, client_for
from repotune.sources.git import Snapshot, source_tags
from repotune.tasks.model import ADAPTER_ARTIFACT


def _gate_lines(gates: dict[str, dict]) -> dict[str, str]:
    return {
        f"Dataset gate `{name}`": "passed"
        if verdict["passed"]
        else "failed and accepted (--accept-gate-failure): " + ", ".join(verdict["failed"])
        for name, verdict in gates.items()
    }


@task(name="register-model", cache_policy=NO_CACHE)
def register_model(
    config: PipelineConfig,
    tracker: RunTracker,
    snapshots: list[Snapshot],
    datasets: dict[str, DatasetRef],
    base: BaseModelInfo,
    evaluation: dict,
    gates: dict[str, dict],
) -> dict:
    """Register the adapter with semver, lineage and a model card; run the readiness gate."""
    completion, tasks = datasets["completion"], datasets["tasks"]
    card = CardFacts(
        model_name=config.registry.model_name,
        version="",
        semver="",
        semver_reason="",
        base_model=base.name,
        sources={snapshot.origin: snapshot.commit for snapshot in snapshots},
        datasets={name: ref.fingerprint for name, ref in datasets.items()},
        samples=dict(tasks.manifest["mixture"]),
        training={"train": config.train.model_dump(), "tasks": config.tasks.model_dump()},
        comparison=evaluation["comparison"],
        decision="",
        gates=_gate_lines(gates),
    )
    release = release_candidate(
        tracker,
        config.registry.model_name,
        adapter_artifact=ADAPTER_ARTIFACT,
        base_model=base.name,
        config_hash=config.training_hash(),
        dataset_schema=TASKS_FORMAT,
        lineage={
            "base_model_path": base.path,
            "dataset_fingerprint": completion.fingerprint,
            "tasks_fingerprint": tasks.fingerprint,
            "gates_passed": str(all(v["passed"] for v in gates.values())).lower(),
            **source_tags(snapshots),
        },
        candidate=evaluation["tuned"],
        base=evaluation["base"],
        key_metric=config.evaluation.key_metric,
        promotion=config.promotion,
        keep_versions=config.registry.keep_versions,
        card=card,
        champion_metrics=evaluation["champion"],
        scores=evaluation["scores"],
    )
    create_markdown_artifact(
        key="release",
        markdown=f"# {release['model_name']} v{release['version']} ({release['semver']})\n\n"
        f"{release['reason']}\n",
        description="Registered version and the readiness gate's decision",
    )
    tracker.finish("FINISHED")
    return release


@task(name="promote-version", cache_policy=NO_CACHE)
def promote_version(tracking_uri: str, model_name: str, version: str, reason: str) -> list[dict]:
    """Move ``champion`` to ``version`` (the old champion becomes ``previous``)."""
    moves = promote(client_for(tracking_uri), tracking_uri, model_name, version, reason)
    get_run_logger().info("promoted %s v%s: %s", model_name, version, reason)
    return [move.__dict__ for move in moves]


@task(name="rollback-champion", cache_policy=NO_CACHE)
def rollback_champion(
    tracking_uri: str, model_name: str, reason: str, to: str | None = None
) -> list[dict]:
    """Move ``champion`` back to ``to`` (default: ``previous``)."""
    moves = rollback(client_for(tracking_uri), tracking_uri, model_name, reason, to)
    get_run_logger().info("rolled %s back: %s", model_name, moves[0].to_json())
    return [move.__dict__ for move in moves]
