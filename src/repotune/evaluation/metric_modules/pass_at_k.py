"""pass@k: the chance that at least one of k samples passes the unit's tests (unbiased estimator).

An ``evaluate`` module loaded offline from this file by ``repotune.evaluation.local_metrics``;
the estimator is ``repotune.evaluation.pass_at_k.pass_at_k`` (Chen et al., 2021).
"""

import datasets
import evaluate

from repotune.evaluation.metrics import summarize_scores
from repotune.evaluation.pass_at_k import pass_at_k

PASSED = "passed"
_DESCRIPTION = __doc__
_INPUTS = """
Args:
    predictions: one entry per problem, either its samples' verdict strings from the sandbox
        (`passed`, `failed`, `timeout`, `error:<type>`; only `passed` counts) or a pair
        `[n, c]`: n samples, c of them correct.
    k (int | list[int]): the k values besides 1 (default: only 1); each needs k <= n for every
        problem.
    return_per_item (bool): also return `pass_at_<k>_per_item`, one estimate per problem.
Returns:
    pass_at_<k> (float): mean over problems of 1 - C(n - c, k) / C(n, k), for k = 1 and each k
        asked for (named with `_at_`, as MLflow metric names may not contain `@`).
"""


def _counts(problem: list) -> tuple[int, int]:
    """(n, c) of one problem, from its verdicts or from an ``[n, c]`` pair."""
    if problem and isinstance(problem[0], str):
        return len(problem), sum(verdict == PASSED for verdict in problem)
    if len(problem) != 2:
        raise ValueError(
            "each entry of `predictions` must be a list of verdict strings or a pair [n, c]"
            f" (got {problem})"
        )
    return int(problem[0]), int(problem[1])


class PassAtK(evaluate.Metric):
    """Unbiased pass@k over problems, from verdicts or from (n, c) counts."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Chen et al., Evaluating Large Language Models Trained on Code, 2021",
            inputs_description=_INPUTS,
            features=[
                datasets.Features({"predictions": datasets.Sequence(datasets.Value("string"))}),
                datasets.Features({"predictions": datasets.Sequence(datasets.Value("int64"))}),
            ],
        )

    def _compute(
        self, predictions: list[list], k: int | list[int] = 1, return_per_item: bool = False
    ) -> dict[str, object]:
        counts = [_counts(problem) for problem in predictions]
        result: dict[str, object] = {}
        for size in sorted({1, *([k] if isinstance(k, int) else k)}):
            scores = [pass_at_k(n, c, size) for n, c in counts]
            result.update(summarize_scores(f"pass_at_{size}", scores, per_item=return_per_item))
        return result
