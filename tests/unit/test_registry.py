"""MLflow tracking and registry on a throwaway SQLite store: semver, champion rules, RunTracker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"

from mlflow.tracking import MlflowClient

from repotune.config import PromotionConfig, RegistryConfig
from repotune.errors import RepotuneError
from repotune.registry.lifecycle import promote
from repotune.registry.models import (
    decide_champion,
    next_semver,
    register_version,
    registry_summary,
)
from repotune.registry.tracking import (
    RunTracker,
    check_tracking_server,
    client_for,
    tracking_uri_for,
)
from repotune.workspace import Workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One store per module: creating an MLflow SQLite schema costs ~1.5 s."""
    return Workspace.at(tmp_path_factory.mktemp("ws"))


@pytest.fixture(scope="module")
def uri(workspace: Workspace) -> str:
    return workspace.default_tracking_uri()


@pytest.fixture(scope="module")
def client(uri: str) -> MlflowClient:
    return client_for(uri)


def _register(client: MlflowClient, uri: str, model: str, tags: dict[str, str]) -> str:
    tracker = RunTracker.start(uri, "registry-tests", f"train-{model}", {"kind": "test"})
    tracker.log_text("adapter weights", "adapter/README.md")
    tracker.finish()
    return register_version(
        client, model, tracker.run_id, tracker.artifact_uri("adapter"), tags, "a test adapter"
    )


def test_semver_sequence(client: MlflowClient, uri: str) -> None:
    model = "semver-model"
    steps = [
        ("base-a", "cfg-1", "tasks-3", "1.0.0", "first version"),
        ("base-a", "cfg-1", "tasks-3", "1.0.1", "new data"),
        ("base-a", "cfg-2", "tasks-3", "1.1.0", "config changed"),
        ("base-a", "cfg-2", "tasks-3", "1.1.1", "new data"),
        ("base-a", "cfg-2", "tasks-4", "1.2.0", "dataset schema changed"),
        ("base-b", "cfg-2", "tasks-4", "2.0.0", "base model changed"),
    ]
    for base, config_hash, schema, expected, why in steps:
        semver, reason = next_semver(client, model, base, config_hash, schema)
        assert (semver, why in reason) == (expected, True), reason
        tags = {
            "semver": semver,
            "base_model": base,
            "config_hash": config_hash,
            "dataset_schema": schema,
        }
        _register(client, uri, model, tags)


def test_register_version_returns_str_and_stores_tags(client: MlflowClient, uri: str) -> None:
    tags = {"semver": "1.0.0", "base_model": "tiny", "dataset_fingerprint": "abc"}
    assert _register(client, uri, "tagged-model", tags) == "1"
    version = _register(client, uri, "tagged-model", {**tags, "semver": "1.0.1"})
    assert version == "2"
    stored = client.get_model_version("tagged-model", version)
    assert stored.tags == {**tags, "semver": "1.0.1"}
    assert stored.description == "a test adapter"
    assert stored.source.endswith("/artifacts/adapter")


