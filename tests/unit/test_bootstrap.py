"""Paired bootstrap and evaluation plots, on synthetic scores whose answer is known."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from repotune.evaluation.bootstrap import mean_ci, paired_bootstrap
from repotune.evaluation.plots import loss_curves, metric_bars

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _scores(seed: int, size: int = 200) -> np.ndarray:
    return np.random.default_rng(seed).normal(5.0, 2.0, size)


def test_identical_systems_are_not_different():
    a = _scores(1)
    result = paired_bootstrap(a, a.copy())
    assert result.delta == 0.0
    assert result.ci_low <= 0.0 <= result.ci_high
    assert result.p_value == 1.0
    assert not result.significant and not result.improved


def test_clearly_better_system_is_significant():
    a = _scores(2)
    b = a + 1.0 + np.random.default_rng(3).normal(0.0, 0.5, a.size)
    result = paired_bootstrap(a, b, resamples=1000)
    assert result.delta == pytest.approx(float(b.mean() - a.mean()))
    assert 0.85 < result.delta < 1.15
    assert result.ci_low > 0.0 and result.ci_high > result.ci_low
    assert result.relative_delta == pytest.approx(result.delta / abs(result.mean_a))
    assert result.p_value == pytest.approx(1 / 1001)
    assert result.significant and result.improved


def test_loss_direction_flips_the_p_value():
    a = _scores(4)
    lower = a - 0.5
    as_loss = paired_bootstrap(a, lower, higher_is_better=False)
    as_score = paired_bootstrap(a, lower, higher_is_better=True)
    assert as_loss.significant and as_loss.improved
    assert as_loss.p_value < 0.01
    assert not as_score.significant and not as_score.improved
    assert as_score.p_value == 1.0
    assert as_loss.ci_high < 0.0


def test_two_sided_p_doubles_the_smaller_tail():
    a = _scores(5)
    b = a + np.random.default_rng(6).normal(0.1, 1.0, a.size)
    one = paired_bootstrap(a, b, seed=7)
    two = paired_bootstrap(a, b, seed=7, two_sided=True)
    assert two.p_value == pytest.approx(min(1.0, 2 * min(one.p_value, 1 - one.p_value + 2 / 2001)))


def test_same_seed_same_result_other_seed_other_interval():
    a, b = _scores(8), _scores(9)
    first = paired_bootstrap(a, b, seed=11)
    assert paired_bootstrap(a, b, seed=11) == first
    other = paired_bootstrap(a, b, seed=12)
    assert (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)
    assert other.delta == first.delta


def test_zero_baseline_has_no_relative_delta():
    result = paired_bootstrap([0.0, 0.0, 0.0], [1.0, 0.0, 1.0], resamples=200)
    assert result.relative_delta is None
    assert result.delta == pytest.approx(2 / 3)


def test_large_inputs_are_resampled_in_chunks_deterministically():
    a = _scores(13, size=5000)
    b = a + 0.01
    first = paired_bootstrap(a, b, resamples=2000)
    assert first == paired_bootstrap(a, b, resamples=2000)
    assert first.ci_low == pytest.approx(0.01) and first.ci_high == pytest.approx(0.01)


def test_mean_ci_matches_the_binomial_standard_error():
    scores = [1.0] * 200 + [0.0] * 200
    mean, low, high = mean_ci(scores, resamples=4000)
    half_width = 1.96 * 0.5 / 20  # normal approximation: 1.96 * sqrt(p(1-p)/n)
    assert mean == 0.5
    assert low == pytest.approx(0.5 - half_width, abs=0.01)
    assert high == pytest.approx(0.5 + half_width, abs=0.01)
    assert mean_ci([0.3] * 10) == pytest.approx((0.3, 0.3, 0.3))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"a": [1.0, 2.0], "b": [1.0]}, "`a` has 2 scores and `b` 1"),
        ({"a": [], "b": []}, "`a` must be a non-empty"),
        ({"a": [1.0, float("nan")], "b": [1.0, 2.0]}, "`a` holds NaN"),
        ({"a": [1.0], "b": [1.0], "confidence": 1.0}, "`confidence`"),
        ({"a": [1.0], "b": [1.0], "resamples": 0}, "`resamples`"),
    ],
)
def test_bad_inputs_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        paired_bootstrap(**kwargs)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_metric_bars_writes_a_png_panel_per_metric(tmp_path):
    rows = []
    for system, shift in (("base", 0.0), ("candidate", 0.1), ("champion", 0.05)):
        for metric in ("exact_match", "edit_similarity", "loss"):
            mean, low, high = mean_ci(_scores(14)[:50] / 10 + shift, resamples=200)
            rows.append(
                {"metric": metric, "system": system, "mean": mean, "low": low, "high": high}
            )
    path = metric_bars(rows[:-1], tmp_path / "plots" / "metrics.png")
    data = path.read_bytes()
    assert path == tmp_path / "plots" / "metrics.png"
    assert _png_size(data) == (960, 280)
    assert len(data) > 5000
    with pytest.raises(ValueError, match="`rows`"):
        metric_bars([], tmp_path / "empty.png")


def test_loss_curves_writes_a_png(tmp_path):
    history = {
        "train": [(step, 3.0 / (1 + step / 20)) for step in range(0, 200, 5)],
        "eval": [(50, 2.1), (0, 3.1), (150, 1.6), (100, 1.8)],
    }
    path = loss_curves(history, tmp_path / "loss.png")
    data = path.read_bytes()
    assert _png_size(data) == (640, 400)
    assert len(data) > 5000
    with pytest.raises(ValueError, match="`history`"):
        loss_curves({"train": []}, tmp_path / "none.png")
