"""Ray Train: two CPU workers really train data parallel, and everything flows back to the driver.

One two-worker run (module scope, ~45 s) on a local Ray with 2 CPUs is inspected from every
side. A probe callback, pickled into each worker, writes per rank: the ids of the samples that
reached the model in training forward passes (read back from the decoded ``input_ids``) and a
hash of the trainable weights after every optimizer step. Disjoint shards that cover the train
split prove the data is split; equal hashes on both ranks after every step (while they change
from step to step) prove the gradients are synchronised: the ranks see different data, so
without the all-reduce their adapters would drift apart after the first update.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest
import ray
import ray.cloudpickle
import torch
from transformers import TrainerCallback

from repotune.config import BaseModelConfig, TrainConfig
from repotune.errors import RepotuneError
from repotune.modeling.base import build_offline_base, load_model_and_tokenizer
from repotune.training import ray_worker
from repotune.training.ray_cluster import RayScaling
from repotune.training.ray_train import run_key, train_on_ray

ROWS = [
    {"prompt": f'def f{i}(x):\n    """Return x plus {i}."""\n', "completion": f"    return x+{i}\n"}
    for i in range(18)
]
"""18 rows: the eval split holds 2; the other 16 make 4 steps x 2 ranks x 2 rows per epoch."""
STEPS_PER_EPOCH, EPOCHS = 4, 2


class ShardProbe(TrainerCallback):
    """Writes ``rank<N>.jsonl`` in ``folder``: weights hash per step, sample ids per forward."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.step = 0

    def _write(self, **record) -> None:
        with open(Path(self.folder) / f"rank{os.environ['RANK']}.jsonl", "a") as out:
            out.write(json.dumps(record) + "\n")

    @staticmethod
    def _hash(model) -> str:
        digest = hashlib.sha256()
        for name, param in sorted(model.named_parameters()):
            if param.requires_grad:
                digest.update(name.encode())
                digest.update(param.detach().float().numpy().tobytes())
        return digest.hexdigest()

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        self._write(kind="weights", step=0, hash=self._hash(model))

        def record(module, _args, inputs):
            if module.training:
                for ids in inputs["input_ids"]:
                    text = processing_class.decode(ids, skip_special_tokens=True)
                    found = [int(i) for i in re.findall(r"def f(\d+)\(", text)]
                    self._write(kind="sample", step=self.step + 1, ids=found)

        model.register_forward_pre_hook(record, with_kwargs=True)

    def on_step_begin(self, args, state, control, **kwargs):
        self.step = state.global_step

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self._write(kind="weights", step=state.global_step, hash=self._hash(model))


@pytest.fixture(scope="module")
def local_ray():
    """Ray with 2 CPUs for this module; Train's controller polls fast so reports don't wait."""
    previous = os.environ.get("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S")
    os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = "0.2"
    ray.init(address="local", num_cpus=2, include_dashboard=True, log_to_driver=False)
    yield
    ray.shutdown()
    if previous is None:
        del os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"]
    else:
        os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = previous


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> str:
    """An offline base pretrained for one step: training mechanics, not quality."""
    out = tmp_path_factory.mktemp("ray-base")
    corpus = [row["prompt"] + row["completion"] for row in ROWS]
    cfg = BaseModelConfig(
        vocab_size=512, hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2,
        intermediate_size=128, pretrain_steps=1, seed=0,
    )  # fmt: skip
    build_offline_base(corpus, cfg, out)
    return str(out)


def train_cfg() -> TrainConfig:
    return TrainConfig(
        learning_rate=5e-3, num_epochs=EPOCHS, batch_size=2, max_seq_len=128, lora_r=8,
        lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], packing=False,
        save_steps=2, early_stopping_patience=100, seed=1,
    )  # fmt: skip


@pytest.fixture(scope="module")
def run(local_ray, base, tmp_path_factory):
    """One two-worker run: result, driver-side logs, the probe's records per rank, folders."""
    root = tmp_path_factory.mktemp("ray-run")
    probe_dir = root / "probe"
    probe_dir.mkdir()
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    logged: list[tuple[int, dict]] = []
    result = train_on_ray(
        base,
        ROWS,
        train_cfg(),
        root / "adapter",
        scaling=RayScaling(workers=2, cpus_per_worker=1),
        checkpoint_dir=root / "checkpoints",
        on_log=lambda step, logs: logged.append((step, logs)),
        callbacks=[ShardProbe(str(probe_dir))],
    )
    records = {
        rank: [json.loads(line) for line in (probe_dir / f"rank{rank}.jsonl").open()]
        for rank in (0, 1)
    }
    return {"result": result, "logged": logged, "records": records, "root": root}


