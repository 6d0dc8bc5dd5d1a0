"""Extraction speed: repotune's extractor vs a bare ``ast.parse`` loop over the same files.

    .venv/bin/python benchmarks/extraction_vs_ast.py [--max-files N] [--repeat R]

The corpus is the CPython standard library of the running interpreter, committed into a temporary
git repository (repotune reads blobs from git, as in a real run). The bare loop reads the same
files from disk and only parses them: it is the floor that any AST-based extractor pays. Goal:
repotune ≤ 1.5× the bare loop.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from repotune.config import SourceConfig
from repotune.modeling.corpus import stdlib_root
from repotune.parsing.extract import extract_snapshot
from repotune.sources.git import resolve_snapshot

GOAL = 1.5


def build_repo(root: Path, max_files: int) -> list[Path]:
    """Copy the stdlib's .py files into a fresh git repository and commit them."""
    source = stdlib_root()
    files = sorted(p for p in source.rglob("*.py") if "site-packages" not in p.parts)[:max_files]
    for path in files:
        target = root / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    env = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), *env, "commit", "-qm", "stdlib"], check=True)
    return [root / p.relative_to(source) for p in files]


def bare_loop(paths: list[Path]) -> int:
    parsed = 0
    for path in paths:
        try:
            ast.parse(path.read_bytes().decode("utf-8"))
            parsed += 1
        except (SyntaxError, UnicodeDecodeError, ValueError):
            pass
    return parsed


def best_of(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-files", type=int, default=100_000, help="Cap on stdlib files.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per method (best is kept).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="repotune-bench-") as tmp:
        root = Path(tmp) / "stdlib"
        paths = build_repo(root, args.max_files)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        source = SourceConfig(max_file_bytes=10**9)
        snapshot = resolve_snapshot(str(root))
        bare_s, parsed = best_of(args.repeat, lambda: bare_loop(paths))
        ours_s, extraction = best_of(args.repeat, lambda: extract_snapshot(snapshot, source))
    ratio = ours_s / bare_s
    rows = [
        ("bare ast.parse loop", f"{parsed}", "-", bare_s, 1.0),
        ("repotune extract", f"{len(extraction.files)}", f"{len(extraction.units)}", ours_s, ratio),
    ]
    print(
        f"\nExtraction on the CPython stdlib: {len(paths)} files, {megabytes:.1f} MB, "
        f"best of {args.repeat}\n"
    )
    print(
        f"| {'method':<22} | {'files parsed':>12} | {'units':>7} | {'seconds':>8} | {'ratio':>6} |"
    )
    print(f"|{'-' * 24}|{'-' * 14}|{'-' * 9}|{'-' * 10}|{'-' * 8}|")
    for name, files, units, seconds, rel in rows:
        print(f"| {name:<22} | {files:>12} | {units:>7} | {seconds:>8.2f} | {rel:>5.2f}x |")
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"\nGoal: repotune <= {GOAL}x the bare loop -> {ratio:.2f}x, {verdict}")


if __name__ == "__main__":
    main()
