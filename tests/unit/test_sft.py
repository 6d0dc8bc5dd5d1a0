"""LoRA SFT: it logs, learns, keeps the best checkpoint, resumes after a crash, fails clearly."""

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
from safetensors.torch import load_file
from transformers import TrainerCallback
from trl import SFTTrainer

from repotune.errors import RepotuneError
from repotune.modeling.base import load_model_and_tokenizer
from repotune.training.guards import TrainingDidNotLearn
from repotune.training.sft import train_lora


class Crash(Exception):
    """Stands for the process dying mid-run."""


class CrashAtStep(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise Crash(f"crashed at step {self.step}")


def test_training_logs_loss_and_moves_lora_b(tiny_adapter):
    result, logged = tiny_adapter
    assert [step for step, _ in result.loss_history] == list(range(1, 9))
    assert all(loss > 0 for _, loss in result.loss_history)
    assert any("loss" in logs and "learning_rate" in logs for _, logs in logged)
    assert any("train_tokens_per_second" in logs for _, logs in logged)
    assert any("train_runtime" in logs for _, logs in logged)
    assert logged[0][0] == 0 and "eval_loss" in logged[0][1]  # measured before training
    metrics = result.metrics
    assert metrics["steps"] == 8
    assert metrics["lora_b_norm_before"] == 0.0 and metrics["lora_b_norm_after"] > 0.0
    assert 0 < metrics["trainable_params"] < metrics["total_params"]
    mean_logged = sum(loss for _, loss in result.loss_history) / len(result.loss_history)
    assert metrics["train_loss"] == pytest.approx(mean_logged, rel=1e-3)
    assert metrics["eval_loss_best"] < metrics["eval_loss_before"]
    assert metrics["train_samples"] + metrics["eval_samples"] == 11
    assert metrics["train_tokens"] > 0 and metrics["train_tokens_per_second"] > 0
    # 9 samples: auto epochs = 100 // 9; packed into few rows, the 8-step budget caps them.
    assert result.hparams["num_epochs"] == 11 and result.hparams["max_steps"] == 8
    assert result.hparams["n_rows"] < result.hparams["n_samples"]


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


def test_a_learning_rate_far_too_low_fails_the_guard(tiny_base, tiny_rows, tmp_path):
    with pytest.raises(TrainingDidNotLearn, match="did not (move|fall)") as err:
        train_lora(tiny_base, tiny_rows, train_cfg(learning_rate=1e-12), tmp_path / "adapter")
    assert "`train.learning_rate` (now 1e-12)" in str(err.value)
    assert err.value.metrics["lora_b_norm_after"] < 1e-6
    assert not (tmp_path / "adapter").exists()  # nothing to register


def test_crash_then_resume_continues_and_returns_the_best_checkpoint(
    tiny_base, tiny_rows, tmp_path
):
    cfg = train_cfg(max_steps=6, save_steps=1)
    folders = {"checkpoint_dir": tmp_path / "ckpt", "cache_dir": tmp_path / "tokens"}
    with pytest.raises(Crash):
        train_lora(tiny_base, tiny_rows, cfg, tmp_path / "a", callbacks=[CrashAtStep(3)], **folders)
    result = train_lora(tiny_base, tiny_rows, cfg, tmp_path / "a", resume=True, **folders)
    metrics = result.metrics
    assert metrics["resumed_from_step"] == 2 and metrics["steps"] == 6
    assert [step for step, _ in result.loss_history] == [3, 4, 5, 6]
    assert metrics["tokenize_cache_hit"] == 1.0
    best = Path(result.best_checkpoint)
    assert best.name == f"checkpoint-{metrics['best_step']:.0f}"
    saved = load_file(tmp_path / "a" / "adapter_model.safetensors")
    kept = load_file(best / "adapter_model.safetensors")
    assert saved.keys() == kept.keys()
    assert all(torch.equal(saved[key], kept[key]) for key in saved)


def test_out_of_memory_suggests_a_smaller_preset_or_qlora(
    tiny_base, tiny_rows, tmp_path, monkeypatch
):
    def out_of_memory(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(SFTTrainer, "train", out_of_memory)
    with pytest.raises(RepotuneError, match="ran out of CPU memory") as err:
        train_lora(tiny_base, tiny_rows, train_cfg(), tmp_path)
    assert "gpu-qwen-coder-1.5b-qlora" in str(err.value)


def test_too_few_rows_to_split_or_prompts_filling_max_seq_len(tiny_base, tiny_rows, tmp_path):
    with pytest.raises(RepotuneError, match="too few to hold out an eval split"):
        train_lora(tiny_base, tiny_rows[:1], train_cfg(), tmp_path)
    long_prompts = [{"prompt": "x = 1\n" * 20, "completion": "    pass\n"}] * 3
    with pytest.raises(RepotuneError, match="prompt fills `train.max_seq_len` \\(16\\)"):
        train_lora(tiny_base, long_prompts, train_cfg(max_seq_len=16), tmp_path)


def test_a_hub_id_that_is_not_here_is_one_sentence_on_what_to_do(tiny_rows, tmp_path):
    with pytest.raises(RepotuneError, match="cannot be loaded offline") as err:
        train_lora("Qwen/Qwen2.5-Coder-0.5B", tiny_rows, train_cfg(), tmp_path)
    assert "`base_model.name_or_path`" in str(err.value) and "\n" not in str(err.value)


def test_without_packing_every_sample_is_its_own_row(tiny_base, tiny_rows, tmp_path):
    result = train_lora(tiny_base, tiny_rows, train_cfg(packing=False, max_steps=3), tmp_path)
    assert result.hparams["n_rows"] == result.hparams["n_samples"] == 9
    assert result.metrics["steps"] == 3 and result.metrics["lora_b_norm_after"] > 0
