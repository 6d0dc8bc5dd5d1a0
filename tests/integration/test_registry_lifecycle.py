"""Promotion, rollback, alias history and keep-N, on the embedded SQLite store and on a real
`mlflow server` (SQLite backend, proxied artifacts) started by this module on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from mlflow.artifacts import download_artifacts
from mlflow.exceptions import MlflowException

from repotune.errors import RepotuneError
from repotune.registry.aliases import alias_history, aliases
from repotune.registry.lifecycle import archive_old_versions, promote, rollback
from repotune.registry.models import register_version
from repotune.registry.tracking import RunTracker, client_for
from repotune.workspace import Workspace


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module", params=["embedded", "server"])
def uri(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    if request.param == "embedded":
        yield Workspace.at(root).default_tracking_uri()
        return
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("mlflow server did not start")
            time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(timeout=30)


def _register(uri: str, model: str, n: int) -> list[str]:
    client = client_for(uri)
    versions = []
    for i in range(n):
        tracker = RunTracker.start(uri, "lifecycle-tests", f"train-{i}")
        tracker.log_text(f"weights {i}", "adapter/adapter_model.txt")
        tracker.finish()
        versions.append(
            register_version(client, model, tracker.run_id, tracker.artifact_uri("adapter"), {})
        )
    return versions


def test_promote_and_rollback_keep_a_history(uri):
    client = client_for(uri)
    model = "lifecycle"
    v1, v2, v3 = _register(uri, model, 3)
    promote(client, uri, model, v1, "first good model", who="alice")
    promote(client, uri, model, v2, "better on pass@1", who="bob")
    promote(client, uri, model, v3, "better again", who="bob")
    assert aliases(client, model) == {"champion": v3, "previous": v2}

    moves = rollback(client, uri, model, "v3 breaks imports in prod", who="carol")
    assert aliases(client, model) == {"champion": v2, "previous": v1}
    assert [(m.alias, m.previous, m.version) for m in moves] == [
        ("champion", v3, v2),
        ("previous", v2, v1),
    ]
    rolled = client.get_model_version(model, v3).tags["rolled_back"]
    assert "carol" in rolled and "breaks imports" in rolled

    # A second rollback goes further back in time, not forward to the bad version.
    rollback(client, uri, model, "v2 too", who="carol")
    assert aliases(client, model) == {"champion": v1}

    history = alias_history(client, model)
    champion_moves = [(m.previous, m.version, m.who) for m in history if m.alias == "champion"]
    assert champion_moves == [
        (None, v1, "alice"),
        (v1, v2, "bob"),
        (v2, v3, "bob"),
        (v3, v2, "carol"),
        (v2, v1, "carol"),
    ]
    assert history[-1].why.startswith("rollback to") or "rollback" in history[-2].why
    assert all(move.time for move in history)


def test_bad_rollbacks_and_promotions_are_clear_errors(uri):
    client = client_for(uri)
    model = "lifecycle-errors"
    (v1,) = _register(uri, model, 1)
    with pytest.raises(RepotuneError, match="no `previous` version to roll back to"):
        rollback(client, uri, model, "nothing before")
    with pytest.raises(RepotuneError, match="version 99 of 'lifecycle-errors' does not exist"):
        rollback(client, uri, model, "typo", to="99")
    with pytest.raises(RepotuneError, match="a rollback needs a reason"):
        rollback(client, uri, model, "  ", to=v1)
    with pytest.raises(RepotuneError, match="no registered model named 'never-made'"):
        promote(client, uri, "never-made", "1", "x")


def test_keep_n_archives_old_weights_never_an_aliased_version(uri):
    client = client_for(uri)
    model = "lifecycle-keep"
    versions = _register(uri, model, 5)
    promote(client, uri, model, versions[0], "old but gold")
    promote(client, uri, model, versions[1], "newer")
    archived = archive_old_versions(client, uri, model, keep=2)
    # Newest two kept; v1 (previous) and v2 (champion) protected; v3 archived.
    assert archived == [versions[2]]
    assert archive_old_versions(client, uri, model, keep=2) == []
    gone = client.get_model_version(model, versions[2])
    assert "archived" in gone.tags
    with pytest.raises((MlflowException, OSError)):
        download_artifacts(artifact_uri=gone.source + "/adapter_model.txt", tracking_uri=uri)
    kept = client.get_model_version(model, versions[0])
    local = download_artifacts(artifact_uri=kept.source, tracking_uri=uri)
    assert (Path(local) / "adapter_model.txt").read_text() == "weights 0"
    with pytest.raises(RepotuneError, match="was archived on .*raise `registry.keep_versions`"):
        rollback(client, uri, model, "want it back", to=versions[2])
    with pytest.raises(RepotuneError, match="was archived"):
        promote(client, uri, model, versions[2], "want it back")


def test_concurrent_promotions_leave_one_consistent_champion(uri):
    client = client_for(uri)
    model = "lifecycle-race"
    versions = _register(uri, model, 6)
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda v: promote(client_for(uri), uri, model, v, f"race {v}"), versions))
    current = aliases(client, model)
    history = [m for m in alias_history(client, model) if m.alias == "champion"]
    assert len(history) == 6 and {m.version for m in history} == set(versions)
    # Each promotion saw the one before it: the moves form a single chain.
    for before, after in zip(history, history[1:], strict=False):
        assert after.previous == before.version
    assert current["champion"] == history[-1].version
    assert current["previous"] == history[-1].previous
