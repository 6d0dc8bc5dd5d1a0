"""Parallel extraction: the extraction flow on the CPython stdlib, in-process vs the process pool.

    .venv/bin/python benchmarks/parallel_extraction.py [--workers N]

Both runs go through the real `extract-code-units` Prefect flow (Prefect's ephemeral API, an empty
workspace each, so nothing is cached): once with every batch parsed in the flow's process, once on
`ProcessPoolTaskRunner`. The ratio says whether `parallel.min_parallel_bytes` (below which a job
stays in-process) is set right for this machine: the pool has to pay for starting interpreters.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
_STATE = tempfile.mkdtemp(prefix="repotune-bench-prefect-")
os.environ.setdefault("PREFECT_HOME", _STATE)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from extraction_vs_ast import build_repo  # noqa: E402

from repotune.config import ParallelConfig, SourceConfig  # noqa: E402
from repotune.runtime_env import apply_runtime_env  # noqa: E402
from repotune.sources.git import resolve_snapshot  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="Pool size.")
    args = parser.parse_args()
    apply_runtime_env()
    from repotune.flows.extraction import extract_code_units

    with tempfile.TemporaryDirectory(prefix="repotune-bench-") as tmp:
        root = Path(tmp) / "stdlib"
        paths = build_repo(root, 100_000)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        snapshots = [resolve_snapshot(str(root))]
        source = SourceConfig(max_file_bytes=10**9)
        extract_code_units(snapshots, source, ParallelConfig(), str(Path(tmp) / "warm-up"))
        runs = {
            "in-process": ParallelConfig(workers=args.workers, min_parallel_bytes=10**12),
            f"process pool ({args.workers})": ParallelConfig(
                workers=args.workers, min_parallel_bytes=0
            ),
        }
        seconds = {}
        for name, parallel in runs.items():
            start = time.perf_counter()
            ref, cached = extract_code_units(snapshots, source, parallel, str(Path(tmp) / name))
            seconds[name] = time.perf_counter() - start
            assert not cached and ref.manifest["units"] > 0
    base = seconds["in-process"]
    print(f"\nExtraction flow on the CPython stdlib: {len(paths)} files, {megabytes:.1f} MB\n")
    print(f"| {'task runner':<22} | {'seconds':>8} | {'vs in-process':>13} |")
    print(f"|{'-' * 24}|{'-' * 10}|{'-' * 15}|")
    for name, value in seconds.items():
        print(f"| {name:<22} | {value:>8.2f} | {value / base:>12.2f}x |")
    print(
        f"\nThe pool parses {megabytes:.0f} MB; `parallel.min_parallel_bytes` defaults to "
        f"{ParallelConfig().min_parallel_bytes / 1e6:.0f} MB."
    )


if __name__ == "__main__":
    main()