def _samples(records: list[dict], first: int, last: int) -> list[int]:
    return [
        i for r in records if r["kind"] == "sample" and first <= r["step"] <= last for i in r["ids"]
    ]


def test_each_rank_trains_on_its_own_shard_of_every_epoch(run):
    records = run["records"]
    train_samples = int(run["result"].metrics["train_samples"])
    assert train_samples == 16
    for epoch in range(EPOCHS):
        first, last = epoch * STEPS_PER_EPOCH + 1, (epoch + 1) * STEPS_PER_EPOCH
        rank0, rank1 = _samples(records[0], first, last), _samples(records[1], first, last)
        assert len(rank0) == len(rank1) == train_samples // 2
        assert len(set(rank0)) == len(rank0) and len(set(rank1)) == len(rank1)
        assert not set(rank0) & set(rank1)
        assert len(set(rank0) | set(rank1)) == train_samples
        assert set(rank0) | set(rank1) <= set(range(len(ROWS)))


def test_gradients_are_synchronised_so_ranks_hold_the_same_adapter(run):
    hashes = {
        rank: {r["step"]: r["hash"] for r in run["records"][rank] if r["kind"] == "weights"}
        for rank in (0, 1)
    }
    steps = list(range(EPOCHS * STEPS_PER_EPOCH + 1))
    assert sorted(hashes[0]) == sorted(hashes[1]) == steps
    assert all(hashes[0][step] == hashes[1][step] for step in steps)
    assert hashes[0][steps[-1]] != hashes[0][0]
    assert len(set(hashes[0].values())) >= len(steps) - 1  # warm-up step 1 has lr 0


def test_per_step_metrics_reach_on_log_on_the_driver(run):
    logged = run["logged"]
    train_steps = [step for step, logs in logged if "loss" in logs]
    assert train_steps == list(range(1, EPOCHS * STEPS_PER_EPOCH + 1))
    for _, logs in logged:
        if "loss" in logs:
            assert {"learning_rate", "grad_norm", "train_tokens_per_second"} <= logs.keys()
            assert logs["loss"] > 0 and logs["train_tokens_per_second"] > 0
    eval_steps = [step for step, logs in logged if "eval_loss" in logs]
    assert eval_steps == [0, 2, 4, 6, 8]
    assert [loss for _, loss in run["result"].loss_history] == [
        logs["loss"] for _, logs in logged if "loss" in logs
    ]


def test_result_reports_a_two_worker_run_that_learned(run, base):
    result = run["result"]
    assert result.hparams["world_size"] == 2
    assert result.metrics["steps"] == EPOCHS * STEPS_PER_EPOCH
    assert result.metrics["resumed_from_step"] == 0
    assert result.metrics["lora_b_norm_after"] > 0
    assert result.metrics["eval_loss_best"] < result.metrics["eval_loss_before"]
    assert result.best_checkpoint is not None
    assert Path(result.best_checkpoint).parent.parent == run["root"] / "checkpoints"
    adapter = Path(result.adapter_dir)
    assert (adapter / "adapter_model.safetensors").is_file()
    assert (adapter / "tokenizer.json").is_file()
    base_model, tokenizer = load_model_and_tokenizer(base)
    tuned, _ = load_model_and_tokenizer(base, result.adapter_dir)
    ids = tokenizer(ROWS[0]["prompt"], return_tensors="pt")
    with torch.no_grad():
        assert (tuned(**ids).logits - base_model(**ids).logits).abs().max() > 1e-4


def test_ray_train_reports_stay_off_the_console_and_app_logs_but_ours_do_not(run):
    """Train's INFO lines (every report's metrics dict) are silenced; repotune's own INFO is not.

    The app worker log gets what the console gets (Ray's log level filter on both), so reading
    it tells what the user sees without racing Ray's log streaming to the driver.
    """
    logs = Path(ray._private.worker._global_node.get_session_dir_path()) / "logs" / "train"
    app = "".join(path.read_text() for path in logs.glob("ray-train-app-worker-*.log"))
    assert "train hyper-parameters" in app
    assert "Reporting training result" not in app
    assert "Checkpoint successfully created" not in app


