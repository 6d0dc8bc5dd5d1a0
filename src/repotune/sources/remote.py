"""Git URL sources: one cached clone per URL in the workspace, fetched (never re-cloned) later.

Credentials reach git only through the environment of the one git process that needs them
(an ``http.extraHeader`` for tokens, ``GIT_SSH_COMMAND`` with a temporary key file for SSH): they
are never written into the clone's config, the workspace, a log line or an error message.
Network failures are retried a bounded number of times with backoff; anything else (a wrong URL,
refused credentials) fails at once with the reason git gave.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repotune.config import RepoSource
from repotune.errors import SourceError
from repotune.sources.git import Snapshot, resolve_snapshot

TRANSIENT = (
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "timed out",
    "failed to connect",
    "network is unreachable",
    "temporary failure",
    "early eof",
    "rpc failed",
    "the remote end hung up",
    "cannot lock ref",
    "couldn't connect",
)
"""Phrases of git errors worth retrying (network trouble, a concurrent fetch holding a lock)."""

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
ATTEMPT_TIMEOUT_S = 900


@dataclass(frozen=True)
class GitAuth:
    """Credentials for one URL source, resolved from a Prefect block by the caller."""

    username: str = "x-access-token"
    token: str | None = field(default=None, repr=False)
    ssh_private_key: str | None = field(default=None, repr=False)


def redact(text: str) -> str:
    """Drop ``user[:password]@`` from every URL in ``text`` (git echoes URLs in its errors)."""
    return _USERINFO.sub("", text)


def clone_dir(clones_root: Path, url: str) -> Path:
    """The cache folder of ``url``: readable name plus a hash, so two URLs never collide."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1])
    stem = stem.removesuffix(".git") or "repo"
    return clones_root / f"{stem}-{hashlib.sha256(url.encode()).hexdigest()[:12]}.git"


@contextmanager
def _git_env(auth: GitAuth | None) -> Iterator[dict[str, str]]:
    """Environment for a git process: never prompt, and carry the credentials if any."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
    ssh = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20"]
    ssh += ["-o", "StrictHostKeyChecking=accept-new"]
    with tempfile.TemporaryDirectory(prefix="repotune-git-") as tmp:
        if auth and auth.ssh_private_key:
            key = Path(tmp) / "id"
            key.write_text(auth.ssh_private_key.strip() + "\n", encoding="utf-8")
            key.chmod(0o600)
            ssh += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
        env["GIT_SSH_COMMAND"] = " ".join(ssh)
        if auth and auth.token:
            basic = base64.b64encode(f"{auth.username}:{auth.token}".encode()).decode()
            env["GIT_CONFIG_COUNT"] = "1"
            env["GIT_CONFIG_KEY_0"] = "http.extraHeader"
            env["GIT_CONFIG_VALUE_0"] = f"Authorization: Basic {basic}"
        yield env


def _run(args: Sequence[str], env: dict[str, str]) -> tuple[int, str]:
    try:
        done = subprocess.run(
            ["git", *args], env=env, capture_output=True, timeout=ATTEMPT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return 1, f"timed out after {ATTEMPT_TIMEOUT_S} s"
    except FileNotFoundError:
        raise SourceError("git is not installed", "install git and retry") from None
    return done.returncode, done.stderr.decode("utf-8", "replace")


def _with_retries(
    url: str, args: Sequence[str], auth: GitAuth | None, attempts: int, backoff_s: Sequence[float]
) -> None:
    """Run one git network command, retrying transient failures ``attempts`` times in all."""
    last = ""
    for attempt in range(1, attempts + 1):
        with _git_env(auth) as env:
            code, stderr = _run(args, env)
        if code == 0:
            return
        lines = [line for line in redact(stderr).strip().splitlines() if line.strip()]
        network = [line for line in lines if any(p in line.lower() for p in TRANSIENT)]
        fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
        last = (network or fatal or lines or [f"git exited with {code}"])[0]
        if not any(phrase in stderr.lower() for phrase in TRANSIENT):
            raise SourceError(
                f"git could not read {redact(url)}: {last}",
                "check the URL and ref, and that the `credentials` block grants read access",
            )
        if attempt < attempts:
            time.sleep(backoff_s[min(attempt - 1, len(backoff_s) - 1)] if backoff_s else 0)
    raise SourceError(
        f"could not reach {redact(url)} after {attempts} attempts: {last}",
        "check the network and the URL; whatever was fetched before is kept in the workspace",
    )


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise clone/fetch of one URL between concurrent runs on the same workspace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sync_clone(
    url: str,
    clones_root: Path,
    *,
    auth: GitAuth | None = None,
    depth: int | None = None,
    attempts: int = 3,
    backoff_s: Sequence[float] = (2.0, 5.0),
) -> tuple[Path, bool]:
    """A bare clone of ``url`` with every branch and tag, up to date; returns it and whether it
    was fetched into an existing clone (True) or cloned fresh (False).

    A fresh clone is made in a temporary folder and renamed into place, so an interrupted clone
    never leaves a half-written cache behind.
    """
    dest = clone_dir(clones_root, url)
    shallow = ["--depth", str(depth)] if depth else []
    with _locked(dest):
        if (dest / "HEAD").exists():
            fetch = ["-C", str(dest), "fetch", "--prune", "--tags", "--force", *shallow, "origin"]
            _with_retries(url, fetch, auth, attempts, backoff_s)
            return dest, True
        staging = Path(tempfile.mkdtemp(prefix=".cloning-", dir=clones_root))
        try:
            clone = ["clone", "--bare", "--quiet", *shallow]
            clone += ["--no-single-branch"] if depth else []
            _with_retries(
                url, [*clone, "--", url, str(staging / "repo")], auth, attempts, backoff_s
            )
            with _git_env(None) as env:
                refspec = "+refs/heads/*:refs/heads/*"
                _run(["-C", str(staging / "repo"), "config", "remote.origin.fetch", refspec], env)
            (staging / "repo").rename(dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return dest, False


def resolve_repo(
    spec: RepoSource, clones_root: Path, auth: GitAuth | None = None, **retry: Any
) -> Snapshot:
    """Pin one configured repository to a commit: a local checkout as is, a URL via its clone."""
    if not spec.is_url:
        return resolve_snapshot(spec.location, spec.ref)
    path, _ = sync_clone(spec.location, clones_root, auth=auth, depth=spec.depth, **retry)
    return resolve_snapshot(str(path), spec.ref, origin=redact(spec.location))
