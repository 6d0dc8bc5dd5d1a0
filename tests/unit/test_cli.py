"""The CLI as a user meets it: a subprocess, its exit code, and what it prints."""

import subprocess
import sys

import pytest

COMMANDS = [
    [], ["run"], ["status"], ["ui"], ["deploy"], ["presets"],
    ["evaluate"], ["promote"], ["rollback"], ["history"], ["compare"],
]  # fmt: skip


def repotune(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "repotune", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_help_on_every_command(command):
    result = repotune(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def assert_one_clear_sentence(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_missing_repository(tmp_path):
    result = repotune("run", "--repo", "/no/such/path", "-w", str(tmp_path / "ws"))
    assert_one_clear_sentence(result, "/no/such/path", "does not exist", "--repo")


def test_negative_learning_rate(tmp_path):
    result = repotune("run", "--set", "train.learning_rate=-1", "-w", str(tmp_path / "ws"))
    assert_one_clear_sentence(result, "train.learning_rate", "greater than 0")


def test_repository_without_python_files(repo_factory, tmp_path):
    repo = repo_factory({"README.md": "# docs only\n", "data.json": "{}\n"})
    result = repotune("run", "--repo", str(repo), "-w", str(tmp_path / "ws"))
    assert_one_clear_sentence(result, str(repo), "no code files")


def test_ui_prints_commands_for_this_workspace(tmp_path):
    result = repotune("ui", "-w", str(tmp_path / "ws"))
    assert result.returncode == 0
    assert f"PREFECT_HOME={tmp_path / 'ws' / 'prefect'}" in result.stdout
    assert f"sqlite:///{tmp_path / 'ws' / 'mlflow.db'}" in result.stdout


def test_status_on_an_empty_workspace(tmp_path):
    result = repotune("status", "-w", str(tmp_path / "ws"))
    assert result.returncode == 0, result.stderr
    assert "datasets   0" in result.stdout
    assert "0 version(s)" in result.stdout and "champion   none yet" in result.stdout
