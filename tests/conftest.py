"""Test-wide environment: offline, telemetry off, Prefect and HF state in a throwaway folder.

Set at import time, before any test module imports Prefect, MLflow or transformers.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

_STATE = Path(tempfile.mkdtemp(prefix="repotune-tests-"))
os.environ["PREFECT_HOME"] = str(_STATE / "prefect")
os.environ["HF_HOME"] = str(_STATE / "hf")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from repotune.runtime_env import apply_runtime_env  # noqa: E402

apply_runtime_env()


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity and dates, so commits are reproducible."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    result = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def make_repo(root: Path, files: dict[str, str | bytes], message: str = "initial") -> Path:
    """A git repository at ``root`` with ``files`` committed in one commit."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return root


@pytest.fixture
def repo_factory(tmp_path):
    def factory(files: dict[str, str | bytes], name: str = "repo") -> Path:
        return make_repo(tmp_path / name, files)

    return factory
