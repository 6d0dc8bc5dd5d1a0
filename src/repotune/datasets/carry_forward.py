"""Incremental units: carry unchanged files over from the previous dataset, re-link only around
what changed.

A unit's row depends on its file's bytes and path alone, except ``commit`` (rewritten) and
``related_tests``. A link (test t → unit u) needs t to call u's name, so a link can only appear or
vanish where t or u sits in a changed file. The links to recompute therefore involve:

- the units of changed files, as tests or as targets;
- carried units a changed test calls by name (the call-name index says which);
- carried units whose code calls the name of a changed unit (one RE2 scan of the code column).

Linking that subset with :func:`link_related_tests` and merging it into the carried labels, minus
the labels of tests in changed or removed files, gives exactly the links of a full rebuild (a test
checks that on random edits) for a fraction of the cost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from repotune.datasets.store import DatasetRef, list_datasets
from repotune.parsing.extract import Extraction, ExtractionPlan
from repotune.parsing.related_tests import call_name, calls, is_test, link_related_tests
from repotune.records import CodeUnit, units_table
from repotune.workspace import Workspace


def previous_units(
    workspace: Workspace, stage: str, settings_key: str, origins: Sequence[str]
) -> DatasetRef | None:
    """The newest units dataset built with the same settings from any of the same repositories."""
    for ref in list_datasets(workspace):
        if ref.stage != stage:
            continue
        manifest = ref.manifest
        same_repo = {s["repo"] for s in manifest.get("sources", [])} & set(origins)
        if manifest.get("settings_key") == settings_key and same_repo:
            return ref
    return None


def carried_files(previous: DatasetRef) -> dict[str, dict[str, str]]:
    """``{repo: {path: blob}}`` of every file the previous dataset holds (parsed or skipped)."""
    reuse: dict[str, dict[str, str]] = {}
    for table in ("files", "skipped"):
        rows = pq.read_table(previous.table_path(table), columns=["repo", "path", "blob"])
        for repo, path, blob in zip(
            *(rows[c].to_pylist() for c in ("repo", "path", "blob")), strict=True
        ):
            reuse.setdefault(repo, {})[path] = blob
    return reuse


def _keys(table: pa.Table) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(table["repo"], table["path"], "\0")


def _kept(table: pa.Table, keep: pa.Array) -> pa.Table:
    return table.filter(pc.is_in(_keys(table), value_set=keep))


def carry_forward(
    previous: DatasetRef,
    plans: list[ExtractionPlan],
    extractions: list[Extraction],
    files_schema: pa.Schema,
    skipped_schema: pa.Schema,
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The units, files and skipped tables: carried rows of unchanged files plus the fresh ones."""
    keep = pa.array(
        [f"{plan.snapshot.origin}\0{item.path}" for plan in plans for item in plan.carried],
        pa.string(),
    )
    prev_units = pq.read_table(previous.table_path("units"))
    prev_files = pq.read_table(previous.table_path("files"))
    old_paths = _paths_by_repo(prev_units, prev_files)
    units = _kept(prev_units, keep)
    origins = [plan.snapshot.origin for plan in plans]
    commits = pa.array([plan.snapshot.commit for plan in plans], pa.string())
    units = units.set_column(
        units.schema.get_field_index("commit"),
        "commit",
        commits.take(pc.index_in(units["repo"], value_set=pa.array(origins, pa.string()))),
    )
    labels = units["related_tests"].to_pylist()
    fresh: list[CodeUnit] = []
    for plan, extraction in zip(plans, extractions, strict=True):
        origin = plan.snapshot.origin
        carried = {item.path for item in plan.carried}
        changed = (old_paths.get(origin, set()) - carried) | {item.path for item in plan.wanted}
        _strip(units, labels, origin, changed)
        fresh.extend(_relink(units, labels, origin, extraction.units))
    units = units.set_column(
        units.schema.get_field_index("related_tests"),
        "related_tests",
        pa.array(labels, pa.list_(pa.string())),
    )
    all_units = pa.concat_tables([units, units_table(fresh)])
    files = pa.concat_tables(
        [
            _kept(prev_files, keep),
            pa.Table.from_pylist([row for ex in extractions for row in ex.files], files_schema),
        ]
    )
    skipped = pa.concat_tables(
        [
            _kept(pq.read_table(previous.table_path("skipped")), keep),
            pa.Table.from_pylist([row for ex in extractions for row in ex.skipped], skipped_schema),
        ]
    )
    return all_units, files, skipped


def _paths_by_repo(units: pa.Table, files: pa.Table) -> dict[str, set[str]]:
    paths: dict[str, set[str]] = {}
    for table in (units, files):
        for repo, path in zip(table["repo"].to_pylist(), table["path"].to_pylist(), strict=True):
            paths.setdefault(repo, set()).add(path)
    return paths


def _strip(units: pa.Table, labels: list[list[str]], origin: str, changed: set[str]) -> None:
    """Drop the labels of tests that sit in changed or removed files of ``origin``."""
    if not changed:
        return
    for index, repo in enumerate(units["repo"].to_pylist()):
        if repo == origin and labels[index]:
            labels[index] = [t for t in labels[index] if t.partition("::")[0] not in changed]


def _relink(
    units: pa.Table, labels: list[list[str]], origin: str, fresh: list[CodeUnit]
) -> list[CodeUnit]:
    """Link the fresh units of ``origin`` with the carried units they may touch; merge the new
    labels of carried units into ``labels`` and return the fresh units, linked."""
    called: set[str] = set()
    for unit in fresh:
        if is_test(unit):
            bare, dotted = calls(unit.code)
            called |= bare | dotted
    in_repo = pc.equal(units["repo"], origin)
    callees = [
        index
        for index, (repo, qualname, kind) in enumerate(
            zip(*(units[c].to_pylist() for c in ("repo", "qualname", "kind")), strict=True)
        )
        if repo == origin and call_name(qualname, kind)[0] in called
    ]
    names = sorted({call_name(u.qualname, u.kind)[0] for u in fresh if not is_test(u)})
    callers: list[int] = []
    if names:
        pattern = "(?:" + "|".join(re.escape(name) for name in names) + r")\s*\("
        hits = pc.and_(in_repo, pc.match_substring_regex(units["code"], pattern))
        # ``pc.indices_nonzero`` segfaulted here (pyarrow 25.0.1, chunked input): index in Python.
        callers = [index for index, hit in enumerate(hits.to_pylist()) if hit]
    subset = sorted(set(callees) | set(callers))
    carried = [
        CodeUnit.from_dict(row) for row in units.take(pa.array(subset, pa.int64())).to_pylist()
    ]
    linked = link_related_tests([*fresh, *carried])
    for index, unit in zip(subset, linked[len(fresh) :], strict=True):
        labels[index] = sorted(set(labels[index]) | set(unit.related_tests))
    return linked[: len(fresh)]
