"""Failures of a training run, said plainly: it did not learn, or it ran out of memory.

A LoRA run can finish "successfully" and have learned nothing (a learning rate far too low, a
handful of samples, a broken mask); registering that adapter ships a no-op model. The guard
checks two facts after training and fails the run with the numbers and what to change:
the adapter's B matrices moved away from their zero initialisation, and eval loss on the held-out
rows fell from before training to the best checkpoint by at least ``train.min_eval_improvement``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from repotune.config import TrainConfig
from repotune.errors import RepotuneError

STAGE = "train"


class TrainingDidNotLearn(RepotuneError):
    """Training ran but the adapter is no better than the base; ``metrics`` say by how much."""

    def __init__(self, problem: str, fix: str, metrics: dict[str, float]) -> None:
        super().__init__(STAGE, problem, fix)
        self.metrics = metrics


def lora_b_norm(model: torch.nn.Module) -> float:
    """L2 norm over all LoRA B matrices: zero at initialisation, so > 0 proves training ran."""
    squares = [
        p.detach().float().pow(2).sum() for n, p in model.named_parameters() if "lora_B" in n
    ]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


def check_learned(metrics: dict[str, float], cfg: TrainConfig) -> None:
    """Raise :class:`TrainingDidNotLearn` unless the adapter moved and eval loss fell enough.

    Reads ``lora_b_norm_after``, ``eval_loss_before``, ``eval_loss_best``, ``steps`` and
    ``train_samples`` from ``metrics``.
    """
    data = f"{metrics['steps']:.0f} steps on {metrics['train_samples']:.0f} training samples"
    fix = (
        f"raise `train.learning_rate` (now {cfg.learning_rate:g}), train longer "
        "(`train.num_epochs`, `train.max_steps`) or give it more data"
    )
    if metrics["lora_b_norm_after"] <= 0.0:
        raise TrainingDidNotLearn(
            f"the adapter weights did not move from their initialisation after {data}", fix, metrics
        )
    before, best = metrics["eval_loss_before"], metrics["eval_loss_best"]
    needed = before * (1.0 - cfg.min_eval_improvement)
    if not best <= needed:
        raise TrainingDidNotLearn(
            f"eval loss did not fall: {before:.4f} before training, {best:.4f} at the best "
            f"checkpoint (at most {needed:.4f} needed, `train.min_eval_improvement` = "
            f"{cfg.min_eval_improvement:g}) after {data}",
            fix,
            metrics,
        )


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, torch.OutOfMemoryError | MemoryError) or (
        isinstance(err, RuntimeError) and "out of memory" in str(err).lower()
    )


@contextlib.contextmanager
def explain_out_of_memory(cfg: TrainConfig, device: str) -> Iterator[None]:
    """Turn an out-of-memory error inside the block into one sentence with the ways out."""
    try:
        yield
    except (RuntimeError, MemoryError) as err:
        if not _is_oom(err):
            raise
        raise RepotuneError(
            STAGE,
            f"training ran out of {device} memory at `train.batch_size` {cfg.batch_size} and "
            f"`train.max_seq_len` {cfg.max_seq_len}",
            "lower them, set `train.gradient_checkpointing: true`, or use a smaller preset "
            "(gpu-qwen-coder-0.5b-lora) or QLoRA (`train.quantization: 4bit`, preset "
            "gpu-qwen-coder-1.5b-qlora)",
        ) from None
