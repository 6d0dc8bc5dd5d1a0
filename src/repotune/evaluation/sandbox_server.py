"""The parent's handle on one sandbox fork server (``sandbox_child.serve``): start, ask, stop.

Everything about the server's process lives here: the command line that starts it (network
namespace, isolated interpreter, allowed and denied paths), its scrubbed environment, and the
line protocol. ``repotune.evaluation.sandbox`` turns its answers into verdicts.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from repotune.errors import RepotuneError

SECRET_NAMES = (
    ".ssh", ".aws", ".gnupg", ".config", ".docker", ".kube", ".azure", ".netrc",
    ".git-credentials", ".pypirc",
)  # fmt: skip
READABLE = ("/dev/null", "/dev/zero", "/dev/urandom", "/usr/share/zoneinfo")
SERVER_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
REPLY_S = 30.0  # how long the server may take to start, fork, or reap a killed child


@functools.cache
def network_namespace_command() -> tuple[str, ...]:
    """The command prefix that runs a program in a new, empty network namespace, or ``()``
    where this machine allows none (no ``unshare``, no privilege, user namespaces disabled)."""
    tool = shutil.which("unshare")
    if tool is None:
        return ()
    for flags in (("--net",), ("--user", "--map-root-user", "--net")):
        probe = [tool, *flags, sys.executable, "-I", "-S", "-c", ""]
        try:
            if subprocess.run(probe, capture_output=True, timeout=REPLY_S).returncode == 0:
                return (tool, *flags)
        except (OSError, subprocess.TimeoutExpired):
            continue
    return ()


def secret_paths() -> tuple[str, ...]:
    """The secret folders and files under the user's home (``$HOME`` and the passwd entry)."""
    homes = {os.path.expanduser("~"), pwd.getpwuid(os.getuid()).pw_dir}
    paths = (os.path.join(home, name) for home in sorted(homes) for name in SECRET_NAMES)
    return tuple(os.path.realpath(path) for path in paths)


@functools.cache
def _child_source() -> str:
    return Path(__file__).with_name("sandbox_child.py").read_text(encoding="utf-8")


class ForkServer:
    """One running fork server; ``run`` is not thread-safe (one request at a time)."""

    def __init__(self, network_namespace: bool, readable: tuple[str, ...] = ()) -> None:
        """``readable``: more trees (real paths) its programs may read, besides ``READABLE``."""
        prefix = network_namespace_command() if network_namespace else ()
        command = [
            *prefix, sys.executable, "-I", "-S", "-B", "-c", _child_source(),
            "\n".join((*READABLE, *readable)), "\n".join(secret_paths()),
        ]  # fmt: skip
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd="/", env=SERVER_ENV, start_new_session=True,
            )  # fmt: skip
        except OSError as err:
            raise RepotuneError(
                "evaluate", f"cannot start the sandbox interpreter {sys.executable}: {err}",
                "check that it exists and is executable",
            ) from err  # fmt: skip
        self._pending = b""
        self._child: int | None = None
        if self._read_ints(REPLY_S) is None:
            raise self._fail("did not start")

    def run(self, fields: tuple[object, ...], source: bytes, wall_s: float) -> tuple[int, bool]:
        """Run one program; ``fields`` are the header's first six. Returns the child's wait
        status and whether the server killed it at ``wall_s``."""
        header = "\t".join(map(str, (*fields, len(source)))).encode()
        try:
            self.process.stdin.write(header + b"\n" + source)
            self.process.stdin.flush()
        except BrokenPipeError:
            raise self._fail("stopped") from None
        pid = self._read_ints(REPLY_S)
        if pid is None:
            raise self._fail("did not fork")
        self._child = pid[0]
        answer = self._read_ints(wall_s + REPLY_S)
        if answer is None:
            raise self._fail(f"did not stop a program after {wall_s} s")
        self._child = None
        return answer[0], bool(answer[1])

    def _read_ints(self, timeout: float) -> list[int] | None:
        """The next line's integers, or None if it did not come within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise self._fail("stopped")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return [int(value) for value in line.split()]

    def _fail(self, what: str) -> RepotuneError:
        self._stop(wait_s=0)
        tail = " ".join(self.process.stderr.read().decode(errors="replace").split())[-500:]
        self.close()
        return RepotuneError(
            "evaluate", f"the sandbox server {what} (exit code {self.process.returncode}) {tail}",
            "check that `run_program('pass')` passes on this machine (Linux 5.3 or newer)",
        )  # fmt: skip

    def _stop(self, wait_s: float) -> None:
        if self._child is not None:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError):
                    kill(self._child, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def close(self) -> None:
        """Stop the server (closing its stdin ends its loop) and any program still running."""
        self._stop(REPLY_S)
        self.process.stdout.close()
        self.process.stderr.close()
