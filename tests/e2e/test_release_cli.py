"""The release commands as a user runs them: promote, rollback, history and compare in a
subprocess, on a workspace's embedded MLflow store, with the flows on an ephemeral Prefect API."""

from __future__ import annotations

import pytest

from repotune.registry.models import register_version
from repotune.registry.tracking import RunTracker, client_for
from repotune.workspace import Workspace
from tests.unit.test_cli import assert_one_clear_sentence, repotune

pytestmark = pytest.mark.e2e
MODEL = "repotune-code-model"


def test_promote_rollback_history_and_compare(tmp_path):
    ws = Workspace.at(tmp_path / "ws")
    uri = ws.default_tracking_uri()
    client = client_for(uri)
    for i, loss in enumerate((1.5, 1.2)):
        tracker = RunTracker.start(uri, "repotune", f"train-{i}")
        tracker.log_text("weights", "adapter/adapter_model.txt")
        tracker.finish()
        tags = {"semver": f"1.0.{i}", "metric.eval_loss": str(loss), "base_model": "b"}
        register_version(client, MODEL, tracker.run_id, tracker.artifact_uri("adapter"), tags)
    args = ("-w", str(ws.root))

    first = repotune("promote", "1", "--reason", "first usable model", *args)
    assert first.returncode == 0, first.stderr
    assert "champion   - -> 1" in first.stdout
    second = repotune("promote", "2", "--reason", "lower loss", *args)
    assert second.returncode == 0, second.stderr
    back = repotune("rollback", "--reason", "v2 breaks the build", *args)
    assert back.returncode == 0, back.stderr
    assert "champion   2 -> 1" in back.stdout
    aliases = client.get_registered_model(MODEL).aliases
    assert {k: str(v) for k, v in aliases.items()} == {"champion": "1"}

    shown = repotune("history", *args)
    assert shown.returncode == 0, shown.stderr
    moves = [line for line in shown.stdout.splitlines() if " -> " in line]
    # champion -> 1; previous -> 1 and champion -> 2; champion back to 1 and previous unset
    assert [line.split()[1:5] for line in moves] == [
        ["champion", "-", "->", "1"],
        ["previous", "-", "->", "1"],
        ["champion", "1", "->", "2"],
        ["champion", "2", "->", "1"],
        ["previous", "1", "->", "-"],
    ]
    assert "v2 breaks the build" in shown.stdout and "first usable model" in shown.stdout

    compared = repotune("compare", "1", "2", *args)
    assert compared.returncode == 0, compared.stderr
    loss_line = next(line for line in compared.stdout.splitlines() if line.startswith("eval_loss"))
    assert "1.5" in loss_line and "1.2" in loss_line and loss_line.endswith("*")

    missing = repotune("rollback", "--to", "99", "--reason", "typo", *args)
    assert_one_clear_sentence(missing, "version 99", "does not exist")
