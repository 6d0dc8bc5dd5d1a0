"""Style consistency: ruff findings per 100 lines of generated code vs the repository's own rate.

An ``evaluate`` module loaded offline from this file by ``repotune.evaluation.local_metrics``;
the definition (and the score's formula) is in ``repotune.evaluation.style``.
"""

import datasets
import evaluate

from repotune.evaluation.style import findings_per_100_lines, style_consistency

_DESCRIPTION = __doc__
_INPUTS = """
Args:
    predictions (list[str]): complete generated Python sources, one per item (for a body
        completion: the function's header from the prompt plus the generated body).
    reference_per_100_lines (float): the repository's own rate, from
        `repotune.evaluation.style.findings_per_100_lines` over its units' code.
Returns:
    findings_per_100_lines (float): ruff findings per 100 lines over all predictions.
    reference_per_100_lines (float): the rate passed in.
    style_consistency (float): min(1, (reference + 1) / (predictions + 1)), in [0, 1]; 1.0 when
        the predictions lint at most as noisily as the repository.
"""


class StyleConsistency(evaluate.Metric):
    """Ruff findings rate of the predictions, compared with the repository's."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features({"predictions": datasets.Value("string")}),
        )

    def _compute(
        self, predictions: list[str], reference_per_100_lines: float | None = None
    ) -> dict[str, float]:
        if reference_per_100_lines is None:
            raise ValueError(
                "`reference_per_100_lines` is required: pass the repository's own rate, "
                "`repotune.evaluation.style.findings_per_100_lines(<its units' code>)`"
            )
        rate = findings_per_100_lines(predictions)
        return {
            "findings_per_100_lines": rate,
            "reference_per_100_lines": float(reference_per_100_lines),
            "style_consistency": style_consistency(rate, reference_per_100_lines),
        }
