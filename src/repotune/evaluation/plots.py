"""PNG plots of an evaluation: per-metric bars with intervals, and loss curves.

Figures are drawn with matplotlib's object API on the Agg canvas (``Figure.savefig``), never
through ``pyplot``: no display is needed, no global figure state is kept, and plotting from a
worker thread is safe. Each function writes one file and returns its path, ready to log to MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypedDict

from matplotlib.figure import Figure

_PANEL_COLUMNS = 4
_DPI = 100


class MetricRow(TypedDict):
    """One system's value of one metric, with its interval (``low``/``high``, e.g. ``mean_ci``)."""

    metric: str
    system: str
    mean: float
    low: float
    high: float


def _save(figure: Figure, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png", dpi=_DPI)
    return target


def metric_bars(rows: Sequence[MetricRow], path: str | Path) -> Path:
    """One panel per metric, one bar per system (base / candidate / champion...) with its interval.

    A panel per metric, not one shared axis: a loss near 2, rates in [0, 1] and findings per 100
    lines would squash each other on a common scale. Systems keep the order of their first row; a
    system without a row for a metric has no bar there. Error bars go from ``low`` to ``high``,
    clipped at the bar's top (a percentile interval can miss its own mean on tiny samples).
    """
    if not rows:
        raise ValueError("`rows` is empty: give at least one {metric, system, mean, low, high} row")
    metrics = list(dict.fromkeys(row["metric"] for row in rows))
    systems = list(dict.fromkeys(row["system"] for row in rows))
    values = {(row["metric"], row["system"]): row for row in rows}
    columns = min(_PANEL_COLUMNS, len(metrics))
    lines = math.ceil(len(metrics) / columns)
    figure = Figure(figsize=(3.2 * columns, 2.8 * lines), layout="constrained")
    axes = figure.subplots(lines, columns, squeeze=False).ravel()
    colors = [f"C{i % 10}" for i in range(len(systems))]
    for panel, metric in zip(axes, metrics, strict=False):
        present = [(i, values[metric, s]) for i, s in enumerate(systems) if (metric, s) in values]
        means = [row["mean"] for _, row in present]
        below = [max(0.0, row["mean"] - row["low"]) for _, row in present]
        above = [max(0.0, row["high"] - row["mean"]) for _, row in present]
        positions = [i for i, _ in present]
        panel.bar(positions, means, color=[colors[i] for i in positions], yerr=[below, above])
        panel.set_xticks(range(len(systems)), systems, rotation=20)
        panel.set_title(metric)
    for panel in axes[len(metrics) :]:
        panel.set_visible(False)
    return _save(figure, path)


def loss_curves(history: Mapping[str, Sequence[tuple[int, float]]], path: str | Path) -> Path:
    """Loss against step, one line per series (``{"train": [(step, loss), ...], "eval": ...}``)."""
    if not any(history.values()):
        raise ValueError("`history` has no points: give {series: [(step, loss), ...]}")
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    for name, points in history.items():
        if points:
            steps, losses = zip(*sorted(points), strict=True)
            axes.plot(steps, losses, marker="o", markersize=3, label=name)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)
