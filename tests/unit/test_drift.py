"""Population stability index between dataset versions, and the gate that reads it."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from repotune.quality.drift import categorical_psi, dataset_drift, numeric_psi


def test_the_same_population_does_not_drift_and_a_shifted_one_does():
    rng = random.Random(0)
    before = [rng.gauss(200, 40) for _ in range(4000)]
    same = [rng.gauss(200, 40) for _ in range(4000)]
    longer = [rng.gauss(320, 40) for _ in range(4000)]
    assert numeric_psi(before, same) < 0.05
    assert numeric_psi(before, longer) > 1.0


def test_a_category_that_appears_counts_and_equal_mixes_do_not():
    assert categorical_psi(["a", "b"] * 50, ["b", "a"] * 50) == pytest.approx(0.0)
    assert categorical_psi(["a"] * 100, ["a"] * 70 + ["b"] * 30) > 0.25


def test_dataset_drift_watches_lengths_and_the_task_mix():
    before = pd.DataFrame(
        {"prompt": ["x" * 50] * 150 + ["x" * 80] * 150, "completion": ["y" * 20] * 300,
         "task": ["completion"] * 300}
    )  # fmt: skip
    after = before.assign(task=["completion"] * 150 + ["fim"] * 150)
    assert dataset_drift(before.head(50), after) == {}  # too small to judge
    drift = dataset_drift(before, after)
    assert drift["prompt_length"] == pytest.approx(0.0) and drift["completion_length"] == 0.0
    assert drift["task_mix"] > 0.25


def test_the_task_gate_fails_on_drift(tmp_path):
    from repotune.config import DatasetConfig, GateConfig
    from repotune.quality.task_gate import run_task_gates
    from repotune.records import Sample

    rows = [
        {**Sample("naming", "def ___(x):\n", "f", "s", f"n{n}.py", s).to_dict(), "id": f"n{n}"}
        for n, s in enumerate(["train", "test"])
    ]
    gate = GateConfig(max_drift_psi=0.25)
    args = (pd.DataFrame(rows), gate, DatasetConfig(), tmp_path, "d", 0.0)
    assert run_task_gates(*args, {"task_mix": 0.1}).passed
    drifted = run_task_gates(*args, {"task_mix": 0.9, "prompt_length": 0.01})
    assert drifted.failed == [
        "all: drift from the previous version: PSI <= 0.25 on `psi` (1 of 2 rows unexpected)"
    ]
    assert "task_mix" in drifted.report_markdown
