"""Prefect tasks of the data stages: thin wrappers over :mod:`repotune.datasets.build`.

Extraction is content-addressed (commits + config + code version): an unchanged repository finds
its units already stored, and a changed one re-parses only the files whose blobs are new. The
completion dataset is cached by Prefect on the same kind of key, so those runs show as ``Cached``.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from repotune.blocks.git_credentials import load_git_auth
from repotune.blocks.llm_endpoint import load_teachers
from repotune.config import (
    AnnotateConfig,
    AugmentConfig,
    DatasetConfig,
    DedupConfig,
    GateConfig,
    HistoryConfig,
    SourceConfig,
    TasksConfig,
)
from repotune.datasets import build, task_datasets, units
from repotune.datasets.changes import build_changes_dataset, changes_summary_markdown
from repotune.datasets.store import DatasetRef, dataset_ref
from repotune.datasets.task_llm import llm_settings
from repotune.errors import GateFailed
from repotune.parsing.blob_cache import BlobResult
from repotune.parsing.extract import BlobJob, process_jobs
from repotune.quality.drift import dataset_drift
from repotune.quality.gate import run_completion_gate
from repotune.quality.task_gate import run_task_gates
from repotune.sources.git import Snapshot
from repotune.sources.remote import resolve_repo
from repotune.workspace import Workspace

T = TypeVar("T")


@task(name="resolve-sources", cache_policy=NO_CACHE)
def resolve_sources(source: SourceConfig, workspace: str) -> list[Snapshot]:
    """Pin every configured repository to a commit, cloning or fetching URL sources first."""
    clones = Workspace.at(workspace).clones_dir
    snapshots = []
    for spec in source.repos:
        auth = load_git_auth(spec.credentials) if spec.credentials else None
        snapshot = resolve_repo(spec, clones, auth)
        get_run_logger().info("source %s @ %s", snapshot.origin, snapshot.commit[:12])
        snapshots.append(snapshot)
    return snapshots


@task(name="find-extracted-units", cache_policy=NO_CACHE)
def find_extracted_units(
    snapshots: list[Snapshot], source: SourceConfig, workspace: str
) -> DatasetRef | None:
    """The units dataset of exactly these commits and settings, if an earlier run stored it."""
    ref = dataset_ref(
        Workspace.at(workspace), units.UNITS_STAGE, units.units_fingerprint(snapshots, source)
    )
    return ref if ref.exists() else None


@task(name="plan-extraction", cache_policy=NO_CACHE)
def plan_extraction(
    snapshots: list[Snapshot], source: SourceConfig, workspace: str, batch_bytes: int
) -> Sealed[tuple[units.UnitsPlan, list[list[BlobJob]]]]:
    """Select files, look them up in the blob cache, and batch the ones left to parse."""
    plan = units.plan_units(snapshots, source, Workspace.at(workspace))
    batches = [batch for repo_plan in plan.plans for batch in repo_plan.jobs(batch_bytes)]
    get_run_logger().info(
        "extraction: %d files carried from dataset %s, %d from the blob cache, "
        "%d to parse in %d batches",
        plan.files_carried,
        plan.previous.fingerprint if plan.previous else "(none)",
        sum(repo_plan.files_cached for repo_plan in plan.plans),
        sum(len(batch) for batch in batches),
        len(batches),
    )
    return Sealed((plan, batches))


class Sealed(Generic[T]):
    """A task input Prefect passes along without looking inside.

    Prefect walks lists, dicts and dataclasses given to a task element by element (looking for
    futures); on the 30 MB of a large repository that walk cost more than parsing it. A plain
    object is a leaf to it, on every task runner (``quote`` is not unwrapped by Ray's).
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


@task(name="parse-files", cache_policy=NO_CACHE)
def parse_files(batch: Sealed[list[BlobJob]]) -> dict[tuple[str, str], BlobResult]:
    """Scrub and parse one batch of files (runs on the extraction flow's task runner)."""
    return process_jobs(batch.value)


@task(name="write-units", cache_policy=NO_CACHE)
def write_units(
    plan: Sealed[units.UnitsPlan],
    fresh: Sealed[dict[tuple[str, str], BlobResult]],
    source: SourceConfig,
    workspace: str,
) -> DatasetRef:
    """Cache the parsed files, link units to their tests and store the units dataset."""
    return units.write_units_dataset(plan.value, fresh.value, source, Workspace.at(workspace))


@task(name="mine-change-pairs", cache_policy=NO_CACHE)
def mine_change_pairs(
    snapshots: list[Snapshot], source: SourceConfig, history: HistoryConfig, workspace: str
) -> DatasetRef:
    """Mine first-parent history into classified before/after pairs; publish their summary."""
    ref = build_changes_dataset(snapshots, source, history, Workspace.at(workspace))
    manifest = ref.manifest
    logger = get_run_logger()
    logger.info(
        "history: %d change pairs from %d commits (%d from the history store) %s",
        manifest["pairs"],
        manifest["commits_walked"],
        manifest["commits_from_store"],
        manifest["pairs_by_kind"],
    )
    for repo in manifest["history_limited_by_shallow_clone"]:
        logger.warning("history of %s is limited: it is a shallow clone", repo)
    create_markdown_artifact(
        key="change-pairs",
        markdown=changes_summary_markdown(ref),
        description="Before/after pairs mined from git history, by kind, and drop counts",
    )
    return ref


def _completion_key(_context, params) -> str:
    return "completion-" + build.completion_fingerprint(params["units"], params["dataset"])


@task(name="build-completion-dataset", cache_key_fn=_completion_key, persist_result=True)
def build_completion_dataset(
    units: DatasetRef, dataset: DatasetConfig, workspace: str
) -> DatasetRef:
    """Build the file-split completion dataset and publish its summary."""
    ref = build.build_completion_dataset(units, dataset, Workspace.at(workspace))
    create_markdown_artifact(
        key="completion-dataset",
        markdown=build.dataset_summary_markdown(ref),
        description="Samples per split and drop counts of the completion dataset",
    )
    return ref


def _tasks_key(_context, params) -> str:
    annotate = params["annotate"]
    return "tasks-" + task_datasets.tasks_fingerprint(
        params["units"],
        params["changes"],
        params["completion"],
        params["tasks"],
        params["dedup"],
        params["augment"],
        llm_settings(annotate, load_teachers(annotate.teachers)),
    )


@task(name="build-task-datasets", cache_key_fn=_tasks_key, persist_result=True)
def build_task_datasets(
    units: DatasetRef,
    changes: DatasetRef,
    completion: DatasetRef,
    tasks: TasksConfig,
    dataset: DatasetConfig,
    dedup: DedupConfig,
    augment: AugmentConfig,
    annotate: AnnotateConfig,
    workspace: str,
) -> DatasetRef:
    """Build every training task (FIM, naming, docstring, instruction, repair, refactor) and
    the training mixture, with the LLM teachers' labels when `annotate.teachers` names any;
    publish the per-task summary."""
    ref = task_datasets.build_task_datasets(
        units,
        changes,
        completion,
        tasks,
        dataset,
        dedup,
        augment,
        Workspace.at(workspace),
        annotate,
        load_teachers(annotate.teachers),
    )
    create_markdown_artifact(
        key="task-datasets",
        markdown=task_datasets.tasks_summary_markdown(ref),
        description="Samples per task and split, the training mixture, and drop counts",
    )
    return ref


@task(name="validate-dataset", cache_policy=NO_CACHE)
def validate_dataset(
    completion: DatasetRef, gate: GateConfig, dataset: DatasetConfig, workspace: str
) -> dict:
    """Run the Great Expectations gate; stop the run on failure unless told to accept it."""
    result = run_completion_gate(
        completion.read_pandas("samples"), gate, dataset, Workspace.at(workspace).reports_dir
    )
    create_markdown_artifact(
        key="dataset-gate",
        markdown=result.report_markdown,
        description="Great Expectations gate on the completion dataset",
    )
    failed = [outcome.name for outcome in result.failed]
    if failed and not gate.accept_failure:
        raise GateFailed(result.summary(), str(result.report_path), str(result.docs_dir))
    return {
        "passed": result.passed,
        "failed": failed,
        "report": str(result.report_path),
        "docs": str(result.docs_dir),
    }


@task(name="validate-task-datasets", cache_policy=NO_CACHE)
def validate_task_datasets(
    tasks: DatasetRef, gate: GateConfig, dataset: DatasetConfig, workspace: str
) -> dict:
    """One Great Expectations suite per task, plus dedup and drift from the previous version;
    stop the run on failure unless told to accept it."""
    ws = Workspace.at(workspace)
    samples = tasks.read_pandas("samples")
    previous = task_datasets.previous_version(ws, tasks)
    drift = dataset_drift(previous.read_pandas("samples"), samples) if previous else None
    result = run_task_gates(
        samples,
        gate,
        dataset,
        ws.reports_dir,
        tasks.fingerprint,
        tasks.manifest["dedup"]["near_duplicate_ratio"],
        drift,
        tasks.manifest["categories"],
    )
    create_markdown_artifact(
        key="task-gates",
        markdown=result.report_markdown,
        description="Great Expectations gates, one suite per task dataset",
    )
    if result.failed and not gate.accept_failure:
        summary = f"{len(result.failed)} task expectations failed: " + "; ".join(result.failed)
        raise GateFailed(summary, str(result.report_path), str(result.docs_dir))
    return {
        "passed": result.passed,
        "failed": result.failed,
        "report": str(result.report_path),
        "docs": str(result.docs_dir),
        "drift": drift or {},
        "compared_to": previous.fingerprint if previous else None,
    }
