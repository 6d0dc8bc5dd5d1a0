"""Exact match: generated code equal to the repository's, up to trailing whitespace.

An ``evaluate`` module loaded offline from this file by ``repotune.evaluation.local_metrics``;
the definition is ``repotune.evaluation.metrics.exact_match_scores``.
"""

import datasets
import evaluate

from repotune.evaluation.metrics import exact_match_scores, summarize_scores

_DESCRIPTION = __doc__
_INPUTS = """
Args:
    predictions (list[str]): generated code, one string per item.
    references (list[str]): the repository's code for the same items.
    return_per_item (bool): also return `exact_match_per_item`, one score per item (for a
        paired bootstrap between two models on the same items).
Returns:
    exact_match (float): share of predictions equal to their reference once trailing whitespace
        on every line and trailing newlines are dropped.
"""


class ExactMatch(evaluate.Metric):
    """Share of predictions equal to their reference after ``normalize_code``."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(
        self, predictions: list[str], references: list[str], return_per_item: bool = False
    ) -> dict[str, object]:
        scores = exact_match_scores(predictions, references)
        return summarize_scores("exact_match", scores, per_item=return_per_item)
