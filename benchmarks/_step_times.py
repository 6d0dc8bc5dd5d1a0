"""A trainer callback that records how long each optimizer step takes, in any process.

The training loop's total time mixes steps with evaluations, checkpoints and whatever else ran
on the machine meanwhile; the median step separates a steady slowdown from occasional stalls.
Ray workers unpickle the callback and write to the same file (a local Ray shares the disk).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from transformers import TrainerCallback


class StepTimes(TrainerCallback):
    """Appends each step's seconds (step begin to step end: no evaluation, no save) to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._began = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._began = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{time.perf_counter() - self._began:.6f}\n")


def step_stats(path: Path) -> dict[str, float]:
    """Median and mean step seconds recorded in ``path``."""
    steps = [float(line) for line in Path(path).read_text().split()]
    return {"step_median": statistics.median(steps), "step_mean": statistics.mean(steps)}
