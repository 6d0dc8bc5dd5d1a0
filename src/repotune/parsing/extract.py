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
from repotune.parsing.blob_cache import BlobCache, BlobResult
from repotune.parsing.python_units import EXTRACTOR_VERSION as PY_EXTRACTOR_VERSION
from repotune.parsing.python_units import FileOrigin, extract_units
from repotune.parsing.treesitter_grammars import grammar_for_path
from repotune.parsing.treesitter_units import EXTRACTOR_VERSION as TS_EXTRACTOR_VERSION
from repotune.parsing.treesitter_units import extract_ts_units
from repotune.privacy import SCRUBBER_VERSION, scrub_text, secret_file_kind
from repotune.records import CodeUnit
from repotune.sources.filters import content_reason, path_reason
from repotune.sources.git import Snapshot, TrackedFile, list_tracked_files, read_blobs

EXTRACTOR_VERSIONS = {"python": PY_EXTRACTOR_VERSION, "tree-sitter": TS_EXTRACTOR_VERSION}
CACHE_OMITS = ("repo", "commit", "path", "id", "code")
"""Fields not cached: the location (re-attached per run) and what derives from the rest."""
LOCATION_FREE = FileOrigin(repo="", commit="", path="")


@dataclass
class Extraction:
    """Units and the text of the files they came from (the base model's pretraining corpus)."""

    units: list[CodeUnit] = field(default_factory=list)
    files: list[dict[str, str]] = field(default_factory=list)
    drops: Counter[str] = field(default_factory=Counter)
    files_seen: int = 0
    files_cached: int = 0
    findings: Counter[str] = field(default_factory=Counter)


def _selected(tracked: list[TrackedFile], source: SourceConfig, drops: Counter[str]):
    """The tracked files to read; every other one is counted under ``file_<reason>``."""
    for item in tracked:
        if item.kind != "file":
            reason = item.kind
        elif secret_file_kind(item.path):
            reason = "secret_file"
        elif (reason := path_reason(item.path, source.include, source.exclude)) is None:
            if grammar_of(item.path) is None:
                reason = "unsupported_language"
            elif item.size > source.max_file_bytes:
                reason = "too_large"
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


def grammar_of(path: str) -> str | None:
    """``python`` (parsed with ``ast``), a tree-sitter grammar name, or None if unsupported."""
    return "python" if path.endswith((".py", ".pyi")) else grammar_for_path(path)


def cache_variant(grammar: str) -> str:
    """Cache key part beside the blob hash: grammar + extractor version (a new version, or the
    same bytes under another grammar, never reads an old result)."""
    family = "python" if grammar == "python" else "tree-sitter"
    return f"{grammar}/{EXTRACTOR_VERSIONS[family]}/{SCRUBBER_VERSION}"


def process_blob(raw: bytes, path: str) -> BlobResult:
    """Everything one file's bytes yield: a drop reason, or its text and location-free units.

    ``path`` only chooses the grammar; the result is cached for every path with these bytes.
    """
    reason = content_reason(raw)
    if reason:
        return BlobResult(reason)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return BlobResult("non_utf8")
    scrubbed = scrub_text(text)
    drops: Counter[str] = Counter()
    try:
        if grammar_of(path) == "python":
            units = extract_units(scrubbed.text, LOCATION_FREE, drops)
        else:
            units = extract_ts_units(scrubbed.text, path, LOCATION_FREE, drops)
    except (SyntaxError, ValueError):
        return BlobResult("syntax_error")
    fields = [{k: v for k, v in unit.to_dict().items() if k not in CACHE_OMITS} for unit in units]
    return BlobResult(None, scrubbed.text, fields, dict(drops), dict(scrubbed.findings))


def extract_snapshot(
    snapshot: Snapshot, source: SourceConfig, cache: BlobCache | None = None
) -> Extraction:
    """Parse each selected tracked file at the snapshot's commit into code units.

    With a ``cache``, files whose blob was processed before (by this extractor version) are not
    read or parsed again: a new commit costs only what it changed.
    """
    with _gc_paused():
        return _extract(snapshot, source, cache)


def _extract(snapshot: Snapshot, source: SourceConfig, cache: BlobCache | None) -> Extraction:
    tracked = list_tracked_files(snapshot)
    result = Extraction(files_seen=len(tracked))
    wanted = list(_selected(tracked, source, result.drops))
    if not wanted:
        raise SourceError(
            f"no tracked file in {snapshot.repo}@{snapshot.ref} is selected by `source.include` "
            f"{source.include} (skipped: {dict(result.drops) or 'none, the tree is empty'})",
            "commit code files or widen `source.include`",
        )
    key_of = {item.path: (item.blob, cache_variant(grammar_of(item.path))) for item in wanted}
    done = cache.get_many(key_of.values()) if cache else {}
    result.files_cached = sum(1 for item in wanted if key_of[item.path] in done)
    todo = {key_of[item.path]: item.path for item in wanted if key_of[item.path] not in done}
    raws = dict(read_blobs(snapshot.repo, sorted({blob for blob, _ in todo})))
    fresh = {key: process_blob(raws[key[0]], path) for key, path in todo.items()}
    if cache and fresh:
        cache.put_many(fresh)
    done.update(fresh)
    for item in wanted:
        blob_result = done[key_of[item.path]]
        if blob_result.reason:
            result.drops[f"file_{blob_result.reason}"] += 1
            continue
        result.drops.update(blob_result.drops)
        result.findings.update(blob_result.findings)
        location = {"repo": snapshot.repo, "commit": snapshot.commit, "path": item.path}
        result.units.extend(
            CodeUnit.from_dict({**f, **location, "code": f["header"] + f["body"]})
            for f in blob_result.units
        )
        result.files.append({"path": item.path, "blob": item.blob, "text": blob_result.text})
    if not result.units:
        raise SourceError(
            f"found no functions to learn from in {snapshot.repo}@{snapshot.ref} "
            f"({len(wanted)} files selected, drops: {dict(result.drops) or 'none'})",
            "point --repo at a repository with functions or methods, or widen `source.include`",
        )
    return result
