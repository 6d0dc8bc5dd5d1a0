"""One call that deduplicates a split dataset: what to keep, what to drop and why.

Order, each step on what the previous ones kept:

1. ``humaneval_contamination``: records that copy a HumanEval problem (any split: a test sample
   that is a public benchmark problem measures what the base model memorised, not the repository).
2. Exact duplicates by normalised content hash (:mod:`repotune.dedup.exact`).
3. Near-duplicates by MinHash-LSH (:mod:`repotune.dedup.minhash`, :mod:`repotune.dedup.lsh`),
   clusters by union-find over the (verified) pairs.

In each group or cluster one record is kept. The test side wins: if a test record is in it, the
kept one is the test record with the lowest sort key, and train records go as ``leaked_exact`` /
``leaked_near`` (a train copy of a test sample turns held-out metrics into recall). A train
record in a mixed cluster with no verified pair to a test record is a plain ``near_duplicate``.
Otherwise the record with the lowest sort key is kept (ties by id), so the result does not depend
on input order. Shingles and signatures are computed once and serve steps 1 and 3.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from repotune.config import DedupConfig
from repotune.dedup.exact import exact_groups
from repotune.dedup.humaneval import contaminated
from repotune.dedup.lsh import clusters, near_duplicate_pairs, optimal_bands
from repotune.dedup.minhash import MinHasher
from repotune.errors import RepotuneError

REASONS = (
    "humaneval_contamination",
    "exact_duplicate",
    "leaked_exact",
    "near_duplicate",
    "leaked_near",
)
SPLITS = ("train", "test")


@dataclass(frozen=True)
class DedupResult:
    """What :func:`deduplicate` kept and dropped.

    Attributes:
        kept_ids: Ids of the kept records, in input order.
        dropped: Reason -> ids dropped for it (every reason in :data:`REASONS` is a key).
        duplicate_of: Dropped id -> what it duplicates: the id its group or cluster kept (for
            ``leaked_near``, the test record it pairs with; an exact group's keeper may itself
            be dropped later as a near-duplicate, so follow the chain to the survivor), or the
            HumanEval task id.
        near_duplicate_ratio: Records dropped as ``near_duplicate`` or ``leaked_near`` over the
            records that reached near-dedup (after decontamination and exact dedup).
        bands: LSH bands used for ``threshold``.
        rows: Signature values per band.
    """

    kept_ids: list[str]
    dropped: dict[str, list[str]]
    duplicate_of: dict[str, str]
    near_duplicate_ratio: float
    bands: int
    rows: int

    @property
    def counts(self) -> dict[str, int]:
        """Drops per reason, for a manifest's drop report."""
        return {reason: len(ids) for reason, ids in self.dropped.items()}


def _field(record: Any, name: str) -> Any:
    try:
        return record[name] if isinstance(record, Mapping) else getattr(record, name)
    except (KeyError, AttributeError):
        raise RepotuneError(
            "dedup",
            f"a record has no `{name}`",
            "pass dicts or objects with `id`, `text` and `split`",
        ) from None


def _validated(records: Sequence[Any]) -> tuple[list[str], list[str], list[bool]]:
    ids = [str(_field(record, "id")) for record in records]
    texts = [_field(record, "text") for record in records]
    splits = [_field(record, "split") for record in records]
    if len(set(ids)) != len(ids):
        twice = sorted(i for i, n in Counter(ids).items() if n > 1)[:3]
        raise RepotuneError(
            "dedup", f"record ids repeat: {twice}", "give every record its own `id`"
        )
    for record_id, text, split in zip(ids, texts, splits, strict=True):
        if not isinstance(text, str):
            raise RepotuneError(
                "dedup", f"record {record_id!r} has a non-string `text`", "pass the text as str"
            )
        if split not in SPLITS:
            raise RepotuneError(
                "dedup",
                f"record {record_id!r} has `split` {split!r}",
                f"use one of {', '.join(SPLITS)}",
            )
    return ids, texts, [split == "test" for split in splits]


