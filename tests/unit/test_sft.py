"""LoRA SFT: it logs, it moves the adapter weights, and the saved adapter reloads and matters."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ml_fixtures import (  # noqa: F401 - fixtures are used by name
    fixture_tiny_adapter,
    fixture_tiny_base,
    fixture_tiny_corpus,
    fixture_tiny_rows,
    train_cfg,
)

from repotune.errors import RepotuneError
from repotune.modeling.base import load_model_and_tokenizer
from repotune.training.sft import train_lora


def test_training_logs_loss_and_moves_lora_b(tiny_adapter):
    result, logged = tiny_adapter
    assert [step for step, _ in result.loss_history] == list(range(1, 9))
    assert all(loss > 0 for _, loss in result.loss_history)
    assert any("loss" in logs and "learning_rate" in logs for _, logs in logged)
    assert any("train_runtime" in logs for _, logs in logged)
    metrics = result.metrics
    assert metrics["steps"] == 8
    assert metrics["lora_b_norm_before"] == 0.0 and metrics["lora_b_norm_after"] > 0.0
    assert 0 < metrics["trainable_params"] < metrics["total_params"]
    mean_logged = sum(loss for _, loss in result.loss_history) / len(result.loss_history)
    assert metrics["train_loss"] == pytest.approx(mean_logged, rel=1e-3)


def test_saved_adapter_is_small_and_reloads_with_different_logits(tiny_adapter, tiny_base):
    result, _ = tiny_adapter
    adapter_dir = Path(result.adapter_dir)
    assert (adapter_dir / "adapter_config.json").is_file()
    assert (adapter_dir / "adapter_model.safetensors").is_file()
    assert (adapter_dir / "tokenizer.json").is_file()
    assert not (adapter_dir / "model.safetensors").exists()
    base, tokenizer = load_model_and_tokenizer(tiny_base)
    tuned, _ = load_model_and_tokenizer(tiny_base, result.adapter_dir)
    assert not tuned.training
    ids = tokenizer('def add(a, b):\n    """Return the sum of a and b."""\n', return_tensors="pt")
    with torch.no_grad():
        base_logits = base(**ids).logits
        tuned_logits = tuned(**ids).logits
        again = tuned(**ids).logits
    assert torch.equal(tuned_logits, again)
    assert (tuned_logits - base_logits).abs().max() > 1e-3


def test_empty_train_set_is_a_clear_error(tiny_base, tmp_path):
    with pytest.raises(RepotuneError, match="train split is empty") as err:
        train_lora(tiny_base, [], train_cfg(), tmp_path)
    assert err.value.stage == "train"


def test_unknown_target_modules_name_the_field(tiny_base, tiny_rows, tmp_path):
    with pytest.raises(RepotuneError, match="train.target_modules"):
        train_lora(tiny_base, tiny_rows, train_cfg(target_modules=["nope"]), tmp_path)


def test_max_steps_caps_the_epochs_but_never_extends_them():
    from repotune.config import TrainConfig
    from repotune.training.sft import _step_cap

    cfg = TrainConfig(batch_size=8, num_epochs=3, max_steps=300)
    assert _step_cap(80, cfg) == -1  # 30 steps of epochs fit in the budget
    assert _step_cap(8000, cfg) == 300  # 3000 steps do not: capped
    assert _step_cap(8000, TrainConfig(max_steps=-1)) == -1
