"""Extract code units from every selected file of a repository snapshot, counting what is dropped.

Every tracked file that yields nothing says why (``file_<reason>``: see ``repotune.sources.filters``
plus ``too_large``, ``non_utf8``, ``syntax_error``, ``symlink``, ``submodule``), so the manifest
tells a user exactly what was thrown away — and a broken file never stops a run.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from repotune.config import SourceConfig
from repotune.errors import SourceError
from repotune.parsing.blob_cache import BlobCache, BlobResult
from repotune.parsing.python_units import EXTRACTOR_VERSION as PY_EXTRACTOR_VERSION
from repotune.parsing.python_units import FileOrigin, extract_units
from repotune.parsing.related_tests import link_related_tests
from repotune.parsing.treesitter_grammars import grammar_for_path
from repotune.parsing.treesitter_units import EXTRACTOR_VERSION as TS_EXTRACTOR_VERSION
from repotune.parsing.treesitter_units import extract_ts_units
from repotune.privacy import SCRUBBER_VERSION, scrub_text, secret_file_kind
from repotune.records import CodeUnit
from repotune.sources.filters import content_reason, path_reason
from repotune.sources.git import Snapshot, TrackedFile, list_tracked_files, read_blobs

EXTRACTOR_VERSIONS = {"python": PY_EXTRACTOR_VERSION, "tree-sitter": TS_EXTRACTOR_VERSION}
CACHE_OMITS = ("repo", "commit", "path", "id", "code", "related_tests", "imports")
"""Fields not cached per unit: the location (re-attached per run), what derives from the rest or
from other files (the tests that call a unit), and the file's imports (cached once per file)."""
LOCATION_FREE = FileOrigin(repo="", commit="", path="")


@dataclass
class Extraction:
    """Units and the text of the files they came from (the base model's pretraining corpus)."""

    units: list[CodeUnit] = field(default_factory=list)
    files: list[dict[str, str]] = field(default_factory=list)
    """One row per parsed file: repo, path, blob, text, and its ``drops``/``findings`` as JSON."""
    skipped: list[dict[str, str]] = field(default_factory=list)
    """One row per file dropped for its content: repo, path, blob, reason."""
    drops: Counter[str] = field(default_factory=Counter)
    files_seen: int = 0
    files_cached: int = 0
    findings: Counter[str] = field(default_factory=Counter)

    def merge(self, other: Extraction) -> None:
        """Add another repository's extraction to this one."""
        self.units.extend(other.units)
        self.files.extend(other.files)
        self.skipped.extend(other.skipped)
        self.drops.update(other.drops)
        self.files_seen += other.files_seen
        self.files_cached += other.files_cached
        self.findings.update(other.findings)


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
def gc_paused() -> Iterator[None]:
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
    imports = units[0].imports if units else ""
    return BlobResult(None, scrubbed.text, fields, dict(drops), dict(scrubbed.findings), imports)


@dataclass(frozen=True)
class BlobJob:
    """One file to parse: its bytes travel with it, so any worker (a local process, a Ray node
    without the repository) can run it."""

    blob: str
    variant: str
    path: str
    raw: bytes


def process_jobs(jobs: list[BlobJob]) -> dict[tuple[str, str], BlobResult]:
    """Parse a batch of files: the unit of parallel work handed to the task runner."""
    with gc_paused():
        return {(job.blob, job.variant): process_blob(job.raw, job.path) for job in jobs}


@dataclass
class ExtractionPlan:
    """What one snapshot needs: the selected files, the results already cached, the rest to do."""

    snapshot: Snapshot
    wanted: list[TrackedFile]
    key_of: dict[str, tuple[str, str]]
    done: dict[tuple[str, str], BlobResult]
    drops: Counter[str]
    files_seen: int
    files_cached: int
    carried: list[TrackedFile] = field(default_factory=list)
    """Selected files left out of ``wanted`` because a previous dataset holds them unchanged."""

    def todo(self) -> dict[tuple[str, str], str]:
        """Cache keys still to compute, each with one path that chooses its grammar."""
        return {
            self.key_of[item.path]: item.path
            for item in self.wanted
            if self.key_of[item.path] not in self.done
        }

    def jobs(self, batch_bytes: int) -> list[list[BlobJob]]:
        """The files to parse, read from git in one pass and cut into batches of about
        ``batch_bytes`` (largest first, so no batch is left running alone at the end)."""
        todo = self.todo()
        raws = dict(read_blobs(self.snapshot.repo, sorted({blob for blob, _ in todo})))
        jobs = sorted(
            (BlobJob(blob, variant, path, raws[blob]) for (blob, variant), path in todo.items()),
            key=lambda job: -len(job.raw),
        )
        batches: list[list[BlobJob]] = []
        size = batch_bytes
        for job in jobs:
            if size >= batch_bytes:
                batches.append([])
                size = 0
            batches[-1].append(job)
            size += len(job.raw)
        return batches


