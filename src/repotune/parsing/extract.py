"""Extract code units from every selected file of a repository snapshot, counting what is dropped.

Every tracked file that yields nothing says why (``file_<reason>``: see ``repotune.sources.filters``
plus ``too_large``, ``non_utf8``, ``syntax_error``, ``symlink``, ``submodule``), so the manifest
tells a user exactly what was thrown away — and a broken file never stops a run.
"""

from __future__ import annotations

import contextlib
import gc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from repotune.config import SourceConfig
from repotune.errors import SourceError
from repotune.parsing.python_units import FileOrigin, extract_units
from repotune.records import CodeUnit
from repotune.sources.filters import content_reason, path_reason
from repotune.sources.git import Snapshot, TrackedFile, list_tracked_files, read_blobs


@dataclass
class Extraction:
    """Units and the text of the files they came from (the base model's pretraining corpus)."""

    units: list[CodeUnit] = field(default_factory=list)
    files: list[dict[str, str]] = field(default_factory=list)
    drops: Counter[str] = field(default_factory=Counter)
    files_seen: int = 0


def _selected(tracked: list[TrackedFile], source: SourceConfig, drops: Counter[str]):
    """The tracked files to read; every other one is counted under ``file_<reason>``."""
    for item in tracked:
        if item.kind != "file":
            reason = item.kind
        elif (reason := path_reason(item.path, source.include, source.exclude)) is None:
            reason = "too_large" if item.size > source.max_file_bytes else None
        if reason:
            drops[f"file_{reason}"] += 1
        else:
            yield item


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while records pile up.

    Tens of thousands of retained units (frozen dataclasses of strings, no reference cycles) make
    every generation-2 collection rescan them all; on the CPython stdlib that cost more than the
    parsing itself (measured by benchmarks/extraction_vs_ast.py: 1.5x slower with it on).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def extract_snapshot(snapshot: Snapshot, source: SourceConfig) -> Extraction:
    """Parse each selected tracked file at the snapshot's commit into code units."""
    with _gc_paused():
        return _extract(snapshot, source)


def _extract(snapshot: Snapshot, source: SourceConfig) -> Extraction:
    tracked = list_tracked_files(snapshot)
    result = Extraction(files_seen=len(tracked))
    wanted = list(_selected(tracked, source, result.drops))
    if not wanted:
        raise SourceError(
            f"no tracked file in {snapshot.repo}@{snapshot.ref} is selected by `source.include` "
            f"{source.include} (skipped: {dict(result.drops) or 'none, the tree is empty'})",
            "commit code files or widen `source.include`",
        )
    contents = dict(read_blobs(snapshot.repo, sorted({item.blob for item in wanted})))
    for item in wanted:
        raw = contents[item.blob]
        reason = content_reason(raw)
        if reason:
            result.drops[f"file_{reason}"] += 1
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            result.drops["file_non_utf8"] += 1
            continue
        origin = FileOrigin(repo=snapshot.repo, commit=snapshot.commit, path=item.path)
        try:
            units = extract_units(text, origin, result.drops)
        except (SyntaxError, ValueError):
            result.drops["file_syntax_error"] += 1
            continue
        result.units.extend(units)
        result.files.append({"path": item.path, "blob": item.blob, "text": text})
    if not result.units:
        raise SourceError(
            f"found no Python functions to learn from in {snapshot.repo}@{snapshot.ref} "
            f"({len(wanted)} files selected, drops: {dict(result.drops) or 'none'})",
            "point --repo at a repository with Python functions or widen `source.include`",
        )
    return result
