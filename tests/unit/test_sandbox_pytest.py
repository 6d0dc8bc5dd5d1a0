"""Programs with files: a tree copied into the work dir, readable package folders, and a
repository's pytest tests run by the sandboxed driver, with its verdict rules."""

from __future__ import annotations

import pytest

from repotune.evaluation.sandbox import Sandbox, SandboxLimits, WorkTree, run_many
from repotune.evaluation.sandbox_pytest import installed_packages, pytest_program

LIMITS = SandboxLimits(cpu_s=10, wall_s=30.0, memory_mb=1024)
TESTS = """\
from calc import half


def test_half():
    assert half(4) == 2


def test_zero():
    assert half(0) == 0
"""


@pytest.fixture(name="project")
def fixture_project(tmp_path):
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text("def half(x):\n    return x // 2\n")
    (root / "tests" / "test_calc.py").write_text(TESTS)
    return root


@pytest.fixture(name="sandbox")
def fixture_sandbox():
    with Sandbox(LIMITS, installed_packages()) as box:
        yield box


def test_a_tree_is_copied_with_replacements_and_each_run_has_its_own_copy(project):
    read = "print(open('calc.py').read())\nassert open('calc.py').read() == {!r}\n"
    scribble = "open('calc.py', 'w').write('changed')\nimport os\nos.remove('tests/test_calc.py')\n"
    replaced = WorkTree(project, {"calc.py": "half = 1\n"})
    verdicts = run_many(
        [scribble, read.format("half = 1\n"), read.format("def half(x):\n    return x // 2\n")],
        LIMITS,
        workers=1,
        trees=[WorkTree(project), replaced, WorkTree(project)],
    )
    assert [v.status for v in verdicts] == ["passed", "passed", "passed"]
    assert (project / "calc.py").read_text() == "def half(x):\n    return x // 2\n"
    assert (project / "tests" / "test_calc.py").exists()


def test_work_trees_and_their_lists_are_checked(project, tmp_path):
    with pytest.raises(ValueError, match="`replace` keys must be relative"):
        WorkTree(project, {"../escape.py": ""})
    with pytest.raises(ValueError, match="`root` must be an existing directory"):
        WorkTree(tmp_path / "missing")
    with pytest.raises(ValueError, match="`trees` must have one entry per program"):
        run_many(["pass", "pass"], LIMITS, trees=[None])


def test_installed_packages_are_readable_only_when_granted(project):
    program = pytest_program(["tests/test_calc.py::test_half"])
    with Sandbox(LIMITS) as plain:
        assert plain.run(program, WorkTree(project)).status == "error:ModuleNotFoundError"


def test_passing_tests_pass(sandbox, project):
    program = pytest_program(["tests/test_calc.py::test_half", "tests/test_calc.py::test_zero"])
    verdict = sandbox.run(program, WorkTree(project))
    assert (verdict.status, verdict.detail) == ("passed", "")


def test_a_failing_test_fails_and_is_named(sandbox, project):
    wrong = WorkTree(project, {"calc.py": "def half(x):\n    return x\n"})
    verdict = sandbox.run(pytest_program(["tests/test_calc.py::test_half"]), wrong)
    assert verdict.status == "failed"
    assert verdict.detail == "AssertionError: failed: tests/test_calc.py::test_half"


@pytest.mark.parametrize(
    ("calc", "test", "detail"),
    [  # a module that does not import fails its collector; a test that is not there, nothing
        ("def half(x):\n    return (\n", "test_half", "USAGE_ERROR (4) tests/test_calc.py"),
        ("def half(x):\n    return x // 2\n", "test_missing", "USAGE_ERROR (4)"),
    ],
)
def test_other_pytest_endings_are_errors_with_their_code(sandbox, project, calc, test, detail):
    program = pytest_program([f"tests/test_calc.py::{test}"])
    verdict = sandbox.run(program, WorkTree(project, {"calc.py": calc}))
    assert (verdict.status, verdict.detail) == ("error:PytestError", f"PytestError: {detail}")


def test_tests_cannot_start_processes(sandbox, project):
    spawn = "import subprocess\n\ndef test_spawn():\n    subprocess.run(['true'])\n"
    tree = WorkTree(project, {"tests/test_spawn.py": spawn})
    verdict = sandbox.run(pytest_program(["tests/test_spawn.py::test_spawn"]), tree)
    assert (verdict.status, verdict.detail) == (
        "failed", "AssertionError: failed: tests/test_spawn.py::test_spawn"
    )  # fmt: skip


def test_a_driver_needs_tests():
    with pytest.raises(ValueError, match="`node_ids` must name at least one test"):
        pytest_program([])
