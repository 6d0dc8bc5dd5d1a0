"""Base vs candidate vs champion rows: intervals per system, paired differences per metric."""

from __future__ import annotations

import pytest

from repotune.evaluation.comparison import comparison_rows, plot_rows, table_rows
from repotune.evaluation.generation import EvalResult


def _result(exact: list[float], loss: list[float]) -> EvalResult:
    return EvalResult(
        metrics={"exact_match": sum(exact) / len(exact), "eval_loss": sum(loss) / len(loss)},
        per_sample={"exact_match": exact, "eval_loss": loss},
    )


def test_rows_pair_the_candidate_with_base_and_champion():
    base = _result([0.0] * 30, [2.0 + 0.01 * i for i in range(30)])
    candidate = _result([1.0] * 15 + [0.0] * 15, [1.0 + 0.01 * i for i in range(30)])
    rows = comparison_rows({"base": base, "candidate": candidate, "champion": None}, 500)
    by_metric = {row["metric"]: row for row in rows}
    exact = by_metric["exact_match"]
    assert exact["candidate"]["mean"] == 0.5 and exact["champion"] is None
    assert exact["candidate"]["low"] < 0.5 < exact["candidate"]["high"]
    assert exact["vs_base"]["delta"] == pytest.approx(0.5) and exact["vs_base"]["p_value"] < 0.01
    assert exact["vs_champion"] is None
    loss = by_metric["eval_loss"]["vs_base"]
    assert loss["delta"] == pytest.approx(-1.0) and loss["high"] < 0  # lower loss is better
    assert loss["p_value"] < 0.01
    table = {row["metric"]: row for row in table_rows(rows)}
    assert table["exact_match"]["champion"] == "—"
    assert table["exact_match"]["candidate - base"].startswith("+0.5 [")
    bars = plot_rows(rows)
    assert {(bar["metric"], bar["system"]) for bar in bars} == {
        ("exact_match", "base"),
        ("exact_match", "candidate"),
        ("eval_loss", "base"),
        ("eval_loss", "candidate"),
    }


def test_a_candidate_is_required():
    with pytest.raises(ValueError, match="`candidate`"):
        comparison_rows({"base": _result([1.0], [1.0]), "candidate": None})
