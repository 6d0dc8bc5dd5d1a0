"""The local ``evaluate`` modules: loaded offline, with values computed by hand."""

from __future__ import annotations

import math
import os
import socket

import pytest

from repotune.errors import RepotuneError
from repotune.evaluation.local_metrics import METRIC_NAMES, load_metric, metric_path
from repotune.evaluation.style import findings_per_100_lines, lint_findings

CLEAN = "def double(x):\n    return 2 * x\n"
MESSY = "def answer():\n    import os\n    import sys\n    return 42\n"


def _no_network(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args}")


@pytest.fixture(scope="module")
def metrics():
    """Every metric loaded once, from a cold cache, with any socket connection failing."""
    load_metric.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _no_network)
        patch.setattr(socket, "create_connection", _no_network)
        loaded = {name: load_metric(name) for name in METRIC_NAMES}
    return loaded


def test_every_metric_loads_offline_under_its_own_name(metrics):
    assert set(metrics) == set(METRIC_NAMES)
    for name, module in metrics.items():
        assert module.name == name
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["HF_EVALUATE_OFFLINE"] == "1"
    assert load_metric("exact_match") is metrics["exact_match"]


def test_unknown_metric_names_itself_and_the_choices():
    with pytest.raises(RepotuneError, match="`accuracy`") as error:
        metric_path("accuracy")
    assert "exact_match" in str(error.value) and "pass_at_k" in str(error.value)


def test_exact_match_two_of_four(metrics):
    result = metrics["exact_match"].compute(
        predictions=["    return a\n", "    return b", "x = 1   \n\n", "y"],
        references=["    return a", "  return b", "x = 1", "z"],
        return_per_item=True,
    )
    assert result == {"exact_match": 0.5, "exact_match_per_item": [1.0, 0.0, 1.0, 0.0]}


def test_edit_similarity_gives_partial_credit(metrics):
    result = metrics["edit_similarity"].compute(
        predictions=["abcd", "same"], references=["abce", "same\n"]
    )
    assert result["edit_similarity"] == pytest.approx((0.75 + 1.0) / 2)


def test_next_line_accuracy_compares_first_nonblank_lines(metrics):
    result = metrics["next_line_accuracy"].compute(
        predictions=["\n  total = 0\n  wrong()\n", "total = 1\n", "", "return x"],
        references=["    total = 0\n    for x in xs:\n", "total = 0\n", "", "return  x"],
        return_per_item=True,
    )
    assert result["next_line_accuracy_per_item"] == [1.0, 0.0, 1.0, 0.0]
    assert result["next_line_accuracy"] == 0.5


def test_fim_exact_match_ignores_seam_whitespace_not_inner_indentation(metrics):
    result = metrics["fim_exact_match"].compute(
        predictions=["x + 1   \n\n", "    if a:\n        b()\n", "if a:\nb()"],
        references=[" x + 1", "if a:\n        b()", "if a:\n    b()"],
        return_per_item=True,
    )
    assert result["fim_exact_match_per_item"] == [1.0, 1.0, 0.0]


def test_syntax_valid_rate_on_prompt_plus_body(metrics):
    prompt = 'def add(a, b):\n    """Add."""\n'
    result = metrics["syntax_valid_rate"].compute(
        predictions=["    return a + b\n", "    return (a +\n", "   \n", "        return 1\n"],
        prompts=[prompt, prompt, prompt, "    def add(self):\n"],
    )
    assert result["syntax_valid_rate"] == 0.5


def test_unused_imports_raise_the_findings_rate():
    findings, lines = lint_findings([CLEAN, MESSY, "def tail():\n    return 1"])
    assert findings == [0, 2, 0]
    assert lines == [2, 4, 2]
    assert findings_per_100_lines([CLEAN]) == 0.0
    assert findings_per_100_lines([CLEAN, MESSY]) == pytest.approx(100 * 2 / 6)


def test_style_consistency_against_the_repository_rate(metrics):
    module = metrics["style_consistency"]
    messy = module.compute(predictions=[CLEAN, MESSY], reference_per_100_lines=5.0)
    assert messy["findings_per_100_lines"] == pytest.approx(100 * 2 / 6)
    assert messy["reference_per_100_lines"] == 5.0
    assert messy["style_consistency"] == pytest.approx(6.0 / (100 * 2 / 6 + 1))
    clean = module.compute(predictions=[CLEAN], reference_per_100_lines=5.0)
    assert clean["style_consistency"] == 1.0
    with pytest.raises(ValueError, match="`reference_per_100_lines`"):
        module.compute(predictions=[CLEAN])
    again = module.compute(predictions=[MESSY], reference_per_100_lines=0.0)
    assert again["style_consistency"] == pytest.approx(1.0 / 51.0)


def _combinatorial(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def test_pass_at_k_from_counts_is_the_combinatorial_estimator(metrics):
    counts = [[10, 3], [10, 0], [10, 10], [7, 1]]
    result = metrics["pass_at_k"].compute(predictions=counts, k=[5], return_per_item=True)
    for k in (1, 5):
        expected = [_combinatorial(n, c, k) for n, c in counts]
        assert result[f"pass_at_{k}_per_item"] == pytest.approx(expected)
        assert result[f"pass_at_{k}"] == pytest.approx(sum(expected) / len(expected))
    assert result["pass_at_1"] == pytest.approx((0.3 + 0.0 + 1.0 + 1 / 7) / 4)


def test_pass_at_k_from_verdicts_counts_only_passed(metrics):
    verdicts = [
        ["passed", "failed", "timeout"],
        ["error:ZeroDivisionError", "passed", "passed"],
        ["failed", "failed", "failed"],
    ]
    result = metrics["pass_at_k"].compute(predictions=verdicts, k=2)
    assert result["pass_at_1"] == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert result["pass_at_2"] == pytest.approx((_combinatorial(3, 1, 2) + 1.0 + 0.0) / 3)
    with pytest.raises(ValueError, match="`k`"):
        metrics["pass_at_k"].compute(predictions=verdicts, k=4)
