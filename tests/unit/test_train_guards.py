"""The did-it-learn guard and out-of-memory messages."""

from __future__ import annotations

import pytest
import torch

from repotune.config import TrainConfig
from repotune.errors import RepotuneError
from repotune.training.guards import TrainingDidNotLearn, check_learned, explain_out_of_memory


def metrics(**overrides) -> dict[str, float]:
    base = {
        "lora_b_norm_after": 0.5,
        "eval_loss_before": 2.0,
        "eval_loss_best": 1.5,
        "steps": 40.0,
        "train_samples": 120.0,
    }
    return {**base, **overrides}


def test_a_run_that_learned_passes():
    check_learned(metrics(), TrainConfig())
    check_learned(metrics(eval_loss_best=1.998), TrainConfig(min_eval_improvement=0.001))


def test_unmoved_adapter_fails_with_the_learning_rate_and_data_size():
    with pytest.raises(TrainingDidNotLearn, match="did not move") as err:
        check_learned(metrics(lora_b_norm_after=0.0), TrainConfig(learning_rate=1e-9))
    text = str(err.value)
    assert "`train.learning_rate` (now 1e-09)" in text and "120 training samples" in text
    assert err.value.stage == "train" and err.value.metrics["lora_b_norm_after"] == 0.0


@pytest.mark.parametrize("best", [2.0, 2.1, 1.9995])
def test_eval_loss_that_did_not_fall_enough_fails(best):
    with pytest.raises(TrainingDidNotLearn, match="eval loss did not fall") as err:
        check_learned(metrics(eval_loss_best=best), TrainConfig(min_eval_improvement=0.001))
    assert "2.0000 before training" in str(err.value) and "more data" in str(err.value)


def test_nan_eval_loss_fails():
    with pytest.raises(TrainingDidNotLearn):
        check_learned(metrics(eval_loss_best=float("nan")), TrainConfig())


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried... out of memory"),
        MemoryError(),
    ],
)
def test_out_of_memory_suggests_smaller_settings_presets_and_qlora(error):
    with pytest.raises(RepotuneError) as err, explain_out_of_memory(TrainConfig(), "GPU"):
        raise error
    text = str(err.value)
    assert "ran out of GPU memory" in text and "`train.batch_size` 8" in text
    assert "gpu-qwen-coder-0.5b-lora" in text and "`train.quantization: 4bit`" in text


def test_other_runtime_errors_pass_through():
    with (
        pytest.raises(RuntimeError, match="shape mismatch"),
        explain_out_of_memory(TrainConfig(), "CPU"),
    ):
        raise RuntimeError("shape mismatch")


def test_a_failed_training_run_carries_its_reason_and_numbers_in_mlflow(tmp_path):
    from repotune.registry.tracking import RunTracker
    from repotune.tasks.model import fail_tracking

    tracker = RunTracker.start(f"sqlite:///{tmp_path / 'mlflow.db'}", "guard", run_name="build")
    metrics = {"eval_loss_before": 2.5, "eval_loss_best": 2.49, "lora_b_norm_after": 0.0}
    error = TrainingDidNotLearn("eval loss did not fall", "raise `train.learning_rate`", metrics)
    fail_tracking.fn(tracker, error)
    run = tracker.client.get_run(tracker.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["failure"] == str(error)
    assert "`train.learning_rate`" in run.data.tags["failure"]
    assert run.data.tags["failure_type"] == "TrainingDidNotLearn"
    assert run.data.metrics["guard/eval_loss_best"] == 2.49


def test_any_other_failure_is_recorded_without_guard_metrics(tmp_path):
    from repotune.registry.tracking import RunTracker
    from repotune.tasks.model import fail_tracking

    tracker = RunTracker.start(f"sqlite:///{tmp_path / 'mlflow.db'}", "guard", run_name="build")
    fail_tracking.fn(tracker, KeyboardInterrupt())
    run = tracker.client.get_run(tracker.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["failure"] == "KeyboardInterrupt"
    assert not run.data.metrics
    stopped = RunTracker.start(tracker.tracking_uri, "guard", run_name="stopped")
    fail_tracking.fn(stopped, SystemExit(15))
    assert stopped.client.get_run(stopped.run_id).data.tags["failure"] == "SystemExit: 15"
