"""Crash and resume: ``kill -9`` the training process tree, run again, continue where it stopped.

The first run is a separate Python process that starts its own local Ray (so Ray's daemons and
the training worker are its children, in its session) and checkpoints every 2 steps; a callback
slows its steps down so that the kill surely lands mid-run. As soon as
Ray has recorded a checkpoint the whole session gets SIGKILL: no handler runs, nothing is flushed
or cleaned up. The second run, here in the test process with the same run folder, must take up
the latest checkpoint: it logs only steps after it, takes fewer optimizer steps than the whole
run, ends at the full step count and leaves the adapter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repotune.config import BaseModelConfig, TrainConfig
from repotune.modeling.base import build_offline_base
from repotune.training.ray_cluster import RayScaling
from repotune.training.ray_train import train_on_ray

ROWS = [
    {"prompt": f'def g{i}(x):\n    """Return x by {i}."""\n', "completion": f"    return x*{i}\n"}
    for i in range(40)
]
"""36 train rows after the eval split: 18 steps per epoch at batch 2, 36 steps in all."""
TOTAL_STEPS = 36
RUN = "resume-after-kill"
FAST_REPORTS = {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.2"}

JOB = """
import json, sys, time
from pathlib import Path
from transformers import TrainerCallback
from repotune.runtime_env import apply_runtime_env
apply_runtime_env()
from repotune.config import TrainConfig
from repotune.training.ray_cluster import RayScaling
from repotune.training.ray_train import train_on_ray

spec = json.loads(Path(sys.argv[1]).read_text())

class Slow(TrainerCallback):
    # Half a second per step: the test has time to kill the run long before it ends.
    def on_step_end(self, args, state, control, **kwargs):
        time.sleep(0.5)

train_on_ray(
    spec["base"], spec["rows"], TrainConfig.model_validate(spec["cfg"]), Path(spec["out"]),
    scaling=RayScaling(workers=1), checkpoint_dir=Path(spec["checkpoints"]),
    run_name=spec["run"], callbacks=[Slow()],
)
"""


def train_cfg() -> TrainConfig:
    return TrainConfig(
        learning_rate=5e-3, num_epochs=2, batch_size=2, max_seq_len=128, lora_r=8,
        lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], packing=False,
        save_steps=2, early_stopping_patience=100, seed=1,
    )  # fmt: skip


def _alive_in_session(session: int) -> list[int]:
    """Processes of a session that still run (zombies are dead, only not yet reaped)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) != session:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        if state != "Z":
            alive.append(int(entry.name))
    return alive


@pytest.fixture
def base(tmp_path) -> str:
    cfg = BaseModelConfig(
        vocab_size=512, hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2,
        intermediate_size=128, pretrain_steps=1, seed=0,
    )  # fmt: skip
    build_offline_base([r["prompt"] + r["completion"] for r in ROWS], cfg, tmp_path / "base")
    return str(tmp_path / "base")


def test_kill_9_then_rerun_resumes_from_the_last_checkpoint(base, tmp_path, monkeypatch):
    checkpoints = tmp_path / "checkpoints"
    spec = {
        "base": base, "rows": ROWS, "cfg": train_cfg().model_dump(mode="json"), "run": RUN,
        "out": str(tmp_path / "adapter"), "checkpoints": str(checkpoints),
    }  # fmt: skip
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    job = subprocess.Popen(
        [sys.executable, "-c", JOB, str(tmp_path / "spec.json")],
        env={**os.environ, **FAST_REPORTS},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "first.err").open("w"),
        start_new_session=True,
    )
    snapshot = checkpoints / RUN / "checkpoint_manager_snapshot.json"
    deadline = time.monotonic() + 180
    while not snapshot.exists():
        assert job.poll() is None, (tmp_path / "first.err").read_text()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint within 180 s"
        time.sleep(0.1)
    os.killpg(job.pid, signal.SIGKILL)
    assert job.wait(timeout=30) == -signal.SIGKILL
    deadline = time.monotonic() + 20  # killed processes still have to be scheduled to exit
    while _alive_in_session(job.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive_in_session(job.pid) == []
    assert not (checkpoints / RUN / "final-adapter").exists()

    for key, value in FAST_REPORTS.items():
        monkeypatch.setenv(key, value)
    logged: list[tuple[int, dict]] = []
    result = train_on_ray(
        base,
        ROWS,
        train_cfg(),
        tmp_path / "adapter",
        scaling=RayScaling(workers=1),
        checkpoint_dir=checkpoints,
        run_name=RUN,
        on_log=lambda step, logs: logged.append((step, logs)),
    )

    resumed = int(result.metrics["resumed_from_step"])
    assert 2 <= resumed < TOTAL_STEPS and resumed % 2 == 0  # a checkpoint step of the first run
    second_steps = [step for step, logs in logged if "loss" in logs]
    assert second_steps == list(range(resumed + 1, TOTAL_STEPS + 1))
    assert len(second_steps) < TOTAL_STEPS
    assert result.metrics["steps"] == TOTAL_STEPS
    assert [step for step, _ in result.loss_history] == list(range(1, TOTAL_STEPS + 1))
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    assert (checkpoints / RUN / "final-adapter" / "summary.json").is_file()
