"""LoRA supervised fine-tuning: teach the base model to write a repository's function bodies.

Each sample is a prompt (signature + docstring) and a completion (the body). The loss is computed on
the completion only, and the completion ends with the tokenizer's EOS so the model learns where a
function stops. Only the adapter is trained and saved: it is small, and the base it sits on is
recorded separately.

One call runs the whole recipe: tokenize (or reuse the cached tokens), hold out an eval split,
pack samples into rows, resolve ``auto`` hyper-parameters from the data size, train with periodic
evaluation and checkpoints (resuming a crashed run when asked), keep the best checkpoint by eval
loss, and refuse an adapter that did not learn.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import EarlyStoppingCallback, PrinterCallback, TrainerCallback
from trl import SFTConfig, SFTTrainer

from repotune.config import TrainConfig
from repotune.errors import RepotuneError
from repotune.training.checkpoints import prepare_checkpoints
from repotune.training.data import prepare_rows, split_train_eval
from repotune.training.guards import check_learned, explain_out_of_memory, lora_b_norm
from repotune.training.hparams import ResolvedHparams, resolve_hparams
from repotune.training.model_setup import Precision, load_for_training, resolve_precision
from repotune.training.packing import PackedRowsCollator, pack_rows
from repotune.training.token_cache import tokenized_rows

STAGE = "train"
LogFn = Callable[[int, dict[str, float]], None]
logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """Where the adapter went and how training went (``metrics`` are MLflow-ready floats,
    ``hparams`` the resolved hyper-parameters to log as params)."""

    adapter_dir: str
    metrics: dict[str, float]
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    hparams: dict[str, float] = field(default_factory=dict)
    best_checkpoint: str | None = None


class _LogForwarder(TrainerCallback):
    """Collects the loss curve and hands every numeric log entry to the caller (e.g. MLflow)."""

    def __init__(self, forward: LogFn | None) -> None:
        self.forward = forward
        self.loss_history: list[tuple[int, float]] = []
        self.tokens_at_start = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.tokens_at_start = state.num_input_tokens_seen

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


class _EvaluateLastStep(TrainerCallback):
    """Evaluate and checkpoint the final step too, so the best-checkpoint choice sees it."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_evaluate = True
            control.should_save = True


def _world_size() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def _datasets(
    tokenized: Dataset, train_rows: list[dict], cfg: TrainConfig
) -> tuple[Dataset, Dataset, int]:
    """Train and eval datasets (packed when ``cfg.packing``) and the number of train samples."""
    positions = {row: pos for pos, row in enumerate(tokenized["row"])}
    split = split_train_eval(train_rows, list(positions), cfg.eval_fraction, cfg.seed)
    sides = [
        tokenized.select([positions[row] for row in rows]).select_columns(["input_ids", "labels"])
        for rows in (split.train, split.eval)
    ]
    if cfg.packing:
        sides = [pack_rows(side, cfg.max_seq_len) for side in sides]
    return sides[0], sides[1], len(split.train)


def _args(folder: Path, cfg: TrainConfig, hp: ResolvedHparams, precision: Precision) -> SFTConfig:
    return SFTConfig(
        output_dir=str(folder),
        learning_rate=cfg.learning_rate,
        num_train_epochs=hp.num_epochs,
        max_steps=hp.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        warmup_steps=hp.warmup_steps,
        seed=cfg.seed,
        data_seed=cfg.seed,
        max_length=cfg.max_seq_len,
        # Rows arrive tokenized, labelled and (maybe) packed: see token_cache and packing.
        dataset_kwargs={"skip_prepare_dataset": True},
        train_sampling_strategy="random" if cfg.packing else "group_by_length",
        logging_steps=1,
        eval_strategy="steps",
        eval_steps=hp.save_steps,
        save_strategy="steps",
        save_steps=hp.save_steps,
        save_total_limit=2,  # the best and the last: rotation never deletes the best one
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=True,
        bf16=precision.bf16,
        fp16=False,
        use_cpu=not precision.cuda,
        dataloader_pin_memory=precision.cuda,
        # transformers 5.23 renamed gradient_checkpointing; TRL's default (True) would warn.
        activation_checkpointing=cfg.gradient_checkpointing,
    )


def _step_of(checkpoint: Path | None) -> int:
    """Step a run resumed from (0 for a fresh start), from the checkpoint folder's name."""
    return int(checkpoint.name.rsplit("-", 1)[1]) if checkpoint is not None else 0