class _Decider:
    """Applies the keep-one rule to groups and records each drop with its reason."""

    def __init__(self, ids: list[str], is_test: list[bool], order: list[Any]) -> None:
        self.ids, self.is_test, self.order = ids, is_test, order
        self.dropped: dict[str, list[str]] = {reason: [] for reason in REASONS}
        self.duplicate_of: dict[str, str] = {}
        self.alive = np.ones(len(ids), dtype=bool)

    def drop(self, index: int, reason: str, original: str) -> None:
        self.alive[index] = False
        self.dropped[reason].append(self.ids[index])
        self.duplicate_of[self.ids[index]] = original

    def resolve(self, group: list[int], kind: str, test_neighbour: dict[int, int] | None) -> None:
        """Keep one of ``group``, drop the rest as ``<kind>_duplicate`` or ``leaked_<kind>``.

        ``test_neighbour`` maps a train member to the test member it pairs with directly; when it
        is None (exact groups) every member pairs with every other.
        """
        tests = [i for i in group if self.is_test[i]]
        keeper = min(tests or group, key=lambda i: self.order[i])
        for member in sorted(group, key=lambda i: self.order[i]):
            if member == keeper:
                continue
            if not self.is_test[member] and tests:
                partner = keeper if test_neighbour is None else test_neighbour.get(member)
                if partner is not None:
                    self.drop(member, f"leaked_{kind}", self.ids[partner])
                    continue
            self.drop(member, f"{kind}_duplicate", self.ids[keeper])


def deduplicate(
    records: Sequence[Any],
    config: DedupConfig | None = None,
    sort_key: Callable[[Any], Any] | None = None,
) -> DedupResult:
    """Drop HumanEval copies, exact and near-duplicates, and train copies of test records.

    Args:
        records: Dicts or objects with ``id`` (unique), ``text`` and ``split`` (train or test).
        config: Shingles, permutations, threshold, verification and decontamination settings.
        sort_key: Of each group, the record with the lowest key is kept (ties by id); default:
            the id. Pass e.g. ``lambda r: (r["path"], r["start_line"])`` to keep first occurrences.
    """
    config = config or DedupConfig()
    ids, texts, is_test = _validated(records)
    order = [(sort_key(record) if sort_key else (), ids[i]) for i, record in enumerate(records)]
    hasher = MinHasher(config.ngram, config.num_perm, config.seed)
    shingles = hasher.shingles(texts)
    signatures = hasher.signatures(shingles)
    decider = _Decider(ids, is_test, order)

    if config.decontaminate_humaneval:
        found = contaminated(
            texts, shingles, signatures, hasher, config.humaneval_threshold, config.verify
        )
        for index, task_id in sorted(found.items()):
            decider.drop(index, "humaneval_contamination", task_id)

    alive_texts = np.flatnonzero(decider.alive)
    for group in exact_groups([texts[i] for i in alive_texts]):
        decider.resolve([int(alive_texts[i]) for i in group], "exact", None)

    reaching = int(decider.alive.sum())
    alive = decider.alive.copy()
    pairs = near_duplicate_pairs(
        shingles,
        signatures,
        config.threshold,
        verify=config.verify,
        keep=lambda candidates: alive[candidates[:, 0]] & alive[candidates[:, 1]],
    )
    test_neighbour: dict[int, int] = {}
    for i, j in pairs.tolist():
        for train, test in ((i, j), (j, i)):
            if is_test[test] and not is_test[train]:
                best = test_neighbour.get(train)
                if best is None or order[test] < order[best]:
                    test_neighbour[train] = test
    for cluster in clusters(len(ids), pairs):
        decider.resolve(cluster, "near", test_neighbour)
    near = len(decider.dropped["near_duplicate"]) + len(decider.dropped["leaked_near"])
    bands, rows = optimal_bands(config.threshold, config.num_perm)
    return DedupResult(
        kept_ids=[ids[i] for i in np.flatnonzero(decider.alive)],
        dropped=decider.dropped,
        duplicate_of=decider.duplicate_of,
        near_duplicate_ratio=near / reaching if reaching else 0.0,
        bands=bands,
        rows=rows,
    )
