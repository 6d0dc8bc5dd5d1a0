"""Paired bootstrap: is system B better than system A on the same items, beyond noise?

Two models scored on the same test items differ item by item; resampling the items (with
replacement) and recomputing the mean difference on each resample shows how much of the observed
difference the choice of items alone could produce. Pairing matters: an item that is hard for
both systems moves both means together and cancels in the difference, so the interval is far
narrower than two independent intervals would suggest (Koehn, 2004; Berg-Kirkpatrick et al., 2012).

The interval is the percentile interval of the resampled differences. The p-value is the share of
resamples in which B is *not* better (difference <= 0, or >= 0 for a loss), with the usual +1
correction so it is never exactly 0 from a finite number of resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

# Resampled index matrices are built in chunks of at most this many cells (8 bytes each).
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class PairedComparison:
    """System B against system A on the same items.

    ``delta`` is ``mean_b - mean_a`` whatever the direction; ``improved`` and ``p_value`` take
    ``higher_is_better`` into account. ``relative_delta`` is ``delta / |mean_a|`` (None when
    ``mean_a`` is 0). ``ci_low``/``ci_high`` bound ``delta`` at ``confidence``.
    """

    mean_a: float
    mean_b: float
    delta: float
    relative_delta: float | None
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool
    confidence: float
    resamples: int
    higher_is_better: bool
    two_sided: bool

    @property
    def improved(self) -> bool:
        """Whether B's mean is better than A's (not necessarily significantly)."""
        return self.delta > 0 if self.higher_is_better else self.delta < 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _as_scores(name: str, values: Sequence[float]) -> np.ndarray:
    scores = np.asarray(values, dtype=np.float64)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(f"`{name}` must be a non-empty flat sequence of per-item scores")
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"`{name}` holds NaN or infinite scores: drop or fix those items first")
    return scores


def _check_settings(resamples: int, confidence: float) -> None:
    if resamples < 1:
        raise ValueError(f"`resamples` must be >= 1 (got {resamples}); 1000-10000 is usual")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"`confidence` must be strictly between 0 and 1 (got {confidence})")


def _resampled_means(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Means of ``values`` over ``resamples`` bootstrap resamples of its items.

    Vectorised: each chunk is a (rows x n) matrix of random item indices. The chunk size depends
    only on n, so a seed gives the same means on every run and machine.
    """
    rng = np.random.default_rng(seed)
    size = values.size
    rows = max(1, _CHUNK_CELLS // size)
    means = np.empty(resamples, dtype=np.float64)
    for start in range(0, resamples, rows):
        stop = min(start + rows, resamples)
        index = rng.integers(0, size, size=(stop - start, size))
        means[start:stop] = values[index].mean(axis=1)
    return means


def _interval(means: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def mean_ci(
    scores: Sequence[float], *, resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): one system's mean score with its percentile bootstrap interval."""
    _check_settings(resamples, confidence)
    values = _as_scores("scores", scores)
    low, high = _interval(_resampled_means(values, resamples, seed), confidence)
    return float(values.mean()), low, high


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    higher_is_better: bool = True,
    two_sided: bool = False,
) -> PairedComparison:
    """Compare per-item scores ``b`` (the new system) with ``a`` (the old) on the same items.

    Args:
        a: per-item scores of the baseline (base model or champion), in item order.
        b: per-item scores of the candidate on the same items, in the same order.
        resamples: bootstrap resamples; more gives a steadier p-value and interval.
        confidence: interval level; ``significant`` tests at level ``1 - confidence``.
        seed: random seed: the same inputs and seed give the same result.
        higher_is_better: False for losses, where B is better when its mean is lower.
        two_sided: test "B differs from A" instead of "B is better than A". A promotion gate
            asks the one-sided question; a one-sided test at level 0.05 can be significant while
            the two-sided 95 % interval still touches 0.
    """
    _check_settings(resamples, confidence)
    scores_a, scores_b = _as_scores("a", a), _as_scores("b", b)
    if scores_a.size != scores_b.size:
        raise ValueError(
            f"`a` has {scores_a.size} scores and `b` {scores_b.size}: a paired comparison needs "
            "both systems scored on the same items, in the same order"
        )
    diffs = _resampled_means(scores_b - scores_a, resamples, seed)
    gains = diffs if higher_is_better else -diffs
    not_better = (np.count_nonzero(gains <= 0) + 1) / (resamples + 1)
    if two_sided:
        not_worse = (np.count_nonzero(gains >= 0) + 1) / (resamples + 1)
        p_value = min(1.0, 2.0 * min(not_better, not_worse))
    else:
        p_value = not_better
    mean_a, mean_b = float(scores_a.mean()), float(scores_b.mean())
    delta = mean_b - mean_a
    low, high = _interval(diffs, confidence)
    return PairedComparison(
        mean_a=mean_a,
        mean_b=mean_b,
        delta=delta,
        relative_delta=delta / abs(mean_a) if mean_a != 0 else None,
        ci_low=low,
        ci_high=high,
        p_value=float(p_value),
        significant=bool(p_value < 1.0 - confidence),
        confidence=confidence,
        resamples=resamples,
        higher_is_better=higher_is_better,
        two_sided=two_sided,
    )
