"""Next-line accuracy: the first line the model writes is the one the repository has.

An ``evaluate`` module loaded offline from this file by ``repotune.evaluation.local_metrics``;
the definition is ``repotune.evaluation.metrics.next_line_accuracy_scores``.
"""

import datasets
import evaluate

from repotune.evaluation.metrics import next_line_accuracy_scores, summarize_scores

_DESCRIPTION = __doc__
_INPUTS = """
Args:
    predictions (list[str]): generated continuations, one string per item.
    references (list[str]): the true continuations for the same items.
    return_per_item (bool): also return `next_line_accuracy_per_item`, one score per item (for a
        paired bootstrap between two models on the same items).
Returns:
    next_line_accuracy (float): share of items whose first non-blank predicted line equals the
        reference's first non-blank line, both stripped of leading and trailing whitespace.
"""


class NextLineAccuracy(evaluate.Metric):
    """Share of first non-blank lines equal to the reference's."""

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
        scores = next_line_accuracy_scores(predictions, references)
        return summarize_scores("next_line_accuracy", scores, per_item=return_per_item)
