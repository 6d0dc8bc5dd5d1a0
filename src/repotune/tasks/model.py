"""Prefect tasks of the model stages: base model, tracking, fine-tuning, evaluation, registration.

One MLflow run spans fine-tune → evaluate → register; tasks pass its :class:`RunTracker` (a URI
and a run id) instead of relying on MLflow's thread-local active run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from repotune import __version__
from repotune.config import BaseModelConfig, PipelineConfig, TrainConfig
from repotune.datasets.build import pretraining_corpus
from repotune.datasets.mixture import mixture_rows
from repotune.datasets.store import DatasetRef
from repotune.errors import GateFailed, RepotuneError
from repotune.modeling.base import BaseModelInfo, ensure_base_model
from repotune.registry.tracking import RunTracker, check_tracking_server, tracking_uri_for
from repotune.sources.git import Snapshot, source_tags
from repotune.training.guards import TrainingDidNotLearn
from repotune.training.ray_cluster import RayScaling
from repotune.training.ray_train import train_on_ray
from repotune.training.sft import TrainResult, train_lora
from repotune.workspace import Workspace

ADAPTER_ARTIFACT = "adapter"


@task(name="prepare-base-model", cache_policy=NO_CACHE)
def prepare_base_model(
    units: DatasetRef, completion: DatasetRef, base_model: BaseModelConfig, workspace: str
) -> BaseModelInfo:
    """Use the configured base model, or build (once per corpus) the offline one."""
    corpus = [] if base_model.name_or_path else pretraining_corpus(units, completion, base_model)
    info = ensure_base_model(corpus, base_model, Workspace.at(workspace))
    state = "built" if info.built else "reused"
    get_run_logger().info("base model: %s %s (%s)", state, info.name, info.path)
    return info


def _resolve_tracking_uri(config: PipelineConfig, workspace: Workspace) -> str:
    block_uri = None
    if config.registry.block:
        from repotune.blocks import MLflowRegistry

        block = MLflowRegistry.load(config.registry.block)
        block_uri = block.tracking_uri
        if block.token is not None:
            os.environ["MLFLOW_TRACKING_TOKEN"] = block.token.get_secret_value()
    return tracking_uri_for(config.registry, workspace, block_uri)


@task(name="resolve-tracking-uri", cache_policy=NO_CACHE)
def resolve_tracking_uri(config: PipelineConfig) -> str:
    """The tracking server (block, config or the workspace's SQLite file), checked to answer."""
    uri = _resolve_tracking_uri(config, Workspace.at(config.workspace))
    check_tracking_server(uri)
    return uri


@task(name="start-tracking", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def start_tracking(
    config: PipelineConfig,
    snapshots: list[Snapshot],
    completion: DatasetRef,
    changes: DatasetRef,
    tasks: DatasetRef,
    base: BaseModelInfo,
    gates: dict[str, dict],
) -> RunTracker:
    """Open the MLflow run and record lineage: config, dataset manifest, commit, base model."""
    workspace = Workspace.at(config.workspace)
    uri = _resolve_tracking_uri(config, workspace)
    check_tracking_server(uri)
    tracker = RunTracker.start(
        uri,
        config.registry.experiment,
        run_name=f"build-{snapshots[0].commit[:8]}",
        tags={
            **source_tags(snapshots),
            "dataset_fingerprint": completion.fingerprint,
            "changes_fingerprint": changes.fingerprint,
            "tasks_fingerprint": tasks.fingerprint,
            "base_model": base.name,
            "config_hash": config.training_hash(),
            "gate_passed": str(all(g["passed"] for g in gates.values())).lower(),
            "gate_accepted_failure": str(any(g["failed"] for g in gates.values())).lower(),
            "repotune_version": __version__,
        },
    )
    tracker.log_params(config.model_dump(exclude={"workspace"}))
    tracker.log_dict(config.model_dump(), "config.json")
    tracker.log_dict(completion.manifest, "dataset/manifest.json")
    tracker.log_dict(changes.manifest, "dataset/changes_manifest.json")
    tracker.log_dict(tasks.manifest, "dataset/tasks_manifest.json")
    for name, verdict in gates.items():
        tracker.log_artifacts(verdict["docs"], f"gates/{name}")
    tracker.log_dict(base.stats, "base_model/stats.json")
    return tracker


def training_key(base: BaseModelInfo, tasks: DatasetRef, train: TrainConfig) -> str:
    """Names one training run across crashes: same base, data and settings resume its
    checkpoints; anything else starts afresh."""
    settings = json.dumps(train.model_dump(), sort_keys=True)
    text = f"{base.name}\0{base.fingerprint}\0{tasks.fingerprint}\0{settings}"
    return "train-" + hashlib.sha256(text.encode()).hexdigest()[:16]


@task(name="fine-tune", cache_policy=NO_CACHE)
def fine_tune(
    base: BaseModelInfo,
    tasks: DatasetRef,
    train: TrainConfig,
    tracker: RunTracker,
    workspace: str,
) -> TrainResult:
    """LoRA-tune the base model on the training mixture of all tasks (on Ray Train unless
    `train.backend` is `direct`), streaming loss, learning rate, tokens/s and system metrics to
    MLflow. A run that crashed resumes from its last checkpoint."""
    rows = mixture_rows(tasks)
    ws = Workspace.at(workspace)
    out_dir = ws.adapter_dir(tracker.run_id)
    key = training_key(base, tasks, train)

    def on_log(step: int, logs: dict) -> None:
        numeric = {k: float(v) for k, v in logs.items() if isinstance(v, int | float)}
        tracker.log_metrics({f"train/{k}": v for k, v in numeric.items()}, step=step)

    common = {
        "on_log": on_log,
        "cache_dir": ws.root / "cache" / "tokenized",
        "dataset_fingerprint": tasks.fingerprint,
    }
    monitor = SystemMetricsMonitor(
        tracker.run_id, sampling_interval=5, tracking_uri=tracker.tracking_uri
    )
    monitor.start()
    try:
        if train.backend == "ray":
            scaling = RayScaling(
                train.workers, train.use_gpu, train.cpus_per_worker, train.ray_address
            )
            result = train_on_ray(
                base.path,
                rows,
                train,
                out_dir,
                scaling=scaling,
                checkpoint_dir=ws.root / "checkpoints",
                run_name=key,
                **common,
            )
        else:
            checkpoints = ws.root / "checkpoints" / key
            result = train_lora(
                base.path, rows, train, out_dir, checkpoint_dir=checkpoints, resume=True, **common
            )
    finally:
        monitor.finish()
    tracker.log_params({f"resolved.{k}": v for k, v in result.hparams.items()})
    tracker.log_metrics(result.metrics)
    tracker.log_artifacts(result.adapter_dir, ADAPTER_ARTIFACT)
    tracker.set_tags({"training_key": key, "best_checkpoint": result.best_checkpoint or ""})
    get_run_logger().info(
        "fine-tune (%s): %.0f steps, train loss %.4f, resolved %s",
        train.backend,
        result.metrics["steps"],
        result.metrics["train_loss"],
        result.hparams,
    )
    return result


@task(name="record-gate-failure", cache_policy=NO_CACHE)
def record_gate_failure(
    config: PipelineConfig, snapshots: list[Snapshot], failure: GateFailed
) -> str:
    """Keep a failed gate visible in the MLflow UI: a FAILED run with the GX Data Docs (HTML,
    failing rows included) and the report, though no model is trained. Returns the run id."""
    workspace = Workspace.at(config.workspace)
    uri = _resolve_tracking_uri(config, workspace)
    check_tracking_server(uri)
    tracker = RunTracker.start(
        uri,
        config.registry.experiment,
        run_name=f"gate-failed-{snapshots[0].commit[:8]}",
        tags={**source_tags(snapshots), "gate_passed": "false", "repotune_version": __version__},
    )
    if failure.docs_dir:
        tracker.log_artifacts(failure.docs_dir, "gates/data-docs")
    if failure.report_path:
        report = Path(failure.report_path).read_text(encoding="utf-8")
        tracker.log_text(report, f"gates/{Path(failure.report_path).name}")
    tracker.set_tags({"gate_failure": str(failure)[:5000]})
    tracker.finish("FAILED")
    return tracker.run_id


@task(name="fail-tracking", cache_policy=NO_CACHE)
def fail_tracking(tracker: RunTracker, error: BaseException) -> None:
    """Mark the MLflow run failed, with why, so the UI neither shows it running forever nor
    leaves the user to dig the reason out of logs. A training guard's numbers (eval loss before
    and at the best checkpoint, adapter movement) go in as ``guard/*`` metrics."""
    text = str(error)
    if isinstance(error, RepotuneError):
        reason = text
    else:  # e.g. "SystemExit: 15" for a run stopped by SIGTERM
        reason = f"{type(error).__name__}: {text}" if text else type(error).__name__
    tracker.set_tags({"failure": reason[:5000], "failure_type": type(error).__name__})
    if isinstance(error, TrainingDidNotLearn):
        tracker.log_metrics({f"guard/{k}": v for k, v in error.metrics.items()})
    tracker.finish("FAILED")
