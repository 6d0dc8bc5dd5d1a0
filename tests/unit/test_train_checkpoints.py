"""Checkpoint folders: resume from the last complete checkpoint of the same run only."""

from __future__ import annotations

import json

import pytest

from repotune.errors import RepotuneError
from repotune.training.checkpoints import (
    STAMP,
    STATE_FILE,
    last_complete_checkpoint,
    prepare_checkpoints,
)


def checkpoint(folder, step, complete=True):
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(b"x")
    if complete:
        (path / STATE_FILE).write_text(json.dumps({"global_step": step}))
    return path


def test_last_complete_checkpoint_skips_one_cut_short(tmp_path):
    assert last_complete_checkpoint(tmp_path / "missing") is None
    checkpoint(tmp_path, 2)
    ten = checkpoint(tmp_path, 10)
    checkpoint(tmp_path, 12, complete=False)  # killed mid-save: no trainer state
    (tmp_path / "checkpoint-x").mkdir()
    assert last_complete_checkpoint(tmp_path) == ten


def test_resume_continues_the_same_run_and_drops_the_partial_one(tmp_path):
    prepare_checkpoints(tmp_path, "run-a", resume=False, is_main=True)
    checkpoint(tmp_path, 4)
    eight = checkpoint(tmp_path, 8)
    checkpoint(tmp_path, 9, complete=False)
    assert prepare_checkpoints(tmp_path, "run-a", resume=True, is_main=True) == eight
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-8"]


def test_resume_refuses_checkpoints_of_another_run(tmp_path):
    prepare_checkpoints(tmp_path, "run-a", resume=False, is_main=True)
    checkpoint(tmp_path, 4)
    with pytest.raises(RepotuneError, match="written by a run with another base model"):
        prepare_checkpoints(tmp_path, "run-b", resume=True, is_main=True)
    assert (tmp_path / "checkpoint-4").is_dir()


def test_starting_over_clears_old_checkpoints_and_stamps_the_folder(tmp_path):
    checkpoint(tmp_path, 4)
    assert prepare_checkpoints(tmp_path, "run-b", resume=False, is_main=True) is None
    assert not list(tmp_path.glob("checkpoint-*"))
    assert json.loads((tmp_path / STAMP).read_text()) == {"run_key": "run-b"}


def test_unstamped_folder_and_other_ranks(tmp_path):
    checkpoint(tmp_path, 4)  # not written by repotune: nothing to resume
    assert prepare_checkpoints(tmp_path, "run-a", resume=True, is_main=False) is None
    assert (tmp_path / "checkpoint-4").is_dir() and not (tmp_path / STAMP).exists()