def test_decide_champion_rules(client: MlflowClient, uri: str) -> None:
    model = "champion-model"
    base = {"eval_loss": 2.0, "exact_match": 0.1}
    cfg = PromotionConfig(min_improvement=0.02)
    versions = [_register(client, uri, model, {"semver": f"1.0.{i}"}) for i in range(5)]

    def decide(version: str, candidate: dict, key: str = "eval_loss", **kwargs):
        return decide_champion(client, uri, model, version, candidate, base, key, cfg, **kwargs)

    first = decide(versions[0], {"eval_loss": 1.0})
    assert (first.promoted, first.previous_champion) == (True, None)
    assert "no champion" in first.reason

    worse_than_base = decide(versions[1], {"eval_loss": 2.5})
    assert not worse_than_base.promoted and not worse_than_base.challenger
    assert "does not beat the base model's 2" in worse_than_base.reason

    second = decide(versions[2], {"eval_loss": 0.8})
    assert (second.promoted, second.previous_champion) == (True, versions[0])
    aliases = client.get_registered_model(model).aliases
    assert {k: str(v) for k, v in aliases.items()} == {
        "champion": versions[2],
        "previous": versions[0],
    }

    # Beats the base, but improves on the champion by 1.25 % < 2 %: challenger, champion kept.
    small_gain = decide(versions[3], {"eval_loss": 0.79})
    assert not small_gain.promoted and small_gain.challenger
    assert "less than `promotion.min_improvement` 2%" in small_gain.reason
    stored = client.get_model_version(model, versions[3]).tags
    assert stored["metric.eval_loss"] == "0.79"
    assert stored["champion_decision"] == small_gain.reason
    assert str(client.get_model_version_by_alias(model, "champion").version) == versions[2]
    assert str(client.get_model_version_by_alias(model, "challenger").version) == versions[3]

    # A large gain that is noise on the per-sample scores is not significant.
    noisy = ([0.8, 0.2, 1.4, 0.8], [0.1, 1.6, 0.3, 0.6])
    lucky = decide(versions[4], {"eval_loss": 0.65}, scores=noisy)
    assert not lucky.promoted and "not significant" in lucky.reason

    with pytest.raises(RepotuneError, match="already the champion"):
        promote(client, uri, model, versions[2], "again")
    missing = decide(versions[4], {"eval_loss": 0.1}, key="perplexity")
    assert not missing.promoted and "Key metric `perplexity` is missing" in missing.reason

    rows = registry_summary(client, model)
    assert [row["version"] for row in rows] == list(reversed(versions))
    assert rows[2]["aliases"] == ["champion"] and rows[-1]["aliases"] == ["previous"]
    assert rows[2]["tags"]["metric.eval_loss"] == "0.8"
    assert registry_summary(client, "never-registered") == []


def test_run_tracker_logs_what_get_run_shows(
    client: MlflowClient, uri: str, tmp_path: Path
) -> None:
    tracker = RunTracker.start(uri, "tracker-tests", "run-1", {"stage": "train"})
    tracker.log_params({"train": {"lr": 0.001, "modules": ["q", "v"]}, "note": "n" * 7000})
    tracker.log_metrics({"eval_loss": 1.5, "exact_match": 0}, step=3)
    tracker.log_dict({"a": 1}, "reports/config.json")
    tracker.log_text("# card", "model_card.md")
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "weights.bin").write_bytes(b"\x00\x01")
    tracker.log_artifacts(tmp_path / "adapter", "adapter")
    tracker.set_tags({"gate": "passed"})
    with pytest.raises(RepotuneError, match="metric `bad` has the non-numeric value"):
        tracker.log_metrics({"bad": "high"})
    tracker.finish()

    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["train.lr"] == "0.001"
    assert run.data.params["train.modules"] == '["q", "v"]'
    assert run.data.params["note"].endswith("...[truncated]")
    assert run.data.metrics == {"eval_loss": 1.5, "exact_match": 0.0}
    assert [m.step for m in client.get_metric_history(tracker.run_id, "eval_loss")] == [3]
    assert run.data.tags["stage"] == "train" and run.data.tags["gate"] == "passed"
    listed = {item.path for item in client.list_artifacts(tracker.run_id)}
    assert listed == {"reports", "model_card.md", "adapter"}
    artifacts = Workspace(Path(uri.removeprefix("sqlite:///")).parent).mlflow_artifacts
    assert tracker.artifact_uri("adapter").startswith(artifacts.as_uri())
    assert (Path(tracker.artifact_uri("adapter").removeprefix("file://")) / "weights.bin").is_file()


def test_tracking_uri_precedence(workspace: Workspace) -> None:
    assert tracking_uri_for(RegistryConfig(), workspace) == workspace.default_tracking_uri()
    configured = RegistryConfig(tracking_uri="http://mlflow:5000")
    assert tracking_uri_for(configured, workspace) == "http://mlflow:5000"
    assert tracking_uri_for(configured, workspace, "http://block:5000") == "http://block:5000"


def test_check_tracking_server() -> None:
    check_tracking_server("sqlite:///nowhere/mlflow.db")
    with pytest.raises(RepotuneError) as caught:
        check_tracking_server("http://127.0.0.1:9")
    message = str(caught.value)
    assert "MLflow tracking server at http://127.0.0.1:9 is unreachable" in message
    assert "`registry.tracking_uri`" in message
