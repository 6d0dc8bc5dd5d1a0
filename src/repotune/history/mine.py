"""Mine first-parent history into classified before/after pairs of the functions commits changed.

Every walked commit ends in exactly one of two ways: it yields pairs, or it is counted once under
``commit_<reason>`` (``root``, ``shallow_boundary``, ``merge``, ``bot_author``, ``revert``,
``no_code_change``, ``oversized``, ``no_function_change``). Finer counts say why inside a commit:
``file_<reason>`` for changed files not diffed, ``unit_added``/``unit_removed`` for functions on
one side only, ``pair_formatting_only`` for changes that are layout or comments alone.

Git is called per batch, not per commit (one ``log``, one ``diff-tree --stdin``, then per batch of
:data:`BATCH_COMMITS` one ``cat-file --batch-check`` and one ``cat-file --batch`` for the blobs the
blob cache lacks), and each finished batch is written to the :class:`HistoryStore`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from repotune.config import HistoryConfig, SourceConfig
from repotune.history.classify import classify, formatting_only
from repotune.history.store import CommitOutcome, HistoryStore
from repotune.history.walk import (
    CommitDiff,
    CommitInfo,
    FileChange,
    blob_sizes,
    changed_files,
    commit_reason,
    list_commits,
    shallow_boundaries,
)
from repotune.parsing.blob_cache import BlobCache, BlobResult
from repotune.parsing.extract import EXTRACTOR_VERSIONS, cache_variant, grammar_of, process_blob
from repotune.privacy import SCRUBBER_VERSION, scrub_text, secret_file_kind
from repotune.records import ChangePair
from repotune.sources.filters import path_reason
from repotune.sources.git import Snapshot, read_blobs

HISTORY_VERSION = "history-1"
"""Part of every stored commit outcome's key: change the rules here, bump it."""
BATCH_COMMITS = 200
REGULAR_MODES = frozenset({"100644", "100755"})


@dataclass
class HistoryResult:
    """Pairs of the walked range (newest commit first) and what was dropped, by reason.

    ``last_commit`` is the newest commit walked (pass it as ``history.stop_at`` to mine only what
    came after); None when the range was empty.
    """

    pairs: list[ChangePair] = field(default_factory=list)
    drops: Counter[str] = field(default_factory=Counter)
    commits_walked: int = 0
    commits_from_store: int = 0
    shallow: bool = False
    last_commit: str | None = None


