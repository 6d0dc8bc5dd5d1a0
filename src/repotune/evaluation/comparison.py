"""Base vs candidate vs champion on the same test rows: intervals, paired tests, one table.

Every system is scored on the same rows, so differences are paired: a paired bootstrap over
per-sample scores gives the interval of the candidate's difference from the base and from the
champion, and a one-sided p-value that the candidate is better. A metric's interval is the
bootstrap interval of its per-sample mean; for ``eval_loss`` the value shown is the pooled
per-token loss (what training reports) and the interval is that of the per-sample mean loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from repotune.config import LOWER_IS_BETTER
from repotune.evaluation.bootstrap import mean_ci, paired_bootstrap
from repotune.evaluation.generation import EvalResult
from repotune.evaluation.plots import MetricRow

SYSTEMS = ("base", "candidate", "champion")


def _paired(reference: list[float], candidate: list[float], metric: str, resamples: int):
    if len(reference) != len(candidate) or len(candidate) < 2:
        return None
    test = paired_bootstrap(
        reference, candidate, resamples=resamples, higher_is_better=metric not in LOWER_IS_BETTER
    )
    return {
        "delta": test.delta,
        "low": test.ci_low,
        "high": test.ci_high,
        "p_value": test.p_value,
    }


def comparison_rows(
    results: Mapping[str, EvalResult | None], resamples: int = 2000
) -> list[dict[str, Any]]:
    """One row per candidate metric: each system's ``{mean, low, high}`` (``None`` when that
    system was not evaluated) and the candidate's paired differences ``vs_base``/``vs_champion``.
    """
    candidate = results["candidate"]
    if candidate is None:
        raise ValueError("`results` needs a `candidate` evaluation")
    rows = []
    for metric in candidate.metrics:
        row: dict[str, Any] = {"metric": metric}
        for system in SYSTEMS:
            result = results.get(system)
            if result is None or metric not in result.metrics:
                row[system] = None
                continue
            scores = result.per_sample.get(metric)
            if scores and len(scores) > 1:
                _, low, high = mean_ci(scores, resamples=resamples)
                row[system] = {"mean": result.metrics[metric], "low": low, "high": high}
            else:
                row[system] = {"mean": result.metrics[metric]}
        for system in ("base", "champion"):
            other = results.get(system)
            own = candidate.per_sample.get(metric)
            theirs = other.per_sample.get(metric) if other else None
            row[f"vs_{system}"] = (
                _paired(theirs, own, metric, resamples) if own and theirs else None
            )
        rows.append(row)
    return rows


def plot_rows(rows: list[dict[str, Any]]) -> list[MetricRow]:
    """The rows as bars for :func:`~repotune.evaluation.plots.metric_bars` (with intervals)."""
    bars: list[MetricRow] = []
    for row in rows:
        for system in SYSTEMS:
            value = row.get(system)
            if value is None:
                continue
            mean = value["mean"]
            low, high = value.get("low", mean), value.get("high", mean)
            bars.append(
                MetricRow(metric=row["metric"], system=system, mean=mean, low=low, high=high)
            )
    return bars


def _cell(value: dict[str, float] | None) -> str:
    if value is None:
        return "—"
    if "low" not in value:
        return f"{value['mean']:.4g}"
    return f"{value['mean']:.4g} [{value['low']:.4g}, {value['high']:.4g}]"


def _delta(value: dict[str, float] | None) -> str:
    if value is None:
        return "—"
    interval = f"[{value['low']:+.4g}, {value['high']:+.4g}]"
    return f"{value['delta']:+.4g} {interval} p={value['p_value']:.3g}"


def table_rows(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The comparison as flat string rows (a Prefect table artifact)."""
    return [
        {
            "metric": row["metric"],
            "base": _cell(row["base"]),
            "candidate": _cell(row["candidate"]),
            "champion": _cell(row["champion"]),
            "candidate - base": _delta(row["vs_base"]),
            "candidate - champion": _delta(row["vs_champion"]),
        }
        for row in rows
    ]
