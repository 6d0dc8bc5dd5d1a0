"""Edit similarity: partial credit for a near miss, from the Levenshtein distance.

An ``evaluate`` module loaded offline from this file by ``repotune.evaluation.local_metrics``;
the definition is ``repotune.evaluation.metrics.edit_similarity_scores``.
"""

import datasets
import evaluate

from repotune.evaluation.metrics import edit_similarity_scores, summarize_scores

_DESCRIPTION = __doc__
_INPUTS = """
Args:
    predictions (list[str]): generated code, one string per item.
    references (list[str]): the repository's code for the same items.
    return_per_item (bool): also return `edit_similarity_per_item`, one score per item (for a
        paired bootstrap between two models on the same items).
Returns:
    edit_similarity (float): mean of 1 - levenshtein(prediction, reference) / max(len), on
        whitespace-normalized code (1.0 for two empty strings).
"""


class EditSimilarity(evaluate.Metric):
    """Mean character-level similarity in [0, 1] after ``normalize_code``."""

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
        scores = edit_similarity_scores(predictions, references)
        return summarize_scores("edit_similarity", scores, per_item=return_per_item)
