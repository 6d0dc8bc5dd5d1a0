"""Drift between two versions of a dataset, as population stability indices (PSI).

PSI = sum over bins of (actual% - expected%) * ln(actual% / expected%). It is symmetric in spirit,
cheap, and has well-worn reading rules: below 0.1 nothing moved, 0.1-0.25 a shift worth a look,
above 0.25 a different population. Continuous values are binned at the previous version's
quantiles (so each bin held about the same share before); categories are their own bins. Empty
bins get a small floor so a category that appears or vanishes gives a large, finite PSI.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

FLOOR = 1e-4
"""Share given to an empty bin: ln(0) is undefined, and 1e-4 makes a vanished bin cost ~0.9."""
MIN_ROWS = 200
"""Below this many samples in either version, PSI mostly measures noise: drift is not judged."""


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.maximum(expected / max(expected.sum(), 1), FLOOR)
    actual = np.maximum(actual / max(actual.sum(), 1), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def numeric_psi(expected: Sequence[float], actual: Sequence[float], bins: int = 10) -> float:
    """PSI of a numeric column, binned at the expected sample's quantiles."""
    if not len(expected) or not len(actual):
        return 0.0
    edges = np.unique(np.quantile(np.asarray(expected, dtype=float), np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    edges[0], edges[-1] = -math.inf, math.inf
    expected_counts, _ = np.histogram(expected, edges)
    actual_counts, _ = np.histogram(actual, edges)
    return _psi(expected_counts.astype(float), actual_counts.astype(float))


def categorical_psi(expected: Sequence[str], actual: Sequence[str]) -> float:
    """PSI of a categorical column; every category seen in either version is a bin."""
    before, after = Counter(expected), Counter(actual)
    categories = sorted(set(before) | set(after))
    if not categories:
        return 0.0
    return _psi(
        np.array([before[c] for c in categories], dtype=float),
        np.array([after[c] for c in categories], dtype=float),
    )


def dataset_drift(previous: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
    """PSI per watched distribution of two task-dataset versions: prompt and completion length
    (characters), the task mix and the category mix; empty when either version is too small."""
    if min(len(previous), len(current)) < MIN_ROWS:
        return {}
    return {
        "prompt_length": numeric_psi(previous["prompt"].str.len(), current["prompt"].str.len()),
        "completion_length": numeric_psi(
            previous["completion"].str.len(), current["completion"].str.len()
        ),
        "task_mix": categorical_psi(list(previous["task"]), list(current["task"])),
        **(
            {"category_mix": categorical_psi(list(previous["category"]), list(current["category"]))}
            if "category" in previous and "category" in current
            else {}
        ),
    }