def _run_key(base_path: str, data_key: str, cfg: TrainConfig, world_size: int) -> str:
    """What a checkpoint folder's run is: resuming needs the same base, data and settings."""
    parts = {"base": base_path, "data": data_key, "train": cfg.model_dump(), "world": world_size}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def train_lora(
    base_path: str,
    train_rows: list[dict],
    cfg: TrainConfig,
    out_dir: Path,
    on_log: LogFn | None = None,
    *,
    callbacks: Sequence[TrainerCallback] = (),
    cache_dir: Path | None = None,
    dataset_fingerprint: str | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> TrainResult:
    """Fine-tune a LoRA adapter on prompt/completion rows; save the best one to ``out_dir``.

    Args:
        base_path: local folder (or cached hub id) of the base model.
        train_rows: ``{prompt, completion}`` dicts; a ``path`` key keeps a file's rows on one
            side of the eval split.
        cfg: the train section.
        out_dir: receives the best checkpoint's adapter and the tokenizer.
        on_log: ``on_log(step, logs)`` gets every log entry: train loss, learning rate, grad
            norm and tokens/s per step, eval loss at step 0 (before training) and at each
            evaluation, then the final summary.
        callbacks: extra ``TrainerCallback``s (e.g. Ray Train's reporting callback).
        cache_dir: folder of the tokenization cache (None: tokenize in memory every time).
        dataset_fingerprint: lineage of ``train_rows``, written to the cache entry's manifest.
        checkpoint_dir: where checkpoints go every ``save_steps`` (None: a temporary folder).
        resume: continue from the last complete checkpoint in ``checkpoint_dir`` of this run.

    Raises:
        TrainingDidNotLearn: the adapter did not move or eval loss did not fall enough.
        RepotuneError: bad rows, too few rows to split, out of memory, unusable settings.
    """
    precision = resolve_precision(cfg)
    model, tokenizer = load_for_training(base_path, precision)
    rows = prepare_rows(train_rows, tokenizer.eos_token)
    tokenized = tokenized_rows(rows, tokenizer, cfg.max_seq_len, cache_dir, dataset_fingerprint)
    if len(tokenized.dataset) == 0:
        raise RepotuneError(
            STAGE,
            f"every train sample's prompt fills `train.max_seq_len` ({cfg.max_seq_len}) tokens",
            "raise `train.max_seq_len` or lower `dataset.max_prompt_chars`",
        )
    train_set, eval_set, n_train = _datasets(tokenized.dataset, train_rows, cfg)
    world_size = _world_size()
    hp = resolve_hparams(n_train, cfg, n_rows=len(train_set), world_size=world_size)
    logger.info("train hyper-parameters (auto resolved from %d samples): %s", n_train, hp)
    forwarder = _LogForwarder(on_log)
    with tempfile.TemporaryDirectory(prefix="repotune-sft-") as scratch:
        folder = Path(checkpoint_dir) if checkpoint_dir is not None else Path(scratch)
        args = _args(folder, cfg, hp, precision)
        run_key = _run_key(base_path, tokenized.key, cfg, world_size)
        resume_from = prepare_checkpoints(folder, run_key, resume, args.should_save)
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
                data_collator=PackedRowsCollator(tokenizer.pad_token_id) if cfg.packing else None,
                train_dataset=train_set,
                eval_dataset=eval_set,
                processing_class=tokenizer,
                peft_config=lora,
                callbacks=[
                    forwarder,
                    EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience),
                    _EvaluateLastStep(),
                    *callbacks,
                ],
            )
        except ValueError as err:
            if "Target modules" in str(err):
                raise RepotuneError(
                    STAGE,
                    f"`train.target_modules` {cfg.target_modules} match no layer of the base model",
                    "use its linear layer names, e.g. q_proj, v_proj for Llama-style models",
                ) from None
            raise
        trainer.remove_callback(PrinterCallback)
        b_norm_before = lora_b_norm(trainer.model)
        with explain_out_of_memory(cfg, "GPU" if precision.cuda else "CPU"):
            eval_before = trainer.evaluate()["eval_loss"]
            output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        state = trainer.state
    trainable, total = trainer.model.get_nb_trainable_parameters()
    runtime = float(output.metrics["train_runtime"])
    tokens = state.num_input_tokens_seen - forwarder.tokens_at_start
    metrics = {
        "train_loss": float(output.training_loss),
        "train_runtime": runtime,
        "steps": float(output.global_step),
        "best_step": float(state.best_global_step or output.global_step),
        "resumed_from_step": float(_step_of(resume_from)),
        "trainable_params": float(trainable),
        "total_params": float(total),
        "lora_b_norm_before": b_norm_before,
        "lora_b_norm_after": lora_b_norm(trainer.model),
        "eval_loss_before": float(eval_before),
        "eval_loss_best": float(state.best_metric),
        "train_samples": float(n_train),
        "eval_samples": float(len(tokenized.dataset) - n_train),
        "samples_dropped_prompt_too_long": float(tokenized.dropped),
        "train_tokens": float(tokens),
        "train_tokens_per_second": tokens / runtime if runtime > 0 else 0.0,
        "tokenize_cache_hit": float(tokenized.cache_hit),
    }
    check_learned(metrics, cfg)
    if args.should_save:
        out_dir.mkdir(parents=True, exist_ok=True)
        trainer.model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
    best = state.best_model_checkpoint if checkpoint_dir is not None else None
    return TrainResult(str(out_dir), metrics, forwarder.loss_history, hp.as_params(), best)
