"""LSH banding over MinHash signatures, Jaccard verification, and clusters of near-duplicates.

A signature is cut into ``bands`` bands of ``rows`` values; two texts become a candidate pair
when any band is equal, which happens with probability ``1 - (1 - J**rows)**bands`` for Jaccard
``J``. :func:`optimal_bands` picks ``(bands, rows)`` as BigCode's ``optimal_param`` does: the pair
that minimises the weighted area of false positives (collision probability below the threshold)
plus false negatives (missed probability above it), integrated numerically. Verification then
drops the candidates whose exact Jaccard on shingle sets is below the threshold, so the LSH curve's
soft edge turns into a hard one on the false-positive side at the price of a set intersection per
candidate. Clusters are the connected components of the accepted pairs (union-find).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import combinations

import numpy as np

from repotune.dedup.minhash import Shingles, jaccard, splitmix64
from repotune.errors import RepotuneError

MAX_ALL_PAIRS_BUCKET = 16
"""A band bucket up to this size yields all its pairs; a larger one pairs each member with its
first only (linear, not quadratic: a bucket that big is a family of near-copies anyway)."""

_BAND_MIX_SEED = 0xBA4D
_INTEGRATION_POINTS = 1001


def collision_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that two texts of Jaccard ``similarity`` share at least one band."""
    return float(1.0 - (1.0 - similarity**rows) ** bands)


@lru_cache(maxsize=64)
def optimal_bands(
    threshold: float,
    num_perm: int,
    false_positive_weight: float = 0.5,
    false_negative_weight: float = 0.5,
) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= num_perm`` that best approximates ``threshold``.

    Minimises ``fp_weight * integral_0^t P(s) ds + fn_weight * integral_t^1 (1 - P(s)) ds`` over
    every ``(b, r)`` (trapezoid rule on 1001 points per side; ties keep the fewest bands, as
    BigCode's scan does). For 0.7 and 256 permutations this is 25 bands of 10 rows.
    """
    if not 0.0 < threshold < 1.0:
        raise RepotuneError(
            "dedup", f"`threshold` must be between 0 and 1 (got {threshold})", "use e.g. 0.7"
        )
    low = np.linspace(0.0, threshold, _INTEGRATION_POINTS)
    high = np.linspace(threshold, 1.0, _INTEGRATION_POINTS)
    best, best_error = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        rows = np.arange(1, num_perm // bands + 1, dtype=np.float64)[:, None]
        false_pos = np.trapezoid(1.0 - (1.0 - low**rows) ** bands, low, axis=1)
        false_neg = np.trapezoid((1.0 - high**rows) ** bands, high, axis=1)
        error = false_positive_weight * false_pos + false_negative_weight * false_neg
        index = int(np.argmin(error))
        if error[index] < best_error:
            best, best_error = (bands, index + 1), float(error[index])
    return best


def _bucket_pairs(members: np.ndarray, run_starts: np.ndarray, run_sizes: np.ndarray) -> np.ndarray:
    """Pairs of members sharing a bucket; ``members`` is sorted by bucket, then by index."""
    twos = run_starts[run_sizes == 2]
    pairs = [np.stack((members[twos], members[twos + 1]), axis=1)]
    for start, size in zip(run_starts[run_sizes > 2], run_sizes[run_sizes > 2], strict=True):
        bucket = members[start : start + size].tolist()
        if size <= MAX_ALL_PAIRS_BUCKET:
            pairs.append(np.array(list(combinations(bucket, 2)), dtype=np.int64))
        else:
            pairs.append(np.array([(bucket[0], other) for other in bucket[1:]], dtype=np.int64))
    return np.concatenate(pairs)


def candidate_pairs(
    signatures: np.ndarray, bands: int, rows: int, active: np.ndarray | None = None
) -> np.ndarray:
    """Unique ``(i, j)`` pairs, ``i < j``, of texts that share at least one band.

    Args:
        signatures: ``(texts, num_perm)`` from :meth:`MinHasher.signatures`.
        bands: Bands to cut the signature into.
        rows: Signature values per band (``bands * rows`` must fit in ``num_perm``).
        active: Boolean mask of texts that take part (texts without shingles must not: their
            all-max signatures would all collide).
    """
    if bands * rows > signatures.shape[1]:
        raise RepotuneError(
            "dedup",
            f"{bands} bands x {rows} rows need {bands * rows} permutations, the signatures have "
            f"{signatures.shape[1]}",
            "lower `bands`/`rows` or raise `num_perm`",
        )
    index = np.arange(len(signatures)) if active is None else np.flatnonzero(active)
    sig = signatures[index]
    mix = np.random.RandomState(_BAND_MIX_SEED).randint(0, 1 << 62, size=rows, dtype=np.uint64)
    mix = mix * np.uint64(2) + np.uint64(1)
    found = [np.empty((0, 2), dtype=np.int64)]
    for band in range(bands):
        # One 64-bit key per band: a rare accidental equality only adds a candidate, which
        # verification removes; it never hides one.
        keys = splitmix64((sig[:, band * rows : (band + 1) * rows] * mix).sum(axis=1))
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        boundary = np.concatenate(([True], ordered[1:] != ordered[:-1]))
        run_starts = np.flatnonzero(boundary)
        run_sizes = np.diff(np.append(run_starts, len(ordered)))
        shared = run_sizes > 1
        if shared.any():
            found.append(_bucket_pairs(index[order], run_starts[shared], run_sizes[shared]))
    pairs = np.concatenate(found)
    codes = np.unique(pairs[:, 0] * len(signatures) + pairs[:, 1])
    return np.stack(np.divmod(codes, len(signatures)), axis=1)


def verify_pairs(pairs: np.ndarray, shingles: Shingles, threshold: float) -> np.ndarray:
    """The pairs whose exact Jaccard on shingle sets reaches ``threshold``."""
    sets: dict[int, frozenset[int]] = {}

    def shingle_set(i: int) -> frozenset[int]:
        if i not in sets:
            sets[i] = frozenset(shingles.of(i).tolist())
        return sets[i]

    keep = [jaccard(shingle_set(i), shingle_set(j)) >= threshold for i, j in pairs.tolist()]
    return pairs[np.asarray(keep, dtype=bool)] if len(pairs) else pairs


def clusters(size: int, pairs: np.ndarray) -> list[list[int]]:
    """Connected components of ``pairs`` over ``range(size)`` with two or more members, each
    sorted, in order of their smallest member."""
    parent = list(range(size))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs.tolist():
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in sorted({x for pair in pairs.tolist() for x in pair}):
        groups.setdefault(root(i), []).append(i)
    return [members for members in groups.values() if len(members) > 1]


def near_duplicate_pairs(
    shingles: Shingles,
    signatures: np.ndarray,
    threshold: float,
    verify: bool = True,
    keep: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Candidate pairs at the banding optimal for ``threshold``, optionally filtered and verified.

    Args:
        keep: Maps the ``(k, 2)`` candidates to a boolean mask of those worth verifying (e.g. only
            pairs across two collections); applied before verification to save its cost.
    """
    bands, rows = optimal_bands(threshold, signatures.shape[1])
    pairs = candidate_pairs(signatures, bands, rows, active=shingles.counts > 0)
    if keep is not None:
        pairs = pairs[keep(pairs)]
    return verify_pairs(pairs, shingles, threshold) if verify else pairs
