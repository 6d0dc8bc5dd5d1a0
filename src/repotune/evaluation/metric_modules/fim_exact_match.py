"""Fill-in-the-middle exact match: the predicted middle is the true middle.

An ``evaluate`` module loaded offline from this file by ``repotune.evaluation.local_metrics``;
the definition is ``repotune.evaluation.metrics.fim_exact_match_scores``.
"""

import datasets
import evaluate

from repotune.evaluation.metrics import fim_exact_match_scores, summarize_scores

_DESCRIPTION = __doc__
_INPUTS = """
Args:
    predictions (list[str]): generated middles, one string per item.
    references (list[str]): the true middles for the same items.
    return_per_item (bool): also return `fim_exact_match_per_item`, one score per item (for a
        paired bootstrap between two models on the same items).
Returns:
    fim_exact_match (float): share of middles equal to the reference after dropping trailing
        whitespace on every line and whitespace at both ends of the span (the seams with prefix
        and suffix); the indentation of later lines counts.
"""


class FimExactMatch(evaluate.Metric):
    """Share of predicted middles equal to the true middle after ``fim_normalize``."""

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
        scores = fim_exact_match_scores(predictions, references)
        return summarize_scores("fim_exact_match", scores, per_item=return_per_item)