def plan_extraction(
    snapshot: Snapshot,
    source: SourceConfig,
    cache: BlobCache | None = None,
    reuse: Mapping[str, str] | None = None,
) -> ExtractionPlan:
    """Select the snapshot's files and look each up in the cache by (blob hash, variant).

    ``reuse`` maps paths to the blobs a previous dataset already holds: those files are carried
    over as they are, neither read from git nor looked up in the cache.
    """
    tracked = list_tracked_files(snapshot)
    drops: Counter[str] = Counter()
    wanted = list(_selected(tracked, source, drops))
    if not wanted:
        raise SourceError(
            f"no tracked file in {snapshot.origin}@{snapshot.ref} is selected by `source.include` "
            f"{source.include} (skipped: {dict(drops) or 'none, the tree is empty'})",
            "commit code files or widen `source.include`",
        )
    reuse = reuse or {}
    carried = [item for item in wanted if reuse.get(item.path) == item.blob]
    wanted = [item for item in wanted if reuse.get(item.path) != item.blob]
    key_of = {item.path: (item.blob, cache_variant(grammar_of(item.path))) for item in wanted}
    done = cache.get_many(key_of.values()) if cache else {}
    cached = sum(1 for item in wanted if key_of[item.path] in done)
    return ExtractionPlan(snapshot, wanted, key_of, done, drops, len(tracked), cached, carried)


def assemble(plan: ExtractionPlan, fresh: dict[tuple[str, str], BlobResult]) -> Extraction:
    """Attach each wanted file's (cached or fresh) result to its path and commit."""
    snapshot = plan.snapshot
    done = {**plan.done, **fresh}
    result = Extraction(
        drops=Counter(plan.drops), files_seen=plan.files_seen, files_cached=plan.files_cached
    )
    with gc_paused():
        for item in plan.wanted:
            blob_result = done[plan.key_of[item.path]]
            where = {"repo": snapshot.origin, "path": item.path, "blob": item.blob}
            if blob_result.reason:
                result.drops[f"file_{blob_result.reason}"] += 1
                result.skipped.append({**where, "reason": blob_result.reason})
                continue
            result.drops.update(blob_result.drops)
            result.findings.update(blob_result.findings)
            location = {"repo": snapshot.origin, "commit": snapshot.commit, "path": item.path}
            imports = blob_result.imports
            result.units.extend(
                CodeUnit(**f, **location, imports=imports, code=f["header"] + f["body"])
                for f in blob_result.units
            )
            result.files.append(
                {
                    **where,
                    "text": blob_result.text,
                    "drops": json.dumps(blob_result.drops, sort_keys=True),
                    "findings": json.dumps(blob_result.findings, sort_keys=True),
                }
            )
    return result


def require_units(units_found: int, where: str, selected: int, drops: Counter[str]) -> None:
    """A source that yields no function at all is a mistake worth stopping for."""
    if not units_found:
        raise SourceError(
            f"found no functions to learn from in {where} "
            f"({selected} files selected, drops: {dict(drops) or 'none'})",
            "point --repo at a repository with functions or methods, or widen `source.include`",
        )


MapBatches = Callable[[list[list[BlobJob]]], Iterable[dict[tuple[str, str], BlobResult]]]


def in_process(batches: list[list[BlobJob]]) -> Iterable[dict[tuple[str, str], BlobResult]]:
    return map(process_jobs, batches)


def extract_snapshot(
    snapshot: Snapshot,
    source: SourceConfig,
    cache: BlobCache | None = None,
    map_batches: MapBatches = in_process,
    batch_bytes: int = 4_000_000,
) -> Extraction:
    """Parse each selected tracked file at the snapshot's commit into code units.

    With a ``cache``, files whose blob was processed before (by this extractor version) are not
    read or parsed again: a new commit costs only what it changed. ``map_batches`` runs the
    batches of files (in this process by default; the flow hands them to its task runner).
    """
    with gc_paused():
        plan = plan_extraction(snapshot, source, cache)
        fresh: dict[tuple[str, str], BlobResult] = {}
        for results in map_batches(plan.jobs(batch_bytes)):
            fresh.update(results)
        if cache and fresh:
            cache.put_many(fresh)
        extraction = assemble(plan, fresh)
        where = f"{snapshot.origin}@{snapshot.ref}"
        require_units(len(extraction.units), where, len(plan.wanted), extraction.drops)
        extraction.units = link_related_tests(extraction.units)
        return extraction
