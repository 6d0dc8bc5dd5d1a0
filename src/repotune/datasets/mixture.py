"""The training mixture and the held-out rows of the task datasets: what is trained on, and what
each task is evaluated on."""

from __future__ import annotations

from collections.abc import Callable

from repotune.datasets.store import DatasetRef
from repotune.records import Sample


def quotas(
    available: dict[str, int], weights: dict[str, float], target: int, floor: int = 1
) -> dict[str, int]:
    """Samples per task: ``target`` shared by normalised weight (largest remainders, so the
    quotas add up to ``target``), each at least ``floor`` and at most what the task has."""
    total = sum(weights[task] for task in available) or 1.0
    raw = {task: target * weights[task] / total for task in sorted(available)}
    share = {task: int(value) for task, value in raw.items()}
    left = target - sum(share.values())
    for task in sorted(raw, key=lambda t: share[t] - raw[t])[:left]:
        share[task] += 1
    return {task: max(floor, min(n, available[task])) for task, n in share.items()}


def mixture_ids(
    samples: list[Sample],
    weights: dict[str, float],
    cap: int | None = None,
    pick: Callable[[list[Sample], int], list[Sample]] | None = None,
) -> set[str]:
    """Training samples picked so each task's share is at most its normalised weight.

    The target size is every available training sample, or ``cap`` when that is fewer; a task
    gets its share of it (:func:`quotas`), or all it has when that is fewer (no task is repeated).
    Uncapped, every weighted task keeps at least one sample; a cap is never exceeded.
    A task with more than its quota gives ``pick(rows in id order, quota)``, by default the first.
    """
    train = [s for s in samples if s.split == "train" and weights.get(s.task, 0) > 0]
    target = min(len(train), cap) if cap else len(train)
    by_task: dict[str, list[Sample]] = {}
    for sample in sorted(train, key=lambda s: s.id):
        by_task.setdefault(sample.task, []).append(sample)
    available = {task: len(rows) for task, rows in by_task.items()}
    shares = quotas(available, weights, target, floor=0 if cap else 1)
    picked = set()
    for task, rows in by_task.items():
        quota = shares[task]
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


def _rows(tasks_ref: DatasetRef, task: str, split: str) -> list[dict[str, str]]:
    return [
        {key: row[key] for key in ("id", "prompt", "completion", "path")}
        for row in tasks_ref.read("samples")
        if row["task"] == task and row["split"] == split
    ]


def held_out_rows(tasks_ref: DatasetRef, task: str) -> list[dict[str, str]]:
    """One task's held-out samples as ``{id, prompt, completion, path}`` rows."""
    return _rows(tasks_ref, task, "test")


def train_rows(tasks_ref: DatasetRef, task: str) -> list[dict[str, str]]:
    """One task's training-split samples as ``{id, prompt, completion, path}`` rows."""
    return _rows(tasks_ref, task, "train")