def test_checkpoints_are_kept_per_run_and_local_scratch_is_removed(run, base):
    name = run_key(base, ROWS, train_cfg(), workers=2)
    run_dir = run["root"] / "checkpoints" / name
    kept = sorted(path.name for path in run_dir.iterdir() if path.is_dir())
    assert "final-adapter" in kept
    assert 1 <= len([k for k in kept if k.startswith("checkpoint_")]) <= 3  # best 2 + latest
    assert not ray_worker.worker_folder(name, 0).exists()
    assert not ray_worker.worker_folder(name, 1).exists()


def test_a_finished_run_returns_its_adapter_without_starting_ray(run, base, tmp_path):
    first = run["result"]
    unreachable = RayScaling(workers=2, ray_address="127.0.0.1:1")  # would fail if contacted
    again = train_on_ray(
        base,
        ROWS,
        train_cfg(),
        tmp_path / "again",
        scaling=unreachable,
        checkpoint_dir=run["root"] / "checkpoints",
        run_name=run_key(base, ROWS, train_cfg(), workers=2),
    )
    assert again.metrics == first.metrics
    assert again.loss_history == first.loss_history
    assert (tmp_path / "again" / "adapter_model.safetensors").read_bytes() == (
        Path(first.adapter_dir) / "adapter_model.safetensors"
    ).read_bytes()


def test_run_key_changes_with_data_settings_and_workers(base):
    key = run_key(base, ROWS, train_cfg(), workers=2)
    assert key == run_key(base, ROWS, train_cfg(), workers=2)
    assert key != run_key(base, ROWS[:-1], train_cfg(), workers=2)
    assert key != run_key(base, ROWS, train_cfg().model_copy(update={"seed": 2}), workers=2)
    assert key != run_key(base, ROWS, train_cfg(), workers=1)


def test_diverged_ranks_are_caught(monkeypatch):
    """The sync check compares max and min of the weights' sums over ranks (a fake all-reduce)."""
    model = torch.nn.Linear(3, 2)
    other_rank = {"offset": 0.0}

    def fake_all_reduce(tensor, op=None):
        tensor.copy_(torch.maximum(tensor, tensor + other_rank["offset"]))

    monkeypatch.setattr(torch.distributed, "all_reduce", fake_all_reduce)
    ray_worker._assert_same_weights(model, step=3)
    other_rank["offset"] = 1e-3
    with pytest.raises(RuntimeError, match="not synchronised"):
        ray_worker._assert_same_weights(model, step=3)


def test_a_repotune_error_keeps_its_class_and_fields_across_processes():
    from repotune.training.guards import TrainingDidNotLearn

    err = TrainingDidNotLearn("eval loss did not fall", "raise `train.learning_rate`", {"a": 1.0})
    relayed = ray.cloudpickle.loads(ray.cloudpickle.dumps(ray_worker.RelayedError.of(err)))
    back = relayed.original()
    assert type(back) is TrainingDidNotLearn
    assert str(back) == str(err)
    assert (back.stage, back.problem, back.fix, back.metrics) == (
        "train",
        "eval loss did not fall",
        "raise `train.learning_rate`",
        {"a": 1.0},
    )


def test_workers_that_do_not_fit_the_running_ray_fail_instead_of_waiting(local_ray, base, tmp_path):
    with pytest.raises(RepotuneError, match=r"`train.workers` \(3\) x `train.cpus_per_worker`"):
        train_on_ray(
            base, ROWS, train_cfg(), tmp_path / "adapter", checkpoint_dir=tmp_path,
            scaling=RayScaling(workers=3, cpus_per_worker=1),
        )  # fmt: skip


def test_keep_checkpoints_must_be_positive(base, tmp_path):
    with pytest.raises(RepotuneError, match="train.keep_checkpoints"):
        train_on_ray(
            base, ROWS, train_cfg(), tmp_path, scaling=RayScaling(), checkpoint_dir=tmp_path,
            keep_checkpoints=0,
        )  # fmt: skip


def test_log_relay_batches_train_steps_and_sends_evaluations_at_once():
    from repotune.training.ray_worker import _LogRelay

    class ListQueue(list):
        put = list.append

    sent = ListQueue()
    relay = _LogRelay(sent, interval_s=3600)
    relay(1, {"loss": 2.0})
    relay(2, {"loss": 1.9})
    assert sent == []
    relay(2, {"eval_loss": 1.8})
    assert sent == [[(1, {"loss": 2.0}), (2, {"loss": 1.9}), (2, {"eval_loss": 1.8})]]
    relay(3, {"loss": 1.7})
    relay.flush()
    relay.flush()
    assert sent[1:] == [[(3, {"loss": 1.7})]]
