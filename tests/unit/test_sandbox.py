"""Verdict rules, limits, work-dir cleanup and ordering of the sandboxed executor, and pass@k.

The containment tests (network, secrets, writes, processes) are in
``tests/integration/test_sandbox_security.py``.
"""

from __future__ import annotations

import math
import os
import tempfile

import pytest

from repotune.evaluation.pass_at_k import estimate_pass_at_k, pass_at_k
from repotune.evaluation.sandbox import Sandbox, SandboxLimits, Verdict, run_many, run_program

FAST = SandboxLimits(cpu_s=1, wall_s=5.0, memory_mb=256)
CHECK = (
    "def add(a, b):\n    return a + b\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n"
)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(FAST) as box:
        yield box


def test_passing_program_passes():
    verdict = run_program(CHECK + "check(add)\n", FAST)
    assert (verdict.status, verdict.detail, verdict.passed) == ("passed", "", True)


def test_failing_assertion_is_failed_with_its_message(sandbox):
    verdict = sandbox.run("assert 1 + 1 == 3, 'arithmetic is off'\n")
    assert verdict.status == "failed"
    assert verdict.detail == "AssertionError: arithmetic is off"
    assert not verdict.passed


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("undefined_name\n", "error:NameError"),
        ("def broken(:\n", "error:SyntaxError"),
        ("1 / 0\n", "error:ZeroDivisionError"),
        ("import sys\nsys.exit(0)\n", "error:SystemExit"),
        ("class CustomError(AssertionError):\n    pass\nraise CustomError()\n", "failed"),
        ("def f():\n    return f()\nf()\n", "error:RecursionError"),
    ],
)
def test_other_outcomes_follow_the_verdict_rules(sandbox, source, status):
    assert sandbox.run(source).status == status


def test_busy_loop_hits_the_cpu_limit_and_the_next_program_still_runs():
    verdicts = run_many(["while True:\n    pass\n", CHECK + "check(add)\n"], FAST, workers=1)
    assert [v.status for v in verdicts] == ["timeout", "passed"]
    assert "CPU limit" in verdicts[0].detail


def test_sleeping_program_hits_the_wall_clock_limit():
    limits = SandboxLimits(cpu_s=5, wall_s=0.5)
    verdict = run_program("import time\ntime.sleep(60)\n", limits)
    assert verdict.status == "timeout"
    assert "wall-clock" in verdict.detail


def test_unbounded_allocation_is_a_memory_error_and_evaluation_goes_on():
    hog = "chunks = []\nwhile True:\n    chunks.append(bytearray(10_000_000))\n"
    limits = SandboxLimits(cpu_s=5, wall_s=10.0, memory_mb=128)
    assert [v.status for v in run_many([hog, "pass\n"], limits)] == ["error:MemoryError", "passed"]


@pytest.mark.parametrize("code", ["os._exit(0)", "os._exit(1)", "os.abort()"])
def test_leaving_before_the_tests_finish_is_never_passed(sandbox, code):
    verdict = sandbox.run(f"import os\n{code}\nassert False\n")
    assert verdict.status == "error:exit"
    assert "before reporting" in verdict.detail


def test_work_dir_is_the_cwd_home_and_tmp_and_is_removed_afterwards(sandbox):
    probe = (
        "import os, tempfile\n"
        "raise ValueError('|'.join((os.getcwd(), os.environ['HOME'], tempfile.gettempdir())))\n"
    )
    cwd, home, tmp = sandbox.run(probe).detail.removeprefix("ValueError: ").split("|")
    assert cwd == home == tmp
    assert os.path.basename(cwd).startswith("repotune-sandbox-")
    assert os.path.dirname(cwd) == os.path.realpath(tempfile.gettempdir())
    assert not os.path.exists(cwd)


def test_writing_inside_the_work_dir_is_allowed(sandbox):
    source = "open('out.txt', 'w').write('ok')\nassert open('out.txt').read() == 'ok'\n"
    assert sandbox.run(source).status == "passed"


def test_standard_library_stays_usable(sandbox):
    """HumanEval/162 needs hashlib; inspect reads stdlib sources: over-blocking would fail here."""
    source = (
        "import hashlib, inspect, json, fractions, datetime\n"
        "assert hashlib.md5(b'Hello world').hexdigest() == '3e25960a79dbc69b674cd4ec67a72c62'\n"
        "assert 'def dumps' in inspect.getsource(json)\n"
    )
    assert sandbox.run(source).status == "passed"


def test_each_program_starts_from_a_clean_process(sandbox):
    assert sandbox.run("import math\nmath.pi = 3\nassert math.pi == 3\n").passed
    assert sandbox.run("import math\nassert math.pi > 3.14\n").passed


def test_run_many_keeps_the_order_of_the_programs():
    programs = [
        CHECK + "check(add)\n", "assert False\n", "missing\n", "import os\nos._exit(3)\n",
        "raise KeyError('k')\n", "pass\n", "assert 0, 'last'\n",
    ]  # fmt: skip
    verdicts = run_many(programs, FAST, workers=2)
    assert [v.status for v in verdicts] == [
        "passed", "failed", "error:NameError", "error:exit", "error:KeyError", "passed", "failed",
    ]  # fmt: skip
    assert verdicts[3].detail.startswith("exited with code 3")
    assert verdicts[-1].detail == "AssertionError: last"


def test_invalid_limits_and_workers_name_the_parameter():
    with pytest.raises(ValueError, match="`cpu_s`"):
        SandboxLimits(cpu_s=0)
    with pytest.raises(ValueError, match="`wall_s`"):
        SandboxLimits(wall_s=0)
    with pytest.raises(ValueError, match="`memory_mb`"):
        SandboxLimits(memory_mb=8)
    with pytest.raises(ValueError, match="`workers`"):
        run_many(["pass"], FAST, workers=0)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 1, 1, 0.2),
        (5, 0, 1, 0.0),
        (5, 0, 5, 0.0),
        (5, 5, 1, 1.0),
        (5, 3, 3, 1.0),
        (4, 2, 2, 5 / 6),
    ],
)
def test_pass_at_k_matches_hand_computed_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@pytest.mark.parametrize(("n", "c", "k"), [(10, 3, 1), (10, 3, 5), (20, 1, 10), (200, 17, 100)])
def test_pass_at_k_equals_the_combinatorial_formula(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))


def test_pass_at_k_stays_finite_where_binomials_overflow_floats():
    assert 0.0 < pass_at_k(2000, 1, 1000) < 1.0


def test_estimate_pass_at_k_averages_tasks():
    verdicts = [[Verdict("passed", 0.1), Verdict("failed", 0.1)], [Verdict("timeout", 1.0)] * 2]
    assert estimate_pass_at_k([[v.passed for v in task] for task in verdicts], k=1) == 0.25


@pytest.mark.parametrize(
    ("n", "c", "k", "name"), [(0, 0, 1, "`n`"), (3, 4, 1, "`c`"), (3, 1, 4, "`k`")]
)
def test_pass_at_k_rejects_impossible_counts(n, c, k, name):
    with pytest.raises(ValueError, match=name):
        pass_at_k(n, c, k)
