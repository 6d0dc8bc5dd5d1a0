"""The units dataset: every code unit of the configured repositories at their commits.

Content-addressed by the commits and the settings, so an unchanged source is found without any
work. A changed one is built incrementally: files whose blob is the same as in the newest earlier
units dataset with the same settings are carried over from it as Arrow columns (never parsed, read
from git or even unpickled from the blob cache), and only the changed files are parsed and
re-linked to their tests (:mod:`repotune.datasets.carry_forward`). Both ways give the same rows.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from repotune import __version__
from repotune.config import SourceConfig
from repotune.datasets.carry_forward import carried_files, carry_forward, previous_units
from repotune.datasets.store import DatasetRef, dataset_ref, fingerprint, write_dataset
from repotune.parsing.blob_cache import BlobCache, BlobResult
from repotune.parsing.extract import (
    EXTRACTOR_VERSIONS,
    ExtractionPlan,
    MapBatches,
    assemble,
    gc_paused,
    in_process,
    plan_extraction,
    require_units,
)
from repotune.parsing.related_tests import link_related_tests
from repotune.privacy import SCRUBBER_VERSION
from repotune.records import units_table
from repotune.sources.git import Snapshot
from repotune.workspace import Workspace

UNITS_STAGE = "units"
UNITS_FORMAT = "units-3"
"""Tables and manifest layout; part of every units fingerprint, so an older layout is never read."""
FILES_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("repo", "path", "blob", "text", "drops", "findings")]
)
SKIPPED_SCHEMA = pa.schema([(name, pa.string()) for name in ("repo", "path", "blob", "reason")])


def units_settings_key(source: SourceConfig) -> str:
    """What, besides the commits, decides the units: a previous dataset is reusable only if its
    key is the same (same filters, extractor, scrubber and linker code)."""
    settings = source.model_dump(exclude={"repos"})
    versions = (EXTRACTOR_VERSIONS, SCRUBBER_VERSION, UNITS_FORMAT, __version__)
    return fingerprint("units-settings", settings, *versions)


def units_fingerprint(snapshots: list[Snapshot], source: SourceConfig) -> str:
    commits = [(snapshot.origin, snapshot.commit) for snapshot in snapshots]
    return fingerprint(UNITS_STAGE, commits, units_settings_key(source))


def source_manifest(snapshots: list[Snapshot]) -> list[dict[str, str]]:
    return [
        {"repo": s.origin, "name": s.name, "ref": s.ref, "commit": s.commit, "git_dir": s.repo}
        for s in snapshots
    ]


@dataclass
class UnitsPlan:
    """Per repository: what to parse; plus the earlier dataset that the rest is carried from."""

    plans: list[ExtractionPlan]
    previous: DatasetRef | None

    @property
    def files_carried(self) -> int:
        return sum(len(plan.carried) for plan in self.plans)


def plan_units(snapshots: list[Snapshot], source: SourceConfig, workspace: Workspace) -> UnitsPlan:
    """Select every repository's files; find those held by an earlier dataset or the blob cache."""
    key = units_settings_key(source)
    previous = previous_units(workspace, UNITS_STAGE, key, [s.origin for s in snapshots])
    reuse = carried_files(previous) if previous else {}
    cache = BlobCache(workspace.extraction_cache)
    with gc_paused():
        plans = [
            plan_extraction(snapshot, source, cache, reuse.get(snapshot.origin))
            for snapshot in snapshots
        ]
    return UnitsPlan(plans, previous)


def write_units_dataset(
    plan: UnitsPlan,
    fresh: dict[tuple[str, str], BlobResult],
    source: SourceConfig,
    workspace: Workspace,
) -> DatasetRef:
    """Cache the freshly parsed files, attach every result to its file, store the units."""
    with gc_paused():
        return _write_units_dataset(plan, fresh, source, workspace)


