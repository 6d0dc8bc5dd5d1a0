"""Completion metrics on hand-made cases where the right answer is known."""

from __future__ import annotations

import random

import pytest

from repotune.evaluation.metrics import (
    body_indent,
    edit_similarity,
    exact_match,
    levenshtein,
    normalize_code,
    parses,
    syntax_valid_rate,
    truncate_body,
)

FUNC_PROMPT = 'def add(a, b):\n    """Add."""\n'
METHOD_PROMPT = '    def total(self):\n        """Sum of all counts."""\n'


def _naive_levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def test_exact_match_ignores_trailing_whitespace_only():
    refs = ["    return a + b\n", "    return a - b\n", "    x = 1\n    return x\n"]
    preds = ["    return a + b   \n\n\n", "    return a + b\n", "    x = 1\n\n    return x\n"]
    assert exact_match(preds, refs) == pytest.approx(1 / 3)
    assert exact_match(["  return a\n"], ["    return a\n"]) == 0.0


def test_exact_match_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        exact_match(["a", "b"], ["a"])


def test_levenshtein_matches_textbook_dynamic_program():
    rng = random.Random(0)
    for _ in range(300):
        a = "".join(rng.choice("ab \n") for _ in range(rng.randint(0, 90)))
        b = "".join(rng.choice("ab \n") for _ in range(rng.randint(0, 90)))
        assert levenshtein(a, b) == _naive_levenshtein(a, b)
    assert levenshtein("kitten", "sitting") == 3


def test_edit_similarity_gives_partial_credit():
    assert edit_similarity(["    return a + b\n"], ["    return a + b"]) == 1.0
    near = edit_similarity(["    return a + c\n"], ["    return a + b\n"])
    assert near == pytest.approx(1 - 1 / len("    return a + b"))
    far = edit_similarity(["pass"], ["    return a + b\n"])
    assert 0.0 <= far < near < 1.0
    assert edit_similarity([""], [""]) == 1.0


def test_syntax_valid_rate_on_functions_and_methods():
    prompts = [FUNC_PROMPT, FUNC_PROMPT, METHOD_PROMPT, FUNC_PROMPT]
    bodies = [
        "    return a + b\n",
        "    return a +\n",
        "        return sum(self.counts.values())\n",
        "",
    ]
    assert syntax_valid_rate(prompts, bodies) == pytest.approx(2 / 4)
    assert parses(METHOD_PROMPT, '        text = """\nflush left\n"""\n        return text\n')
    assert not parses(METHOD_PROMPT, "      return 1\n")


def test_body_indent_from_docstring_or_def_line():
    assert body_indent(FUNC_PROMPT) == "    "
    assert body_indent(METHOD_PROMPT) == "        "
    assert body_indent("    def f(self):\n") == "        "


def test_truncate_body_stops_at_dedent_and_eos():
    generated = "    x = 1\n\n    return x\n\ndef next_function():\n    pass\n"
    assert truncate_body(generated, "    ") == "    x = 1\n\n    return x\n"
    assert truncate_body("    return 1\n<|eos|>    junk\n", "    ") == "    return 1\n"
    method = "        return 1\n    def other(self):\n"
    assert truncate_body(method, "        ") == "        return 1\n"
    assert truncate_body("def f():\n", "    ") == ""
    assert truncate_body("    return a +", "    ") == "    return a +\n"


def test_normalize_code_keeps_inner_blank_lines_and_indentation():
    assert normalize_code("  a  \n\n  b\t\n\n") == "  a\n\n  b"