def settings_key(source: SourceConfig, history: HistoryConfig) -> str:
    """Hash of the settings that change a commit's outcome (not those that bound the walk)."""
    relevant = {
        "include": source.include,
        "exclude": source.exclude,
        "max_file_bytes": source.max_file_bytes,
        "max_diff_lines": history.max_diff_lines,
        "bot_authors": history.bot_authors,
        "parsers": EXTRACTOR_VERSIONS,
        "scrubber": SCRUBBER_VERSION,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def _selected(diff: CommitDiff, source: SourceConfig, drops: Counter[str]) -> list[FileChange]:
    """Changed code files that pass the source filters (renames count under their new path)."""
    kept = []
    for change in diff.files:
        reason = path_reason(change.path, source.include, source.exclude)
        if reason is None and secret_file_kind(change.path):
            reason = "secret_file"
        elif reason is None and grammar_of(change.path) is None:
            reason = "unsupported_language"
        if reason:
            drops[f"file_{reason}"] += 1
        else:
            kept.append(change)
    return kept


def _comparable(change: FileChange, sizes: dict[str, int], source: SourceConfig) -> str | None:
    """Why a selected file has no before/after to compare, or None."""
    if change.status == "A":
        return "added"
    if change.status == "D":
        return "deleted"
    if change.old_mode not in REGULAR_MODES or change.new_mode not in REGULAR_MODES:
        return "not_regular"
    old_size, new_size = sizes.get(change.old_blob), sizes.get(change.new_blob)
    if old_size is None or new_size is None:
        return "missing_blob"  # a partial clone without the blob: nothing to compare
    if max(old_size, new_size) > source.max_file_bytes:
        return "too_large"
    return None


def _blob_results(
    repo: str, wanted: dict[tuple[str, str], str], cache: BlobCache | None
) -> dict[tuple[str, str], BlobResult]:
    """Parse results per (blob, cache variant): from the cache, else read in one cat-file."""
    done = cache.get_many(wanted) if cache else {}
    todo = {key: path for key, path in wanted.items() if key not in done}
    raws = dict(read_blobs(repo, sorted({blob for blob, _ in todo})))
    fresh = {key: process_blob(raws[key[0]], path) for key, path in todo.items()}
    if cache and fresh:
        cache.put_many(fresh)
    return {**done, **fresh}


def _functions(result: BlobResult) -> dict[tuple[str, int], dict[str, Any]]:
    """Function and method units by (qualname, n-th of that name): overloads stay apart."""
    seen: Counter[str] = Counter()
    units = {}
    for unit in result.units:
        if unit["kind"] != "class":
            units[(unit["qualname"], seen[unit["qualname"]])] = unit
            seen[unit["qualname"]] += 1
    return units


def _file_pairs(
    origin: str, commit: CommitInfo, message: str, change: FileChange, pair: tuple[BlobResult, ...]
) -> tuple[list[ChangePair], Counter[str]]:
    """The pairs of one changed file: functions on both sides whose code changed."""
    old, new = pair
    drops: Counter[str] = Counter()
    if old.reason or new.reason:
        drops[f"file_{old.reason or new.reason}"] += 1
        return [], drops
    before_units, after_units = _functions(old), _functions(new)
    drops["unit_removed"] += len(before_units.keys() - after_units.keys())
    drops["unit_added"] += len(after_units.keys() - before_units.keys())
    pairs = []
    for key, after_unit in after_units.items():
        before_unit = before_units.get(key)
        if before_unit is None:
            continue
        before = before_unit["header"] + before_unit["body"]
        after = after_unit["header"] + after_unit["body"]
        language = after_unit["language"]
        if before == after:
            continue
        if formatting_only(before, after, language):
            drops["pair_formatting_only"] += 1
            continue
        pairs.append(
            ChangePair(
                repo=origin,
                commit=commit.sha,
                parent=commit.parents[0],
                committed_at=commit.committed_at,
                message=message,
                path=change.path,
                language=language,
                qualname=key[0],
                before=before,
                after=after,
                kind=classify(before, after, language, message),
            )
        )
    return pairs, +drops


def _mine_batch(
    snapshot: Snapshot,
    commits: list[CommitInfo],
    diffs: dict[str, CommitDiff],
    source: SourceConfig,
    history: HistoryConfig,
    cache: BlobCache | None,
) -> dict[str, CommitOutcome]:
    """Outcomes of single-parent commits: filter files, parse both sides, pair the functions."""
    outcomes: dict[str, CommitOutcome] = {}
    plans: dict[str, tuple[list[FileChange], Counter[str]]] = {}
    for commit in commits:
        diff = diffs.get(commit.sha, CommitDiff())
        drops: Counter[str] = Counter()
        selected = _selected(diff, source, drops)
        if not selected:
            drops["commit_no_code_change"] += 1
        elif sum(diff.lines.get(c.path, 0) for c in selected) > history.max_diff_lines:
            drops["commit_oversized"] += 1
        else:
            plans[commit.sha] = (selected, drops)
            continue
        outcomes[commit.sha] = CommitOutcome([], dict(drops))
    blobs = {b for files, _ in plans.values() for c in files for b in (c.old_blob, c.new_blob)}
    sizes = blob_sizes(snapshot.repo, sorted(blobs - {"0" * len(b) for b in blobs}))
    keyed: dict[tuple[str, str], str] = {}
    for sha, (files, drops) in plans.items():
        comparable = []
        for change in files:
            reason = _comparable(change, sizes, source)
            if reason:
                drops[f"file_{reason}"] += 1
                continue
            variant = cache_variant(grammar_of(change.path))
            keyed[(change.old_blob, variant)] = change.path
            keyed[(change.new_blob, variant)] = change.path
            comparable.append(change)
        plans[sha] = (comparable, drops)
    results = _blob_results(snapshot.repo, keyed, cache)
    for commit in commits:
        if commit.sha not in plans:
            continue
        files, drops = plans[commit.sha]
        message = scrub_text(commit.message).text
        pairs = []
        for change in files:
            variant = cache_variant(grammar_of(change.path))
            sides = results[(change.old_blob, variant)], results[(change.new_blob, variant)]
            file_pairs, file_drops = _file_pairs(snapshot.origin, commit, message, change, sides)
            pairs.extend(file_pairs)
            drops.update(file_drops)
        if not pairs:
            drops["commit_no_function_change"] += 1
        outcomes[commit.sha] = CommitOutcome(pairs, dict(drops))
    return outcomes


def _batches(items: list[CommitInfo], size: int) -> Iterator[list[CommitInfo]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def mine_history(
    snapshot: Snapshot,
    source: SourceConfig,
    history: HistoryConfig,
    cache: BlobCache | None = None,
    store: HistoryStore | None = None,
) -> HistoryResult:
    """Walk ``snapshot.commit``'s first-parent history and pair every function a commit changed.

    With a ``store``, commits mined before (same miner version and settings) are read back rather
    than diffed; with a ``cache``, blobs parsed before (by extraction or an earlier walk) are not
    parsed again. An empty range gives an empty result; a shallow clone's cut-off commit is counted
    as ``commit_shallow_boundary``.
    """
    if not history.enabled:
        return HistoryResult()
    commits = list_commits(snapshot.repo, snapshot.commit, history)
    boundaries = shallow_boundaries(snapshot.repo)
    key = settings_key(source, history)
    stored = (
        store.get_many((c.sha for c in commits), HISTORY_VERSION, key, snapshot.origin)
        if store
        else {}
    )
    outcomes: dict[str, CommitOutcome] = dict(stored)
    todo = [c for c in commits if c.sha not in stored]
    to_diff = []
    for commit in todo:
        reason = commit_reason(commit, history, boundaries)
        if reason:
            outcomes[commit.sha] = CommitOutcome([], {f"commit_{reason}": 1})
        else:
            to_diff.append(commit)
    diffs = changed_files(snapshot.repo, [c.sha for c in to_diff])
    for batch in _batches(todo, BATCH_COMMITS):
        diffable = [c for c in batch if c.sha not in outcomes]
        outcomes.update(_mine_batch(snapshot, diffable, diffs, source, history, cache))
        if store:
            finished = {
                c.sha: outcomes[c.sha]
                for c in batch
                if "commit_shallow_boundary" not in outcomes[c.sha].drops
            }
            store.put_many(finished, HISTORY_VERSION, key)
    result = HistoryResult(
        commits_walked=len(commits),
        commits_from_store=len(stored),
        shallow=boundaries is not None,
        last_commit=commits[0].sha if commits else None,
    )
    for commit in commits:
        outcome = outcomes[commit.sha]
        result.pairs.extend(outcome.pairs)
        result.drops.update(outcome.drops)
    return result
