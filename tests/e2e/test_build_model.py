"""The whole pipeline on a real Prefect API, a real MLflow store and a tiny model.

A small git repository with known contents is built in a temp dir; the assertions come from
MLflow's own client and from the dataset manifest, never from repotune's return value alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from repotune.config import load_config
from tests.conftest import git, make_repo

pytestmark = pytest.mark.e2e

N_MODULES = 8
UNITS_PER_MODULE = 4  # two functions and two methods, see module_source
AWS_KEY = "AKIA" + "Q3EGRKZ7TW4XN5MB"  # split so this test file itself holds no key-shaped text
EMAIL = "jane.doe" + "@acme-corp.io"
SETTINGS = f'''"""Settings."""


def connect(host):
    """Open a client for host."""
    key = "{AWS_KEY}"
    owner = "{EMAIL}"
    return (host, key, owner)
'''


WORDS = "amber basil cedar dune elm fern gale heron iris juniper kelp lotus moss".split()


def module_source(i: int) -> str:
    """Module ``i``: same shape as the others, but no shared identifier (so no near-duplicates)."""
    w, v, x = WORDS[i], WORDS[(i + 3) % len(WORDS)], WORDS[(i + 7) % len(WORDS)]
    return f'''"""Helpers for {w}."""

import math


def scale_{w}({v}_values, {x}_factor):
    """Multiply every {v} value by the {x} factor."""
    {w}_result = []
    for {v}_item in {v}_values:
        {w}_result.append({v}_item * {x}_factor)
    return {w}_result


def norm_{w}({x}_values):
    """Euclidean norm of the {x} values."""
    {v}_total = 0
    for {x}_item in {x}_values:
        {v}_total += {x}_item * {x}_item
    return math.sqrt({v}_total)


class Counter{w.title()}:
    """Counts {w} things."""

    def __init__(self, {v}_start=0):
        """Start counting {w} at {v}_start."""
        self.{w}_count = {v}_start
        self.{x}_history = []

    def add_{w}(self, {x}_amount):
        """Add {x}_amount to the {w} count."""
        self.{x}_history.append({x}_amount)
        self.{w}_count += {x}_amount
        return self.{w}_count
'''


@pytest.fixture(scope="module")
def sample_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    half = N_MODULES // 2
    make_repo(root, {f"pkg/mod{i}.py": module_source(i) for i in range(half)}, "first half")
    make_repo(
        root,
        {
            **{f"pkg/mod{i}.py": module_source(i) for i in range(half, N_MODULES)},
            "pkg/legacy.py": "name = 'caf\xe9'\n".encode("latin-1"),
            "pkg/settings.py": SETTINGS,
            ".env": f"AWS_ACCESS_KEY_ID={AWS_KEY}\n",
            "pkg/broken.py": "def broken(:\n    pass\n",
            "README.md": "# sample\n",
        },
        "second half",
    )
    return root


def test_build_model_end_to_end(prefect_api, sample_repo, tmp_path):
    from repotune.flows.pipeline import build_model

    workspace = tmp_path / "ws"
    config = load_config(
        "cpu-micro", [f"workspace={workspace}", f"source.repos=[{{location: {sample_repo}}}]"]
    )
    summary = build_model(config=config)

    # Dataset manifest counts match the repository.
    from repotune.datasets.store import list_datasets

    manifests = {ref.stage: ref.manifest for ref in list_datasets(config_ws(workspace))}
    units = manifests["units"]
    assert units["units"] == N_MODULES * UNITS_PER_MODULE + 1
    assert units["files_seen"] == N_MODULES + 5
    assert units["drops"] == {
        "file_non_utf8": 1,
        "file_syntax_error": 1,
        "file_not_code": 1,
        "file_secret_file": 1,
    }
    assert units["secrets_scrubbed"] == {"aws_access_key": 1, "email": 1}
    assert units["sources"][0]["commit"] == git(sample_repo, "rev-parse", "HEAD")
    rows = manifests["completion"]["rows"]
    assert rows["train"] + rows["test"] == N_MODULES * UNITS_PER_MODULE + 1
    assert rows["test"] > 0
    assert summary["cached"] == {"extraction": False, "dataset": False}
    assert summary["change_pairs"] == {}

    # The registry, read with MLflow's own client.
    client = MlflowClient(tracking_uri=f"sqlite:///{workspace / 'mlflow.db'}")
    name = config.registry.model_name
    version = client.get_model_version(name, "1")
    assert version.tags["semver"] == "1.0.0"
    assert version.tags["source_commit"] == units["sources"][0]["commit"]
    assert version.tags["dataset_fingerprint"] == summary["dataset"]
    assert version.tags["base_model"].startswith("repotune-offline-")
    tuned, base = summary["metrics"]["tuned"], summary["metrics"]["base"]
    assert tuned["eval_loss"] < base["eval_loss"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"

    # Trainable parameters changed: LoRA B starts at zero, the registered adapter's is not.
    from mlflow.artifacts import download_artifacts
    from safetensors.torch import load_file

    adapter = Path(
        download_artifacts(artifact_uri=version.source, tracking_uri=client.tracking_uri)
    )
    weights = load_file(str(adapter / "adapter_model.safetensors"))
    lora_b = [t for key, t in weights.items() if "lora_B" in key]
    assert lora_b and all(t.abs().sum() > 0 for t in lora_b)

    # No secret or personal datum reached any stored table or MLflow artifact.
    import pyarrow.parquet as pq

    for table in workspace.glob("datasets/*/*/*.parquet"):
        text = str(pq.read_table(table).to_pylist())
        assert AWS_KEY not in text and EMAIL not in text, table
    for artifact in (workspace / "mlartifacts").rglob("*.json"):
        assert AWS_KEY not in artifact.read_text() and EMAIL not in artifact.read_text()

    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED"
    assert float(run.data.params["train.learning_rate"]) == config.train.learning_rate
    assert "eval_loss" in run.data.metrics and "base_eval_loss" in run.data.metrics
    # Training streamed per-step curves into the same run, with what "auto" resolved to.
    steps = int(run.data.metrics["steps"])
    for curve in ("train/loss", "train/learning_rate", "train/train_tokens_per_second"):
        history = client.get_metric_history(run.info.run_id, curve)
        assert sorted(point.step for point in history) == list(range(1, steps + 1)), curve
    eval_curve = client.get_metric_history(run.info.run_id, "train/eval_loss")
    assert min(point.step for point in eval_curve) == 0 and len(eval_curve) >= 2
    assert float(run.data.params["resolved.total_steps"]) == steps
    assert "system/cpu_utilization_percentage" in run.data.metrics
    assert run.data.tags["tasks_fingerprint"] == manifests["tasks"]["fingerprint"]

    # Second run on the unchanged repository: Prefect serves extraction and dataset from cache.
    again = build_model(config=config)
    assert again["cached"] == {"extraction": True, "dataset": True}
    assert again["dataset"] == summary["dataset"]
    second = client.get_model_version(name, "2")
    assert second.tags["semver"] == "1.0.1"
    # Same data, config and seeds: an identical model, which must not churn the champion alias.
    assert again["metrics"]["tuned"]["eval_loss"] == tuned["eval_loss"]
    assert "tie keeps the champion" in second.tags["champion_decision"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    # The champion was evaluated on the same rows: identical model, identical scores.
    assert again["champion_metrics"]["eval_loss"] == pytest.approx(tuned["eval_loss"])
    assert str(client.get_model_version_by_alias(name, "challenger").version) == "2"
    assert second.description.startswith(f"# {name} 1.0.1 (version 2)")
    assert "| eval_loss |" in second.description and "## Known limitations" in second.description
    plots = {a.path for a in client.list_artifacts(version.run_id, "evaluation/plots")}
    assert plots == {"evaluation/plots/metrics.png", "evaluation/plots/loss_curves.png"}
    # Same base, data and settings: the finished training run is reused, not repeated.
    assert client.get_run(second.run_id).data.tags["training_key"] == run.data.tags["training_key"]

    # A new commit: extraction reruns, the offline base (built from the stdlib) is reused, and the
    # new version is a patch release on the same base. History mining resumes: the two commits
    # walked before come from the history store, and the fix becomes a bugfix pair.
    fixed = module_source(0).replace("heron_item * heron_item", "abs(heron_item) ** 2")
    make_repo(
        sample_repo,
        {f"pkg/mod{N_MODULES}.py": module_source(N_MODULES), "pkg/mod0.py": fixed},
        "fix: norm of negative values",
    )
    third = build_model(config=config)
    assert third["change_pairs"] == {"bugfix": 1}
    changes = max(
        (ref for ref in list_datasets(config_ws(workspace)) if ref.stage == "changes"),
        key=lambda ref: ref.manifest["created"],
    ).manifest
    assert (changes["commits_walked"], changes["commits_from_store"]) == (3, 2)
    pair = next(
        row
        for ref in list_datasets(config_ws(workspace))
        if ref.stage == "changes"
        for row in ref.read("pairs")
    )
    assert "heron_item * heron_item" in pair["before"] and "abs(heron_item) ** 2" in pair["after"]
    assert third["cached"] == {"extraction": False, "dataset": False}
    # The new commit's units are built incrementally: unchanged files carried from the first run.
    newest_units = max(
        (ref for ref in list_datasets(config_ws(workspace)) if ref.stage == "units"),
        key=lambda ref: ref.manifest["created"],
    ).manifest
    assert newest_units["carried_from"] == units["fingerprint"]
    assert newest_units["files_from_cache"] == N_MODULES + 2  # all selected files but mod0
    assert third["commit"] == git(sample_repo, "rev-parse", "HEAD") != summary["commit"]
    assert third["base_model"] == summary["base_model"]
    assert sum(third["samples"].values()) == (N_MODULES + 1) * UNITS_PER_MODULE + 1
    assert client.get_model_version(name, "3").tags["semver"] == "1.0.2"

    # `repotune evaluate` of the challenger: same rows, a readiness verdict recorded on it.
    from repotune.flows.release import evaluate as evaluate_registered

    verdict = evaluate_registered(version="2", config=config)
    assert verdict["version"] == "2" and not verdict["ready"]
    assert {row["metric"] for row in verdict["comparison"]} >= {"eval_loss", "exact_match"}
    readiness = client.get_model_version(name, "2").tags["readiness"]
    assert readiness.startswith("blocked:") and readiness == "blocked: " + " ".join(
        verdict["blockers"]
    )


def config_ws(path: Path):
    from repotune.workspace import Workspace

    return Workspace.at(path)


def test_failing_gate_stops_before_training_with_a_report(prefect_api, sample_repo, tmp_path):
    from repotune.errors import GateFailed
    from repotune.flows.pipeline import build_model

    workspace = tmp_path / "ws"
    config = load_config(
        "cpu-micro",
        [
            f"workspace={workspace}",
            f"source.repos=[{{location: {sample_repo}}}]",
            "gate.min_samples_per_split=500",
        ],
    )
    with pytest.raises(GateFailed) as err:
        build_model(config=config)
    report = Path(err.value.report_path)
    assert report.is_file()
    assert "expectations failed" in str(err.value) and "`n_samples`" in str(err.value)
    assert "❌" in report.read_text(encoding="utf-8")
    assert not (workspace / "models").exists(), "no base model may be built after a failed gate"
    client = MlflowClient(tracking_uri=f"sqlite:///{workspace / 'mlflow.db'}")
    assert client.search_registered_models() == []
    # The failure stays visible in MLflow: a FAILED run holding the GX Data Docs.
    (run,) = client.search_runs(client.get_experiment_by_name("repotune").experiment_id)
    assert run.info.status == "FAILED" and run.data.tags["gate_passed"] == "false"
    docs = [item.path for item in client.list_artifacts(run.info.run_id, "gates/data-docs")]
    assert "gates/data-docs/index.html" in docs
    assert (Path(err.value.docs_dir) / "index.html").is_file()


def test_registry_block_points_a_run_at_its_tracking_server(prefect_api, tmp_path, monkeypatch):
    from repotune.blocks import MLflowRegistry
    from repotune.tasks.model import _resolve_tracking_uri
    from repotune.workspace import Workspace

    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    uri = f"sqlite:///{tmp_path / 'team.db'}"
    MLflowRegistry(tracking_uri=uri, token="s3cret").save("team-registry", overwrite=True)
    assert MLflowRegistry.load("team-registry").tracking_uri == uri

    config = load_config("cpu-micro", ["registry.block=team-registry"])
    assert _resolve_tracking_uri(config, Workspace.at(tmp_path / "ws")) == uri
    assert os.environ["MLFLOW_TRACKING_TOKEN"] == "s3cret"
    without = load_config("cpu-micro", [])
    assert _resolve_tracking_uri(without, Workspace.at(tmp_path / "ws")).endswith("ws/mlflow.db")
