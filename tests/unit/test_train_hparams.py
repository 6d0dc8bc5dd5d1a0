"""Hyper-parameters from data size: epochs by OpenAI's published rule, then steps and intervals."""

from __future__ import annotations

import pytest

from repotune.config import TrainConfig
from repotune.training.hparams import auto_epochs, resolve_hparams


@pytest.mark.parametrize(
    ("n_samples", "epochs"),
    [
        (1, 25),  # capped: at most 25 passes over a single sample
        (4, 25),
        (10, 10),  # tiny sets: enough passes to see ~100 examples
        (20, 5),
        (33, 3),  # 99 examples seen in 3 epochs: 100 // 33 = 3
        (34, 3),  # from here 3 epochs see >= 100 examples
        (1_000, 3),
        (8_333, 3),  # 24,999 examples seen: still 3
        (8_334, 2),  # beyond 25,000 examples seen: fewer epochs
        (20_000, 1),
        (1_000_000, 1),  # never below one epoch
    ],
)
def test_auto_epochs_follow_the_data_size(n_samples, epochs):
    assert auto_epochs(n_samples) == epochs


def test_auto_epochs_reject_an_empty_set():
    with pytest.raises(ValueError, match="n_samples"):
        auto_epochs(0)


def test_steps_scale_with_samples_and_explicit_epochs_win():
    cfg = TrainConfig(batch_size=8)
    small, big = resolve_hparams(100, cfg), resolve_hparams(4_000, cfg)
    assert (small.num_epochs, small.steps_per_epoch, small.total_steps) == (3.0, 13, 39)
    assert (big.num_epochs, big.steps_per_epoch, big.total_steps) == (3.0, 500, 1500)
    assert small.epochs_auto and small.max_steps == -1
    fixed = resolve_hparams(100, TrainConfig(batch_size=8, num_epochs=1.5))
    assert (fixed.num_epochs, fixed.epochs_auto, fixed.total_steps) == (1.5, False, 20)


def test_max_steps_caps_the_epochs_but_never_extends_them():
    cfg = TrainConfig(batch_size=8, num_epochs=3, max_steps=300)
    assert resolve_hparams(80, cfg).max_steps == -1  # 30 steps of epochs fit in the budget
    assert resolve_hparams(80, cfg).total_steps == 30
    capped = resolve_hparams(8_000, cfg)  # 3,000 steps do not: capped
    assert (capped.max_steps, capped.total_steps) == (300, 300)
    assert resolve_hparams(8_000, TrainConfig(max_steps=-1, num_epochs=3)).max_steps == -1


def test_packed_rows_and_workers_shorten_the_epoch_not_the_epoch_count():
    cfg = TrainConfig(batch_size=4)
    packed = resolve_hparams(40, cfg, n_rows=10, world_size=2)
    assert packed.num_epochs == 3.0  # 40 samples, and samples decide the epochs
    assert packed.steps_per_epoch == 2  # 10 rows over 2 workers of 4 rows: ceil(5 / 4)
    assert packed.total_steps == 6


def test_eval_interval_gives_about_ten_evaluations_unless_set():
    auto = resolve_hparams(4_000, TrainConfig(batch_size=8))
    assert auto.save_steps == 150 and auto.total_steps // auto.save_steps == 10
    assert resolve_hparams(4, TrainConfig(batch_size=8, num_epochs=1)).save_steps == 1
    assert resolve_hparams(4_000, TrainConfig(save_steps=25)).save_steps == 25
    assert resolve_hparams(4_000, TrainConfig(batch_size=8)).warmup_steps == 150


def test_resolved_values_are_loggable_numbers():
    params = resolve_hparams(10, TrainConfig()).as_params()
    assert params["num_epochs"] == 10.0 and params["epochs_auto"] == 1.0
    assert all(isinstance(value, float) for value in params.values())
