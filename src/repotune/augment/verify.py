"""Running a unit's related tests against a variant of it, in a checkout of its commit.

A variant is written into the unit's file in place of the unit's lines, the unit's related tests
run in a fresh interpreter (``pytest -x``, so a run stops at the first failure), and the file is
put back byte for byte whatever happens. Bytecode is never written
(``PYTHONDONTWRITEBYTECODE=1``): a rewrite within the same second and of the same size as the
original could otherwise be shadowed by a stale ``.pyc``.

Running tests executes the repository's code: the checkout is a throwaway copy, and the caller
decides whether the repository is trusted enough to run (``augment.verify_with_tests``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from repotune.errors import RepotuneError
from repotune.parsing.python_units import source_lines
from repotune.records import CodeUnit

Outcome = Literal["passed", "failed", "timeout", "error"]
_REPORTED = re.compile(r"^(?:FAILED|ERROR) (\S+?)(?:\[[^\]\n]*\])?(?: - .*)?$", re.M)


@dataclass(frozen=True)
class PytestRun:
    """How one pytest run ended; ``failed`` holds the tests it reported as failed or in error,
    as ``<path>::<qualname>`` like :attr:`CodeUnit.related_tests`."""

    outcome: Outcome
    failed: tuple[str, ...]
    seconds: float


def _safe_member(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """``tarfile``'s ``data`` filter, skipping (not failing on) a link that leaves the tree."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


def materialize(repo_git_dir: str | Path, commit: str, dest: Path) -> Path:
    """The tracked files of ``commit`` written into ``dest`` (created if missing), without
    touching the repository's work tree, index or worktree list.

    ``git archive`` leaves out paths marked ``export-ignore`` in ``.gitattributes``: a test
    excluded that way is reported as an error when run, never silently passed.
    """
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.Popen(
        ["git", "-C", str(repo_git_dir), "archive", "--format=tar", commit],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert archive.stdout is not None and archive.stderr is not None
    try:
        with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
            tar.extractall(dest, filter=_safe_member)
        unreadable = ""
    except tarfile.ReadError as err:  # git wrote no archive: its stderr says why
        unreadable = str(err)
    stderr = archive.stderr.read().decode(errors="replace").strip()
    if archive.wait() != 0 or unreadable:
        raise RepotuneError(
            "augment",
            f"cannot write commit {commit} of {repo_git_dir} to {dest}: {stderr or unreadable}",
            "pass a git repository and a commit it holds",
        )
    return dest


@contextlib.contextmanager
def checkout(repo_git_dir: str | Path, commit: str) -> Iterator[Path]:
    """A temporary materialized checkout of ``commit``, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="repotune-verify-") as tmp:
        yield materialize(repo_git_dir, commit, Path(tmp) / "checkout")


def _lines(path: Path) -> list[str]:
    """The file's lines as the extractor read them: bytes decoded, line ends untouched."""
    return source_lines(path.read_bytes().decode("utf-8"))


def matches(root: Path, unit: CodeUnit) -> bool:
    """Whether the checkout holds the unit's code at its lines (not, e.g., a scrubbed secret or
    another commit's file): only then does a spliced variant replace exactly the unit."""
    path = root / unit.path
    if not path.is_file():
        return False
    try:
        segment = "".join(_lines(path)[unit.start_line - 1 : unit.end_line])
    except UnicodeDecodeError:
        return False
    return segment.rstrip("\r\n") == unit.code.rstrip("\r\n")


@contextlib.contextmanager
def spliced(root: Path, unit: CodeUnit, code: str) -> Iterator[None]:
    """The unit's lines in its file replaced by ``code`` for the duration of the block."""
    path = root / unit.path
    original = path.read_bytes()
    lines = _lines(path)
    lines[unit.start_line - 1 : unit.end_line] = [code if code.endswith("\n") else code + "\n"]
    try:
        path.write_text("".join(lines), encoding="utf-8")
        yield
    finally:
        path.write_bytes(original)


def node_id(test: str) -> str:
    """``path::Class.test`` (a related test) as pytest's node id ``path::Class::test``."""
    path, _, qualname = test.partition("::")
    return f"{path}::{qualname.replace('.', '::')}"


def reported_failures(output: str) -> tuple[str, ...]:
    """The tests pytest's summary lists as ``FAILED``/``ERROR``, as ``path::qualname``
    (parametrisations folded into their test)."""
    found = []
    for match in _REPORTED.finditer(output):
        path, _, rest = match.group(1).partition("::")
        test = f"{path}::{rest.replace('::', '.')}" if rest else path
        if test not in found:
            found.append(test)
    return tuple(found)


def _environment(root: Path) -> dict[str, str]:
    paths = [str(root)] + ([str(root / "src")] if (root / "src").is_dir() else [])
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONDONTWRITEBYTECODE": "1",
        "COLUMNS": "240",
    }


def run_tests(root: Path, tests: tuple[str, ...], timeout_s: float) -> PytestRun:
    """Run ``tests`` in the checkout at ``root`` with this interpreter's pytest.

    The run gets its own process group, killed whole on timeout, so a test that spawned
    processes cannot keep the pipe (and this call) open.
    """
    command = [
        *(sys.executable, "-m", "pytest", "-q", "-x", "-rfE", "-p", "no:cacheprovider"),
        f"--rootdir={root}",
        *(node_id(test) for test in tests),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=root,
        env=_environment(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return PytestRun("timeout", (), time.perf_counter() - started)
    seconds = time.perf_counter() - started
    text = output.decode("utf-8", errors="replace")
    code = process.returncode
    outcome: Outcome = "passed" if code == 0 else "failed" if code == 1 else "error"
    return PytestRun(outcome, reported_failures(text), seconds)
