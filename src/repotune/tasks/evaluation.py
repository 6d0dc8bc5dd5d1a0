"""Prefect task of the evaluation stage: base vs candidate vs champion on the same test rows."""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlflow.artifacts import download_artifacts
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from repotune.config import EvalConfig, PipelineConfig, PromotionConfig, RegistryConfig
from repotune.datasets.mixture import held_out_rows, train_rows
from repotune.datasets.store import DatasetRef, dataset_ref, list_datasets
from repotune.errors import RepotuneError
from repotune.evaluation.comparison import comparison_rows, plot_rows, table_rows
from repotune.evaluation.generation import EvalResult
from repotune.evaluation.plots import loss_curves, metric_bars
from repotune.evaluation.style import findings_per_100_lines
from repotune.evaluation.suite import EvalInputs, evaluate_system
from repotune.modeling.base import BaseModelInfo
from repotune.registry.aliases import CHALLENGER, all_versions, registered_aliases
from repotune.registry.lifecycle import usable_version
from repotune.registry.models import champion_adapter
from repotune.registry.readiness import assess
from repotune.registry.tracking import RunTracker, client_for
from repotune.workspace import Workspace

STYLE_REFERENCE_ROWS = 500
"""Training functions whose ruff findings set the repository's own style rate."""
PER_SAMPLE_OF = {"perplexity": "eval_loss"}
"""Per-sample scores that stand for a metric without its own (perplexity is monotone in loss)."""


def _loss_history(tracker: RunTracker) -> dict[str, list[tuple[int, float]]]:
    history = {}
    for name in ("train/loss", "train/eval_loss"):
        points = tracker.client.get_metric_history(tracker.run_id, name)
        if points:
            history[name.removeprefix("train/")] = [(p.step, p.value) for p in points]
    return history


