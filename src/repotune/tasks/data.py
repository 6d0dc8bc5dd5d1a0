"""Prefect tasks of the data stages: thin wrappers over :mod:`repotune.datasets.build`.

Extraction and dataset building are cached by content address (commit + config + code version), so
an unchanged repository re-runs in seconds and Prefect shows those task runs as ``Cached``.
"""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from repotune.config import DatasetConfig, GateConfig, SourceConfig
from repotune.datasets import build
from repotune.datasets.store import DatasetRef
from repotune.errors import GateFailed
from repotune.quality.gate import run_completion_gate
from repotune.sources.git import Snapshot, resolve_snapshot
from repotune.workspace import Workspace


@task(name="resolve-source", cache_policy=NO_CACHE)
def resolve_source(source: SourceConfig) -> Snapshot:
    """Pin the configured repository and ref to a commit SHA."""
    return resolve_snapshot(source.repo, source.ref)


def _units_key(_context, params) -> str:
    return "units-" + build.units_fingerprint(params["snapshot"], params["source"])


def _completion_key(_context, params) -> str:
    return "completion-" + build.completion_fingerprint(params["units"], params["dataset"])


@task(name="extract-code-units", cache_key_fn=_units_key, persist_result=True)
def extract_code_units(snapshot: Snapshot, source: SourceConfig, workspace: str) -> DatasetRef:
    """Extract functions and methods from the tracked files at the snapshot's commit."""
    return build.build_units_dataset(snapshot, source, Workspace.at(workspace))


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
        raise GateFailed(result.summary(), str(result.report_path))
    return {"passed": result.passed, "failed": failed, "report": str(result.report_path)}
