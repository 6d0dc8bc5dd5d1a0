"""LoRA supervised fine-tuning: teach the base model to write a repository's function bodies.

Each sample is a prompt (signature + docstring) and a completion (the body). The loss is computed on
the completion only, and the completion ends with the tokenizer's EOS so the model learns where a
function stops. Only the adapter is trained and saved: it is small, and the base it sits on is
recorded separately.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import PrinterCallback, TrainerCallback
from trl import SFTConfig, SFTTrainer

from repotune.config import TrainConfig
from repotune.errors import RepotuneError
from repotune.modeling.base import load_model_and_tokenizer

STAGE = "train"
LogFn = Callable[[int, dict[str, float]], None]


@dataclass
class TrainResult:
    """Where the adapter went and how training went (``metrics`` are MLflow-ready floats)."""

    adapter_dir: str
    metrics: dict[str, float]
    loss_history: list[tuple[int, float]] = field(default_factory=list)


class _LogForwarder(TrainerCallback):
    """Collects the loss curve and hands every numeric log entry to the caller (e.g. MLflow)."""

    def __init__(self, forward: LogFn | None) -> None:
        self.forward = forward
        self.loss_history: list[tuple[int, float]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        numeric = {
            key: float(value)
            for key, value in (logs or {}).items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        if "loss" in numeric:
            self.loss_history.append((state.global_step, numeric["loss"]))
        if self.forward is not None and numeric:
            self.forward(state.global_step, numeric)


def _lora_b_norm(model: torch.nn.Module) -> float:
    """L2 norm over all LoRA B matrices: zero at initialisation, so > 0 proves training ran."""
    squares = [
        p.detach().float().pow(2).sum() for n, p in model.named_parameters() if "lora_B" in n
    ]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


def _dataset(train_rows: list[dict], eos_token: str) -> Dataset:
    if not train_rows:
        raise RepotuneError(
            STAGE,
            "the train split is empty, there is nothing to fine-tune on",
            "include more files (`source.include`) or lower `dataset.test_fraction`",
        )
    missing = [i for i, row in enumerate(train_rows) if not {"prompt", "completion"} <= row.keys()]
    if missing:
        raise RepotuneError(
            STAGE,
            f"train rows {missing[:5]} lack a 'prompt' or 'completion' field",
            "build the train split with repotune's dataset stage",
        )
    rows = [
        {
            "prompt": row["prompt"],
            "completion": row["completion"]
            if row["completion"].endswith(eos_token)
            else row["completion"] + eos_token,
        }
        for row in train_rows
    ]
    return Dataset.from_list(rows)


def _step_cap(n_rows: int, cfg: TrainConfig) -> int:
    """``max_steps`` for the trainer: ``cfg.max_steps`` only when it cuts the epochs short.

    (In transformers ``max_steps`` replaces the epoch count; here it is a budget cap.)
    """
    epoch_steps = math.ceil(n_rows / cfg.batch_size) * cfg.num_epochs
    return cfg.max_steps if 0 < cfg.max_steps < epoch_steps else -1


def train_lora(
    base_path: str,
    train_rows: list[dict],
    cfg: TrainConfig,
    out_dir: Path,
    on_log: LogFn | None = None,
) -> TrainResult:
    """Fine-tune a LoRA adapter on prompt/completion rows; save adapter + tokenizer to ``out_dir``.

    ``on_log(step, logs)`` receives every logged step (loss, learning rate, grad norm, ...) and
    the final summary (train_loss, train_runtime, ...).
    """
    model, tokenizer = load_model_and_tokenizer(base_path)
    dataset = _dataset(train_rows, tokenizer.eos_token)
    forwarder = _LogForwarder(on_log)
    with tempfile.TemporaryDirectory(prefix="repotune-sft-") as scratch:
        args = SFTConfig(
            output_dir=scratch,
            learning_rate=cfg.learning_rate,
            num_train_epochs=cfg.num_epochs,
            max_steps=_step_cap(len(dataset), cfg),
            per_device_train_batch_size=cfg.batch_size,
            warmup_steps=0.1,
            seed=cfg.seed,
            data_seed=cfg.seed,
            max_length=cfg.max_seq_len,
            completion_only_loss=True,
            train_sampling_strategy="group_by_length",
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            bf16=False,
            fp16=False,
            use_cpu=True,
            dataloader_pin_memory=False,
            # transformers 5.23 renamed gradient_checkpointing; TRL's default (True) would warn.
            activation_checkpointing=False,
        )
        lora = LoraConfig(
            task_type="CAUSAL_LM",
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=list(cfg.target_modules),
        )
        try:
            trainer = SFTTrainer(
                model=model,
                args=args,
                train_dataset=dataset,
                processing_class=tokenizer,
                peft_config=lora,
                callbacks=[forwarder],
            )
        except ValueError as err:
            if "Target modules" in str(err):
                raise RepotuneError(
                    STAGE,
                    f"`train.target_modules` {cfg.target_modules} match no layer of the base model",
                    "use its linear layer names, e.g. q_proj, v_proj for Llama-style models",
                ) from None
            raise
        if len(trainer.train_dataset) == 0:
            raise RepotuneError(
                STAGE,
                f"every train sample's prompt fills `train.max_seq_len` ({cfg.max_seq_len}) tokens",
                "raise `train.max_seq_len` or lower `dataset.max_prompt_chars`",
            )
        trainer.remove_callback(PrinterCallback)
        b_norm_before = _lora_b_norm(trainer.model)
        output = trainer.train()
    trainable, total = trainer.model.get_nb_trainable_parameters()
    out_dir.mkdir(parents=True, exist_ok=True)
    trainer.model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    metrics = {
        "train_loss": float(output.training_loss),
        "train_runtime": float(output.metrics["train_runtime"]),
        "steps": float(output.global_step),
        "trainable_params": float(trainable),
        "total_params": float(total),
        "lora_b_norm_before": b_norm_before,
        "lora_b_norm_after": _lora_b_norm(trainer.model),
    }
    return TrainResult(str(out_dir), metrics, forwarder.loss_history)
