"""Generated code that misbehaves is contained, its verdict recorded, and evaluation goes on.

Each test checks the effect, not only the verdict: the file that must not appear, the connection
that must not arrive, the secret that must not leak into what the sandbox reports.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest

from repotune.evaluation.sandbox import Sandbox, SandboxLimits, run_many, run_program
from repotune.evaluation.sandbox_server import network_namespace_command, secret_paths

LIMITS = SandboxLimits(cpu_s=2, wall_s=5.0, memory_mb=256)
REFUSED = "error:PermissionError"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(LIMITS) as box:
        yield box


@pytest.mark.parametrize(
    "spawn",
    [
        "os.system('touch {marker}')",
        "import subprocess\nsubprocess.run(['touch', '{marker}'])",
        "os.posix_spawn('/usr/bin/touch', ['touch', '{marker}'], {{}})",
        "os.execv('/usr/bin/touch', ['touch', '{marker}'])",
        "pid = os.fork()\nif pid == 0:\n    open('{marker}', 'w').close()\n    os._exit(0)",
        "import pty\npty.spawn(['touch', '{marker}'])",
        "import ctypes\nctypes.CDLL(None).system(b'touch {marker}')",
    ],
)
def test_new_processes_are_refused(sandbox, tmp_path, spawn):
    marker = tmp_path / "spawned"
    verdict = sandbox.run("import os\n" + spawn.format(marker=marker) + "\n")
    assert verdict.status == REFUSED
    assert not marker.exists()


def test_fork_bomb_is_refused_and_the_next_program_runs():
    bomb = "import os\nwhile True:\n    os.fork()\n"
    assert [v.status for v in run_many([bomb, "pass"], LIMITS)] == [REFUSED, "passed"]


@pytest.mark.parametrize(
    "connect",
    [
        "socket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'leak')",
        "s = socket.socket()\ns.connect(('127.0.0.1', {port}))",
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=1)",
    ],
)
def test_network_is_refused(sandbox, connect):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        verdict = sandbox.run("import socket\n" + connect.format(port=port) + "\n")
        with pytest.raises(BlockingIOError):
            server.accept()  # a connection the program made would be waiting here
    assert verdict.status in (REFUSED, "error:URLError")
    assert "sandbox" in verdict.detail


def test_network_namespace_has_no_interface_but_loopback_or_is_truly_unavailable():
    prefix = network_namespace_command()
    if prefix:
        devices = subprocess.run([*prefix, "cat", "/proc/net/dev"], capture_output=True, text=True)
        names = {line.split(":")[0].strip() for line in devices.stdout.splitlines()[2:]}
        assert names == {"lo"}
        return
    # No namespace offered: that must be because `unshare --net` really fails here, not a bad probe.
    tool = shutil.which("unshare")
    if tool is not None:
        for flags in (["--net"], ["--user", "--map-root-user", "--net"]):
            assert subprocess.run([tool, *flags, "true"], capture_output=True).returncode != 0


@pytest.fixture
def fake_home(tmp_path, monkeypatch):
    """A home with a private key in it, as the parent process's ``$HOME``."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN FAKE KEY-----\nSECRET-KEY-BYTES\n")
    monkeypatch.setenv("HOME", str(home))
    return home


def test_reading_ssh_keys_is_refused(fake_home):
    key = fake_home / ".ssh" / "id_rsa"
    assert str(key.parent) in secret_paths()
    by_path = run_program(f"raise ValueError(open({str(key)!r}).read())\n", LIMITS)
    by_home = run_program(
        "import os\nraise ValueError(open(os.path.expanduser('~/.ssh/id_rsa')).read())\n", LIMITS
    )
    listing = run_program(f"import os\nraise ValueError(os.listdir({str(key.parent)!r}))\n", LIMITS)
    assert by_path.status == listing.status == REFUSED
    assert by_home.status == "error:FileNotFoundError"  # `~` is the work dir in the sandbox
    for verdict in (by_path, by_home, listing):
        assert "SECRET-KEY-BYTES" not in verdict.detail
    assert "id_rsa" not in listing.detail


def test_environment_secrets_do_not_reach_the_program(sandbox, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value-123")
    env = run_program("import os\nraise ValueError(sorted(os.environ.items()))\n", LIMITS)
    parent = sandbox.run(f"open('/proc/{os.getpid()}/environ').read()\n")
    assert env.status == "error:ValueError"
    assert "aws-secret-value-123" not in env.detail and "AWS_SECRET" not in env.detail
    assert "'PATH'" in env.detail
    assert parent.status == REFUSED


@pytest.mark.parametrize(
    "write",
    [
        "open({target!r}, 'w').write('x')",
        "os.close(os.open({target!r}, os.O_CREAT | os.O_WRONLY))",
        "open('inside.txt', 'w').write('x')\nos.rename('inside.txt', {target!r})",
        "os.symlink({target!r}, 'link')\nopen('link', 'w').write('x')",
        "os.mkdir({target!r})",
        "import shutil\nopen('inside.txt', 'w').write('x')\nshutil.copy('inside.txt', {target!r})",
    ],
)
def test_writes_outside_the_work_dir_are_refused(sandbox, tmp_path, write):
    target = str(tmp_path / "escaped")
    verdict = sandbox.run("import os\n" + write.format(target=target) + "\n")
    assert verdict.status == REFUSED
    assert not os.path.lexists(target)


def test_existing_files_outside_cannot_be_changed_or_removed(sandbox, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    programs = [
        f"import os\nos.remove({str(victim)!r})\n",
        f"import os\nos.truncate({str(victim)!r}, 0)\n",
        f"import os\nos.chmod({str(victim)!r}, 0)\n",
        f"open({str(victim)!r}, 'a').write('appended')\n",
    ]
    assert [sandbox.run(p).status for p in programs] == [REFUSED] * len(programs)
    assert victim.read_text() == "original"
    assert victim.stat().st_mode & 0o777 != 0


def test_limits_cannot_be_raised_from_inside(sandbox):
    source = "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (100, 100))\n"
    assert sandbox.run(source).status == REFUSED


def test_oversized_files_are_stopped_at_the_file_limit():
    limits = SandboxLimits(cpu_s=5, wall_s=10.0, file_mb=1)
    verdict = run_program("open('big', 'wb').write(b'x' * (4 << 20))\n", limits)
    assert verdict.status == "error:OSError"
    assert "File too large" in verdict.detail