def _write_units_dataset(
    plan: UnitsPlan,
    fresh: dict[tuple[str, str], BlobResult],
    source: SourceConfig,
    workspace: Workspace,
) -> DatasetRef:
    if fresh:
        BlobCache(workspace.extraction_cache).put_many(fresh)
    extractions = [assemble(repo_plan, fresh) for repo_plan in plan.plans]
    if plan.previous is None:
        for extraction in extractions:
            extraction.units = link_related_tests(extraction.units)
        units = units_table([unit for ex in extractions for unit in ex.units])
        files = pa.Table.from_pylist([row for ex in extractions for row in ex.files], FILES_SCHEMA)
        skipped = pa.Table.from_pylist(
            [row for ex in extractions for row in ex.skipped], SKIPPED_SCHEMA
        )
    else:
        units, files, skipped = carry_forward(
            plan.previous, plan.plans, extractions, FILES_SCHEMA, SKIPPED_SCHEMA
        )
    snapshots = [repo_plan.snapshot for repo_plan in plan.plans]
    drops = _drops(plan.plans, files, skipped)
    for repo_plan in plan.plans:
        origin = repo_plan.snapshot.origin
        found = pc.sum(pc.equal(units["repo"], origin)).as_py() or 0
        selected = len(repo_plan.wanted) + len(repo_plan.carried)
        require_units(found, f"{origin}@{repo_plan.snapshot.ref}", selected, drops)
    manifest = {
        "sources": source_manifest(snapshots),
        "settings_key": units_settings_key(source),
        "extractor_versions": EXTRACTOR_VERSIONS,
        "scrubber_version": SCRUBBER_VERSION,
        "carried_from": plan.previous.fingerprint if plan.previous else None,
        "files_seen": sum(repo_plan.files_seen for repo_plan in plan.plans),
        "files_parsed": files.num_rows,
        "files_from_cache": sum(p.files_cached for p in plan.plans) + plan.files_carried,
        "units": units.num_rows,
        "units_by_kind": _counts(units["kind"]),
        "units_by_language": _counts(units["language"]),
        "units_with_tests": pc.sum(
            pc.greater(pc.list_value_length(units["related_tests"]), 0)
        ).as_py()
        or 0,
        "drops": dict(sorted(drops.items())),
        "secrets_scrubbed": dict(sorted(_json_counts(files["findings"]).items())),
    }
    tables = {"units": units, "files": files, "skipped": skipped}
    fp = units_fingerprint(snapshots, source)
    return write_dataset(workspace, UNITS_STAGE, fp, tables, manifest)


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    return {row["values"]: row["counts"] for row in pc.value_counts(column).to_pylist()}


def _json_counts(column: pa.ChunkedArray) -> Counter[str]:
    total: Counter[str] = Counter()
    for text in column.to_pylist():
        total.update(json.loads(text))
    return total


def _drops(plans: list[ExtractionPlan], files: pa.Table, skipped: pa.Table) -> Counter[str]:
    """Path drops (recounted every run), content drops and in-file unit drops (carried)."""
    drops: Counter[str] = Counter()
    for repo_plan in plans:
        drops.update(repo_plan.drops)
    drops.update(f"file_{reason}" for reason in skipped["reason"].to_pylist())
    drops.update(_json_counts(files["drops"]))
    return drops


def build_units_dataset(
    snapshots: list[Snapshot],
    source: SourceConfig,
    workspace: Workspace,
    map_batches: MapBatches | None = None,
    batch_bytes: int = 4_000_000,
) -> DatasetRef:
    """Extract the snapshots' code units (or find them already extracted) and store them."""
    existing = dataset_ref(workspace, UNITS_STAGE, units_fingerprint(snapshots, source))
    if existing.exists():
        return existing
    plan = plan_units(snapshots, source, workspace)
    fresh: dict[tuple[str, str], BlobResult] = {}
    for repo_plan in plan.plans:
        for results in (map_batches or in_process)(repo_plan.jobs(batch_bytes)):
            fresh.update(results)
    return write_units_dataset(plan, fresh, source, workspace)
