"""Hyper-parameters that follow the data size when the preset leaves them to ``auto``.

Hosted fine-tuning services pick the number of epochs from the number of training examples, so
a user with 40 samples and one with 40,000 both get a sensible run without tuning anything. We
use the rule OpenAI publishes in its fine-tuning data-preparation cookbook: aim at 3 epochs, but
make tiny sets see at least ~100 examples in total (up to 25 epochs) and cap huge sets at ~25,000
examples seen (down to 1 epoch). Steps then follow from the rows per epoch and the batch size,
and the evaluation/checkpoint interval from the steps, so all of them scale with the data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from repotune.config import TrainConfig

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_EPOCHS = 1
MAX_EPOCHS = 25
EVALS_PER_RUN = 10
"""With ``save_steps`` left empty, evaluate (and checkpoint) about this many times per run."""
WARMUP_FRACTION = 0.1


@dataclass(frozen=True)
class ResolvedHparams:
    """What the trainer actually runs with; ``auto`` fields are resolved, all are loggable."""

    n_samples: int
    n_rows: int
    world_size: int
    num_epochs: float
    epochs_auto: bool
    batch_size: int
    learning_rate: float
    steps_per_epoch: int
    total_steps: int
    max_steps: int
    """``max_steps`` for the trainer: -1 lets the epochs decide, else ``train.max_steps`` caps."""
    warmup_steps: int
    save_steps: int

    def as_params(self) -> dict[str, float]:
        """Flat numeric dict for MLflow params and metrics (booleans as 0/1)."""
        return {key: float(value) for key, value in asdict(self).items()}


def auto_epochs(n_samples: int) -> int:
    """Epochs for ``n_samples`` training examples (OpenAI's published default rule)."""
    if n_samples < 1:
        raise ValueError(f"`n_samples` must be >= 1, got {n_samples}")
    if n_samples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_EPOCHS, MIN_TARGET_EXAMPLES // n_samples)
    if n_samples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_EPOCHS, MAX_TARGET_EXAMPLES // n_samples)
    return TARGET_EPOCHS


def resolve_hparams(
    n_samples: int, cfg: TrainConfig, n_rows: int | None = None, world_size: int = 1
) -> ResolvedHparams:
    """Resolve epochs, steps, warmup and the eval/checkpoint interval for one training run.

    Args:
        n_samples: training samples (prompt/completion pairs); they decide ``auto`` epochs.
        cfg: the train section; ``num_epochs: auto`` and ``save_steps: null`` are resolved here.
        n_rows: sequences per epoch the trainer batches, fewer than ``n_samples`` when packing
            puts several samples in a row (default: one row per sample).
        world_size: data-parallel workers; each takes ``batch_size`` rows per step.
    """
    rows = n_samples if n_rows is None else n_rows
    epochs_auto = cfg.num_epochs == "auto"
    epochs = float(auto_epochs(n_samples) if cfg.num_epochs == "auto" else cfg.num_epochs)
    steps_per_epoch = math.ceil(math.ceil(rows / world_size) / cfg.batch_size)
    epoch_steps = math.ceil(steps_per_epoch * epochs)
    capped = 0 < cfg.max_steps < epoch_steps
    total = cfg.max_steps if capped else epoch_steps
    return ResolvedHparams(
        n_samples=n_samples,
        n_rows=rows,
        world_size=world_size,
        num_epochs=epochs,
        epochs_auto=epochs_auto,
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        steps_per_epoch=steps_per_epoch,
        total_steps=total,
        max_steps=cfg.max_steps if capped else -1,
        warmup_steps=math.ceil(WARMUP_FRACTION * total),
        save_steps=cfg.save_steps or max(1, math.ceil(total / EVALS_PER_RUN)),
    )
