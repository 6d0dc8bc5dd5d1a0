"""Syntax-valid rate: the completed function (prompt + generated body) is valid Python.

An ``evaluate`` module loaded offline from this file by ``repotune.evaluation.local_metrics``;
the definition is ``repotune.evaluation.metrics.syntax_valid_scores``.
"""

import datasets
import evaluate

from repotune.evaluation.metrics import summarize_scores, syntax_valid_scores

_DESCRIPTION = __doc__
_INPUTS = """
Args:
    predictions (list[str]): generated bodies, one string per item.
    prompts (list[str]): the prompts they complete (signature and docstring; an indented prompt
        is a method and is parsed inside a class).
    return_per_item (bool): also return `syntax_valid_rate_per_item`, one 0/1 score per item.
Returns:
    syntax_valid_rate (float): share of items where prompt + body parses; a blank body counts as
        invalid (the prompt alone parses, which would reward generating nothing).
"""


class SyntaxValidRate(evaluate.Metric):
    """Share of completed functions that parse."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "prompts": datasets.Value("string")}
            ),
        )

    def _compute(
        self, predictions: list[str], prompts: list[str], return_per_item: bool = False
    ) -> dict[str, object]:
        scores = syntax_valid_scores(prompts, predictions)
        return summarize_scores("syntax_valid_rate", scores, per_item=return_per_item)
