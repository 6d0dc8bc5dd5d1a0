"""Git URL sources: clone once into the workspace, fetch later, credentials only via git's env."""

from __future__ import annotations

import base64
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from repotune.config import RepoSource, SourceConfig
from repotune.errors import SourceError
from repotune.parsing.extract import extract_snapshot
from repotune.sources import remote
from repotune.sources.remote import GitAuth, resolve_repo, sync_clone
from tests.conftest import git, make_repo

FUNC = "def {name}(x):\n    return x + {k}\n"
TOKEN = "s3cr3t-token-value-0123456789"


@pytest.fixture
def origin(tmp_path) -> Path:
    repo = make_repo(tmp_path / "origin", {"a.py": FUNC.format(name="a", k=1)})
    git(repo, "checkout", "-q", "-b", "feature")
    make_repo(repo, {"b.py": FUNC.format(name="b", k=2)}, "feature work")
    git(repo, "checkout", "-q", "main")
    return repo


def test_a_url_is_cloned_once_then_fetched(origin, tmp_path):
    clones = tmp_path / "clones"
    url = f"file://{origin}"
    first = resolve_repo(RepoSource(location=url), clones)
    assert first.commit == git(origin, "rev-parse", "HEAD")
    assert first.origin == url and first.name == "origin"
    make_repo(origin, {"c.py": FUNC.format(name="c", k=3)}, "second")
    path, fetched = sync_clone(url, clones)
    assert fetched and path == Path(first.repo)
    second = resolve_repo(RepoSource(location=url), clones)
    assert second.commit == git(origin, "rev-parse", "HEAD") != first.commit
    assert [p.name for p in clones.glob("*.git")] == [Path(first.repo).name]
    units = extract_snapshot(second, SourceConfig()).units
    assert sorted(u.qualname for u in units) == ["a", "c"]
    assert {u.repo for u in units} == {url}


def test_a_branch_of_a_url_source(origin, tmp_path):
    snapshot = resolve_repo(RepoSource(location=f"file://{origin}", ref="feature"), tmp_path)
    assert snapshot.commit == git(origin, "rev-parse", "feature")


def test_depth_makes_a_shallow_clone(origin, tmp_path):
    make_repo(origin, {"c.py": FUNC.format(name="c", k=3)}, "second")
    snapshot = resolve_repo(RepoSource(location=f"file://{origin}", depth=1), tmp_path)
    assert git(Path(snapshot.repo), "rev-parse", "--is-shallow-repository") == "true"
    assert git(Path(snapshot.repo), "rev-list", "--count", "HEAD") == "1"


def test_an_unreachable_url_fails_clearly_after_bounded_retries(tmp_path, monkeypatch):
    calls = []
    real_run = remote._run
    monkeypatch.setattr(remote, "_run", lambda args, env: calls.append(args) or real_run(args, env))
    with pytest.raises(SourceError, match="could not reach .* after 3 attempts") as err:
        resolve_repo(RepoSource(location="https://127.0.0.1:9/x.git"), tmp_path, backoff_s=(0,))
    assert len(calls) == 3
    assert "network" in str(err.value)
    assert not list(tmp_path.glob("*.git"))


def test_a_missing_repository_fails_at_once(tmp_path, monkeypatch):
    calls = []
    real_run = remote._run
    monkeypatch.setattr(remote, "_run", lambda args, env: calls.append(args) or real_run(args, env))
    with pytest.raises(SourceError, match="does not appear to be a git repository"):
        resolve_repo(RepoSource(location=f"file://{tmp_path}/nope"), tmp_path / "clones")
    assert len(calls) == 1


def test_a_token_in_the_url_is_refused_by_the_config():
    with pytest.raises(ValueError, match="git-credentials"):
        RepoSource(location=f"https://user:{TOKEN}@example.com/org/repo.git")
    with pytest.raises(ValueError, match="git URLs only"):
        RepoSource(location="./local", credentials="github")


class _BasicAuthHandler(SimpleHTTPRequestHandler):
    """Git's "dumb" HTTP protocol is static files: serve a bare repository behind basic auth."""

    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def private_url(origin, tmp_path):
    bare = tmp_path / "served.git"
    git(tmp_path, "clone", "-q", "--bare", str(origin), str(bare))
    git(bare, "update-server-info")
    handler = functools.partial(_BasicAuthHandler, directory=str(bare))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_credentials_reach_git_but_are_never_stored(private_url, origin, tmp_path):
    clones = tmp_path / "clones"
    with pytest.raises(SourceError, match="credentials"):
        sync_clone(private_url, clones, backoff_s=(0,))
    path, _ = sync_clone(private_url, clones, auth=GitAuth(token=TOKEN))
    assert git(path, "rev-parse", "main") == git(origin, "rev-parse", "main")
    stored = b"".join(p.read_bytes() for p in clones.rglob("*") if p.is_file())
    assert TOKEN.encode() not in stored
    assert base64.b64encode(f"x-access-token:{TOKEN}".encode()) not in stored
    make_repo(origin, {"c.py": FUNC.format(name="c", k=3)}, "second")
    git(tmp_path / "served.git", "fetch", "-q", str(origin), "+main:main")
    git(tmp_path / "served.git", "update-server-info")
    _, fetched = sync_clone(private_url, clones, auth=GitAuth(token=TOKEN))
    assert fetched and git(path, "rev-parse", "main") == git(origin, "rev-parse", "main")


def test_an_unreachable_ssh_url_never_prompts_and_fails_after_retries(tmp_path):
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----"
    with pytest.raises(SourceError, match="reach ssh://127.0.0.1:9/x.git after 2.*refused"):
        sync_clone(
            "ssh://git@127.0.0.1:9/x.git",
            tmp_path,
            auth=GitAuth(ssh_private_key=key),
            attempts=2,
            backoff_s=(0,),
        )


def test_an_ssh_key_lives_in_a_private_temporary_file_only_while_git_runs():
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"
    with remote._git_env(GitAuth(ssh_private_key=key)) as env:
        command = env["GIT_SSH_COMMAND"].split()
        key_file = Path(command[command.index("-i") + 1])
        assert key_file.read_text() == key + "\n"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert "BatchMode=yes" in command and env["GIT_TERMINAL_PROMPT"] == "0"
        assert key not in " ".join(env.values())
    assert not key_file.exists()
