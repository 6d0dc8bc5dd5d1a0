"""The main pipeline: a git repository in, an evaluated and registered code model out."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.states import State

from repotune.config import PipelineConfig
from repotune.datasets.store import DatasetRef
from repotune.errors import GateFailed
from repotune.flows.extraction import extract_code_units
from repotune.tasks.data import (
    build_completion_dataset,
    build_task_datasets,
    mine_change_pairs,
    resolve_sources,
    validate_dataset,
    validate_task_datasets,
)
from repotune.tasks.evaluation import evaluate_models
from repotune.tasks.model import (
    fail_tracking,
    fine_tune,
    prepare_base_model,
    record_gate_failure,
    start_tracking,
)
from repotune.tasks.release import register_model
from repotune.ui import ui_instructions
from repotune.workspace import Workspace


def _cached_dataset(
    stage_task, label: str, use_cache: bool, **params: Any
) -> tuple[DatasetRef, bool]:
    """Run a content-addressed dataset task; say whether Prefect served it from cache.

    A cache hit whose directory has since been deleted is recomputed rather than trusted.
    """
    state: State = stage_task.with_options(refresh_cache=not use_cache)(**params, return_state=True)
    ref: DatasetRef = state.result()
    if state.name == "Cached" and ref.exists():
        get_run_logger().info(
            "%s: reused cached result (Prefect cache) %s at %s", label, ref.fingerprint, ref.path
        )
        return ref, True
    if state.name == "Cached":
        ref = stage_task.with_options(refresh_cache=True)(**params)
    get_run_logger().info("%s: computed %s at %s", label, ref.fingerprint, ref.path)
    return ref, False


@flow(name="build-model")
def build_model(config: PipelineConfig = PipelineConfig()) -> dict[str, Any]:  # noqa: B008
    """Sources → extract (+ history pairs) → dataset → gate → base model → LoRA → evaluate →
    register.

    Returns a summary (samples per split, gate, base vs tuned metrics, registered version).
    """
    workspace = str(Workspace.at(config.workspace).root)
    snapshots = resolve_sources(config.source, workspace)
    units, units_cached = extract_code_units(
        snapshots, config.source, config.parallel, workspace, config.cache
    )
    changes = mine_change_pairs(snapshots, config.source, config.history, workspace)
    completion, completion_cached = _cached_dataset(
        build_completion_dataset,
        "dataset",
        config.cache,
        units=units,
        dataset=config.dataset,
        workspace=workspace,
    )
    tasks = build_task_datasets(
        units,
        changes,
        completion,
        config.tasks,
        config.dataset,
        config.dedup,
        config.augment,
        config.annotate,
        workspace,
    )
    try:
        gate = validate_dataset(completion, config.gate, config.dataset, workspace)
        task_gates = validate_task_datasets(tasks, config.gate, config.dataset, workspace)
    except GateFailed as failure:
        record_gate_failure(config, snapshots, failure)
        raise
    base = prepare_base_model(units, completion, config.base_model, workspace)
    gates = {"completion": gate, "tasks": task_gates}
    tracker = start_tracking(config, snapshots, completion, changes, tasks, base, gates)
    try:
        trained = fine_tune(base, tasks, config.train, tracker, workspace)
        datasets = {"units": units, "changes": changes, "completion": completion, "tasks": tasks}
        evaluation = evaluate_models(
            base,
            trained.adapter_dir,
            datasets,
            config.evaluation,
            config.registry,
            config.promotion,
            tracker,
        )
        release = register_model(config, tracker, snapshots, datasets, base, evaluation, gates)
    except BaseException as error:
        fail_tracking(tracker, error)
        raise
    summary = {
        "commit": snapshots[0].commit,
        "sources": {snapshot.origin: snapshot.commit for snapshot in snapshots},
        "dataset": completion.fingerprint,
        "samples": completion.manifest["rows"],
        "change_pairs": changes.manifest["pairs_by_kind"],
        "tasks": tasks.manifest["mixture"],
        "cached": {"extraction": units_cached, "dataset": completion_cached},
        "gate": gate,
        "task_gates": task_gates,
        "base_model": base.name,
        "metrics": {"base": evaluation["base"], "tuned": evaluation["tuned"]},
        "champion_metrics": evaluation["champion"],
        "key_metric": config.evaluation.key_metric,
        "train": trained.metrics,
        "release": release,
        "tracking_uri": tracker.tracking_uri,
        "mlflow_run_id": tracker.run_id,
        "ui": ui_instructions(Workspace.at(workspace), tracker.tracking_uri),
    }
    return summary
