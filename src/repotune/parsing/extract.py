"""Extract code units from every selected file of a repository snapshot, counting what is dropped.

Every file that yields nothing says why (``too_large``, ``binary``, ``non_utf8``, ``syntax_error``),
so the manifest tells a user exactly what was thrown away — and a broken file never stops a run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from repotune.config import SourceConfig
from repotune.errors import SourceError
from repotune.parsing.python_units import FileOrigin, extract_units
from repotune.records import CodeUnit
from repotune.sources.git import Snapshot, list_tracked_files, read_blobs


@dataclass
class Extraction:
    """Units and the text of the files they came from (the base model's pretraining corpus)."""

    units: list[CodeUnit] = field(default_factory=list)
    files: list[dict[str, str]] = field(default_factory=list)
    drops: Counter[str] = field(default_factory=Counter)
    files_seen: int = 0


def extract_snapshot(snapshot: Snapshot, source: SourceConfig) -> Extraction:
    """Parse each selected tracked file at the snapshot's commit into code units."""
    tracked = list_tracked_files(snapshot, source.include, source.exclude)
    if not tracked:
        raise SourceError(
            f"no tracked files match {source.include} in {snapshot.repo}@{snapshot.ref}",
            "commit Python files or widen `source.include`",
        )
    result = Extraction(files_seen=len(tracked))
    wanted = []
    for item in tracked:
        if item.size > source.max_file_bytes:
            result.drops["file_too_large"] += 1
        else:
            wanted.append(item)
    paths = {item.blob: [] for item in wanted}
    for item in wanted:
        paths[item.blob].append(item.path)
    contents = dict(read_blobs(snapshot.repo, list(paths)))
    for item in wanted:
        raw = contents[item.blob]
        if b"\0" in raw:
            result.drops["file_binary"] += 1
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
            f"({len(tracked)} files matched, drops: {dict(result.drops) or 'none'})",
            "point --repo at a repository with Python functions or widen `source.include`",
        )
    return result
