"""pass@k: the chance that at least one of k samples passes, estimated without bias from n >= k.

Sampling k of n and checking is noisy; the Codex paper's estimator (Chen et al., 2021) averages
over every k-subset of the n samples exactly: ``1 - C(n - c, k) / C(n, k)`` for c passing samples.
The binomials overflow floats for large n, so it is computed as the equivalent product
``1 - prod(1 - k / i for i in n - c + 1 .. n)``, which stays in [0, 1] term by term.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task with ``n`` samples of which ``c`` passed."""
    if n < 1:
        raise ValueError(f"`n` must be >= 1 sample (got {n})")
    if not 0 <= c <= n:
        raise ValueError(f"`c` must be between 0 and n={n} passing samples (got {c})")
    if not 1 <= k <= n:
        raise ValueError(f"`k` must be between 1 and n={n} (got {k}); generate at least k samples")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def estimate_pass_at_k(passed_per_task: Iterable[Sequence[bool]], k: int) -> float:
    """Mean pass@k over tasks; each task gives whether each of its samples passed
    (``[v.passed for v in verdicts]``), and needs at least ``k`` samples."""
    scores = [pass_at_k(len(passed), sum(passed), k) for passed in passed_per_task]
    if not scores:
        raise ValueError("`passed_per_task` is empty: pass@k needs at least one task")
    return sum(scores) / len(scores)
