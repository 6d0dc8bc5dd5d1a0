"""Dataset build throughput: every task dataset of the CPython stdlib, end to end, and the GX share.

    .venv/bin/python benchmarks/dataset_build_throughput.py [--max-files N]

The stdlib is committed to a temporary git repository and extracted once (not timed: that is the
extraction benchmark). Timed: building the task datasets (samples of every task, static
annotation, dedup and decontamination, mixture, Parquet) and running the Great Expectations gates
on them, as the pipeline does. Goal: 100k samples in under 10 minutes on this machine; the table
shows each step's share. Augmentation is checked by parsing only: running the stdlib's own tests
per variant is what `augment.max_verified_units` bounds in a real run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from extraction_vs_ast import build_repo  # noqa: E402

from repotune.config import (  # noqa: E402
    AugmentConfig,
    DatasetConfig,
    DedupConfig,
    GateConfig,
    HistoryConfig,
    SourceConfig,
    TasksConfig,
)
from repotune.datasets import task_datasets  # noqa: E402
from repotune.datasets.build import build_completion_dataset  # noqa: E402
from repotune.datasets.changes import build_changes_dataset  # noqa: E402
from repotune.datasets.units import build_units_dataset  # noqa: E402
from repotune.quality.task_gate import run_task_gates  # noqa: E402
from repotune.sources.git import resolve_snapshot  # noqa: E402
from repotune.workspace import Workspace  # noqa: E402

GOAL_S = 600
MIXTURE = {
    "completion": 0.3,
    "fim": 0.2,
    "naming": 0.1,
    "docstring": 0.1,
    "instruction": 0.1,
    "repair": 0.2,
}


def timed_calls(module, name: str, totals: dict[str, float]) -> None:
    """Accumulate the wall time of ``module.name`` into ``totals[name]``."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - start

    setattr(module, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-files", type=int, default=100_000, help="Cap on stdlib files.")
    args = parser.parse_args()
    totals: dict[str, float] = {}
    timed_calls(task_datasets, "annotate_units", totals)
    timed_calls(task_datasets, "deduplicated", totals)
    timed_calls(task_datasets, "augmented_samples", totals)
    with tempfile.TemporaryDirectory(prefix="repotune-bench-") as tmp:
        root = Path(tmp) / "stdlib"
        build_repo(root, args.max_files)
        ws = Workspace.at(Path(tmp) / "ws")
        snapshots = [resolve_snapshot(str(root))]
        source = SourceConfig(max_file_bytes=10**9)
        dataset = DatasetConfig(holdout_commits=0)
        units = build_units_dataset(snapshots, source, ws)
        changes = build_changes_dataset(snapshots, source, HistoryConfig(), ws)
        completion = build_completion_dataset(units, dataset, ws)

        start = time.perf_counter()
        tasks = task_datasets.build_task_datasets(
            units,
            changes,
            completion,
            TasksConfig(mixture=MIXTURE),
            dataset,
            DedupConfig(),
            AugmentConfig(verify_with_tests=False),
            ws,
        )
        built = time.perf_counter() - start
        samples = tasks.read_pandas("samples")
        start = time.perf_counter()
        gates = run_task_gates(
            samples,
            GateConfig(),
            dataset,
            ws.reports_dir,
            tasks.fingerprint,
            tasks.manifest["dedup"]["near_duplicate_ratio"],
            None,
            tasks.manifest["categories"],
        )
        gated = time.perf_counter() - start
        n_units = units.manifest["units"]
    total = built + gated
    rows = [
        ("annotate (static, ruff)", totals["annotate_units"]),
        ("augment (parse-checked)", totals["augmented_samples"]),
        ("dedup + decontamination", totals["deduplicated"]),
        ("samples, mixture, Parquet", built - sum(totals.values())),
        ("Great Expectations gates", gated),
    ]
    print(
        f"\nTask datasets of the CPython stdlib: {len(samples):,} samples from "
        f"{n_units:,} units (augmentation checked by parsing: stdlib tests are not run)\n"
    )
    print(f"| {'step':<28} | {'seconds':>8} | {'share':>6} |")
    print(f"|{'-' * 30}|{'-' * 10}|{'-' * 8}|")
    for name, seconds in rows:
        print(f"| {name:<28} | {seconds:>8.1f} | {seconds / total:>5.0%} |")
    print(f"| {'total':<28} | {total:>8.1f} | {1:>5.0%} |")
    per_100k = total * 100_000 / max(len(samples), 1)
    verdict = "met" if per_100k <= GOAL_S else "NOT met"
    print(
        f"\nGoal: 100k samples in <= {GOAL_S} s -> {per_100k:.0f} s per 100k samples, {verdict}"
        f" (gates {'passed' if gates.passed else 'failed: ' + '; '.join(gates.failed)})"
    )


if __name__ == "__main__":
    main()
