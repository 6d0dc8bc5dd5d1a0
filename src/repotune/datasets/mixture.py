"""The training mixture and the held-out rows of the task datasets: what is trained on, and what
each task is evaluated on."""

from __future__ import annotations

from collections.abc import Callable

from repotune.datasets.store import DatasetRef
from repotune.records import Sample


def mixture_ids(
    samples: list[Sample],
    weights: dict[str, float],
    cap: int | None = None,
    pick: Callable[[list[Sample], int], list[Sample]] | None = None,
) -> set[str]:
    """Training samples picked so each task's share is at most its normalised weight.

    The target size is every available training sample, or ``cap`` when that is fewer; a task
    gets ``weight x target`` of it, or all it has when that is fewer (no task is repeated). A task
    with more than its quota gives ``pick(rows in id order, quota)``, by default the first ones.
    """
    train = [s for s in samples if s.split == "train" and weights.get(s.task, 0) > 0]
    target = min(len(train), cap) if cap else len(train)
    total = sum(weights.get(task, 0) for task in {s.task for s in train}) or 1.0
    by_task: dict[str, list[Sample]] = {}
    for sample in sorted(train, key=lambda s: s.id):
        by_task.setdefault(sample.task, []).append(sample)
    picked = set()
    for task, rows in by_task.items():
        quota = max(1, round(target * weights[task] / total))
        chosen = pick(rows, quota) if pick and quota < len(rows) else rows[:quota]
        picked.update(sample.id for sample in chosen)
    return picked


def mixture_rows(tasks_ref: DatasetRef) -> list[dict[str, str]]:
    """The training mixture as ``{id, prompt, completion, path, task}`` rows."""
    return [
        {key: row[key] for key in ("id", "prompt", "completion", "path", "task")}
        for row in tasks_ref.read("samples")
        if row["in_mixture"]
    ]


def held_out_rows(tasks_ref: DatasetRef, task: str) -> list[dict[str, str]]:
    """One task's held-out samples as ``{id, prompt, completion, path}`` rows."""
    return [
        {key: row[key] for key in ("id", "prompt", "completion", "path")}
        for row in tasks_ref.read("samples")
        if row["task"] == task and row["split"] == "test"
    ]
