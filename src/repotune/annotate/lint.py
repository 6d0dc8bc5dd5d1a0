"""Lint findings per Python unit, from ONE ``ruff`` run over all of them.

Each unit's code is written, dedented, as its own file ``u<index>.py`` in a temporary directory
(in RAM, ``/dev/shm``, when it has room); ``ruff check`` lints the directory once (one process,
all cores, 1-2 s for 50k units) and its JSON findings are mapped back by file name. The
settings are fixed here, not read from any project (``--isolated``), so a count means the same
in every repository and run:

    ruff check --isolated --no-cache --no-respect-gitignore --exit-zero --output-format json
        --select E,F,W,B,UP,SIM,C4 --ignore F821 --line-length 88 --target-version py311

What is not counted, as an artefact of cutting a unit out of its file:

- ``F821`` undefined name: the module's imports, globals and sibling functions are not in the
  unit's file (left out with ``--ignore``, which also keeps ruff's output small);
- syntax errors (``invalid-syntax``), such as syntax newer than ``py311``: the unit parsed
  when it was extracted, so the error is the pinned target's, not the code's.

Rules that need to resolve an import (``typing.List`` for ``UP006``, ``functools`` for
``B019``) stay silent without the file's imports: counts err low, never high. ``E501`` is
measured on the dedented lines. Units of other languages get 0: ruff lints Python only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from repotune.annotate.metrics import dedent_code
from repotune.errors import RepotuneError
from repotune.records import CodeUnit

RUFF_ARGS = (
    *("check", "--isolated", "--no-cache", "--no-respect-gitignore", "--exit-zero"),
    *("--output-format", "json", "--select", "E,F,W,B,UP,SIM,C4", "--ignore", "F821"),
    *("--line-length", "88", "--target-version", "py311"),
)
NOT_FINDINGS = frozenset({None, "invalid-syntax"})
_RAM_DIR = "/dev/shm"
_PAGE = 4096


def ruff_command() -> list[str]:
    """The ruff next to the running interpreter (the environment's own), else on ``PATH``,
    else ``python -m ruff``; a clear error when none is installed."""
    binary = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if binary:
        return [binary]
    if importlib.util.find_spec("ruff") is None:
        raise RepotuneError(
            "annotate",
            "`ruff` is not installed, so lint findings cannot be counted",
            "install it: `pip install ruff`",
        )
    return [sys.executable, "-m", "ruff"]


def _scratch_dir(need: int) -> str | None:
    """``/dev/shm`` when it is writable with twice ``need`` bytes free, else None (the default
    temporary directory): creating 50k files took 4-26 s on a busy disk, 0.6 s in RAM."""
    try:
        free = shutil.disk_usage(_RAM_DIR).free
    except OSError:
        return None
    return _RAM_DIR if free > 2 * need and os.access(_RAM_DIR, os.W_OK) else None


def lint_counts(units: list[CodeUnit]) -> list[int]:
    """Ruff findings per unit, in order (0 for non-Python units); ruff runs at most once."""
    counts = [0] * len(units)
    files = {
        f"u{i}.py": dedent_code(unit.code).encode("utf-8", "replace")
        for i, unit in enumerate(units)
        if unit.language == "python"
    }
    if not files:
        return counts
    command = ruff_command()
    need = sum(len(data) + _PAGE for data in files.values())  # a file takes a page at least
    with tempfile.TemporaryDirectory(prefix="repotune-lint-", dir=_scratch_dir(need)) as tmp:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        for name, data in files.items():  # raw os calls: 2x faster than Path.write_bytes
            handle = os.open(os.path.join(tmp, name), flags, 0o600)
            try:
                os.write(handle, data)
            finally:
                os.close(handle)
        done = subprocess.run([*command, *RUFF_ARGS, tmp], capture_output=True, check=False)
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepotuneError(
            "annotate",
            f"ruff failed with exit code {done.returncode}: {error[-1] if error else 'no output'}",
            "run `ruff --version` to check the installation (`pip install ruff`)",
        )
    for finding in json.loads(done.stdout or b"[]"):
        if finding.get("code") not in NOT_FINDINGS:
            counts[int(Path(finding["filename"]).stem[1:])] += 1
    return counts