def _log_plots(tracker: RunTracker, comparison: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        metric_bars(plot_rows(comparison), Path(scratch) / "metrics.png")
        history = _loss_history(tracker)
        if history:
            loss_curves(history, Path(scratch) / "loss_curves.png")
        tracker.log_artifacts(scratch, "evaluation/plots")


@task(name="evaluate-models", cache_policy=NO_CACHE)
def evaluate_models(
    base: BaseModelInfo,
    adapter_dir: str,
    datasets: dict[str, DatasetRef],
    evaluation: EvalConfig,
    registry: RegistryConfig,
    promotion: PromotionConfig,
    tracker: RunTracker,
) -> dict:
    """Score the base model, the fine-tuned candidate and (when comparable) the champion on the
    same held-out rows, units and problems; log metrics, intervals and plots; publish the
    comparison table."""
    tasks = datasets["tasks"]
    references = train_rows(tasks, "completion")[:STYLE_REFERENCE_ROWS]
    inputs = EvalInputs(
        rows=held_out_rows(tasks, "completion"),
        fim_rows=held_out_rows(tasks, "fim"),
        style_reference=findings_per_100_lines([r["prompt"] + r["completion"] for r in references]),
        units=datasets["units"],
        completion=datasets["completion"],
    )
    results: dict[str, EvalResult | None] = {
        "base": evaluate_system(base.path, None, inputs, evaluation),
        "candidate": evaluate_system(base.path, adapter_dir, inputs, evaluation),
    }
    champion_version = None
    with tempfile.TemporaryDirectory() as scratch:
        found = None
        if evaluation.compare_champion:
            found = champion_adapter(
                tracker.client, tracker.tracking_uri, registry.model_name, base.name, Path(scratch)
            )
        if found:
            champion_version, champion_dir = found
            results["champion"] = evaluate_system(base.path, champion_dir, inputs, evaluation)
    comparison = comparison_rows(results, promotion.bootstrap_resamples)
    base_result, tuned = results["base"], results["candidate"]
    champion = results.get("champion")
    tracker.log_metrics({f"base_{k}": v for k, v in base_result.metrics.items()})
    tracker.log_metrics(tuned.metrics)
    if champion is not None:
        tracker.log_metrics({f"champion_{k}": v for k, v in champion.metrics.items()})
    tracker.log_dict(tuned.predictions, "evaluation/predictions.json")
    tracker.log_dict(base_result.predictions, "evaluation/base_predictions.json")
    tracker.log_dict(comparison, "evaluation/comparison.json")
    tracker.log_dict(tuned.details, "evaluation/details.json")
    _log_plots(tracker, comparison)
    against = f" and champion v{champion_version}" if champion_version else ""
    create_table_artifact(
        key="evaluation",
        table=table_rows(comparison),
        description=f"Base vs candidate{against} on {len(inputs.rows)} test samples "
        "(95 % intervals)",
    )
    key = PER_SAMPLE_OF.get(evaluation.key_metric, evaluation.key_metric)
    scores = None
    if champion is not None and key in champion.per_sample and key in tuned.per_sample:
        scores = (champion.per_sample[key], tuned.per_sample[key])
    get_run_logger().info("evaluated base, candidate%s: %s", against, tuned.details)
    return {
        "base": base_result.metrics,
        "tuned": tuned.metrics,
        "champion": champion.metrics if champion is not None else None,
        "champion_version": champion_version,
        "comparison": comparison,
        "scores": scores,
    }


def _datasets(workspace: Workspace, fingerprint: str | None) -> dict[str, DatasetRef]:
    """The task datasets a version was trained next to (else the workspace's newest), and the
    units and completion datasets they were built from."""
    tasks = dataset_ref(workspace, "tasks", fingerprint or "")
    if not fingerprint or not tasks.exists():
        tasks = next((ref for ref in list_datasets(workspace) if ref.stage == "tasks"), None)
    if tasks is None:
        raise RepotuneError(
            "evaluate",
            f"no task datasets in the workspace {workspace.root}",
            "run `repotune run` here first (or point --workspace at the run's workspace)",
        )
    upstream = tasks.manifest["upstream"]
    return {
        "tasks": tasks,
        "units": dataset_ref(workspace, "units", upstream["units"]),
        "completion": dataset_ref(workspace, "completion", upstream["completion"]),
    }


@task(name="locate-registered-version", cache_policy=NO_CACHE)
def evaluate_registered(uri: str, config: PipelineConfig, version: str | None) -> dict:
    """Download ``version`` (default: the challenger, else the newest) and find its base model
    and held-out rows; open an MLflow run for its evaluation."""
    client, model = client_for(uri), config.registry.model_name
    if version is None:
        current = registered_aliases(client, model) or {}
        numbers = [int(v.version) for v in all_versions(client, model)]
        version = current.get(CHALLENGER) or (str(max(numbers)) if numbers else None)
    if version is None:
        raise RepotuneError(
            "evaluate", f"{model!r} has no registered version", "run `repotune run`"
        )
    found = usable_version(client, model, version)
    base_path = found.tags.get("base_model_path", "")
    if not base_path or not Path(base_path).exists():
        raise RepotuneError(
            "evaluate",
            f"the base model of version {version} ({base_path or 'unrecorded'}) is not on this "
            "machine",
            "run `repotune run` here to build it, or evaluate where it was trained",
        )
    workspace = Workspace.at(config.workspace)
    target = workspace.adapter_dir(f"registered-{model}-v{version}")
    adapter = download_artifacts(artifact_uri=found.source, dst_path=str(target), tracking_uri=uri)
    tracker = RunTracker.start(
        uri,
        config.registry.experiment,
        run_name=f"evaluate-v{version}",
        tags={"evaluated_version": version, "kind": "evaluation"},
    )
    return {
        "version": str(version),
        "base": BaseModelInfo(base_path, found.tags.get("base_model", ""), "", built=False),
        "adapter_dir": adapter,
        "datasets": _datasets(workspace, found.tags.get("tasks_fingerprint")),
        "tracker": tracker,
    }


@task(name="judge-readiness", cache_policy=NO_CACHE)
def finish_evaluation(config: PipelineConfig, target: dict, evaluation: dict) -> dict:
    """Run the readiness gate on the evaluated version (no alias moves) and record its verdict."""
    own = evaluation["champion_version"] == target["version"]
    verdict = assess(
        evaluation["tuned"],
        evaluation["base"],
        None if own else evaluation["champion"],
        config.promotion,
        config.evaluation.key_metric,
        None if own else evaluation["scores"],
    )
    tracker: RunTracker = target["tracker"]
    summary = verdict.summary()
    tracker.set_tags({"readiness": summary[:5000], "ready": str(verdict.ready).lower()})
    tracker.client.set_model_version_tag(
        config.registry.model_name, target["version"], "readiness", summary[:5000]
    )
    tracker.finish("FINISHED")
    create_markdown_artifact(
        key="readiness",
        markdown=f"# Version {target['version']}\n\n{summary}\n",
        description="Readiness gate on an evaluated registered version",
    )
    return {
        "version": target["version"],
        "ready": verdict.ready,
        "blockers": verdict.blockers,
        "evidence": verdict.evidence,
        "comparison": table_rows(evaluation["comparison"]),
    }
