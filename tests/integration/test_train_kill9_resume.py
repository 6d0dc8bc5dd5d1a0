"""Single-process crash and resume: ``kill -9`` during a checkpoint save, run again, continue.

The first run is a separate Python process that checkpoints every 2 steps and gets SIGKILL in the
middle of writing the checkpoint of step 6 (after the adapter and optimizer, before the trainer
state, which the trainer writes last): no handler runs, the folder is left half-written. The second
run, in the test process with the same checkpoint folder and ``resume=True``, must skip the broken
checkpoint, continue from step 4, and finish the run with a best adapter.
"""

from __future__ import annotations

import json
import subprocess
import sys

from repotune.config import BaseModelConfig, TrainConfig
from repotune.modeling.base import build_offline_base
from repotune.training.checkpoints import STATE_FILE
from repotune.training.sft import train_lora

ROWS = [
    {
        "prompt": f'def scale_{i}(x):\n    """Return x times {i}."""\n',
        "completion": f"    return x * {i}\n",
        "path": f"mod{i % 8}.py",
    }
    for i in range(40)
]
CFG = dict(learning_rate=5e-3, num_epochs=50, max_steps=10, batch_size=2, max_seq_len=64,
           save_steps=2, lora_r=8, lora_alpha=16, lora_dropout=0.0, seed=0)  # fmt: skip
BASE = BaseModelConfig(vocab_size=512, hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2,
                       intermediate_size=128, pretrain_steps=0)  # fmt: skip

JOB = """
import json, os, signal, sys
from pathlib import Path
from transformers import Trainer
from repotune.runtime_env import apply_runtime_env
apply_runtime_env()
from repotune.config import TrainConfig
from repotune.training.sft import train_lora

base, checkpoints, out, rows, cfg = sys.argv[1:6]
original = Trainer._save_rng_state

def save_rng_state_or_die(self, output_dir):
    if self.state.global_step == 6:
        os.kill(os.getpid(), signal.SIGKILL)
    original(self, output_dir)

Trainer._save_rng_state = save_rng_state_or_die
train_lora(base, json.loads(rows), TrainConfig(**json.loads(cfg)), Path(out),
           checkpoint_dir=Path(checkpoints))
"""


def test_kill_9_mid_save_then_resume_continues_from_the_last_complete_checkpoint(tmp_path):
    base = tmp_path / "base"
    build_offline_base([row["prompt"] + row["completion"] for row in ROWS], BASE, base)
    checkpoints, out = tmp_path / "checkpoints", tmp_path / "adapter"
    args = [str(base), str(checkpoints), str(out), json.dumps(ROWS), json.dumps(CFG)]
    killed = subprocess.run([sys.executable, "-c", JOB, *args], capture_output=True, timeout=300)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    assert (checkpoints / "checkpoint-6").is_dir()
    assert not (checkpoints / "checkpoint-6" / STATE_FILE).exists()  # cut short mid-save
    assert not out.exists()

    result = train_lora(str(base), ROWS, TrainConfig(**CFG), out, checkpoint_dir=checkpoints,
                        resume=True)  # fmt: skip
    assert result.metrics["resumed_from_step"] == 4 and result.metrics["steps"] == 10
    assert [step for step, _ in result.loss_history] == [5, 6, 7, 8, 9, 10]
    assert result.metrics["eval_loss_best"] < result.metrics["eval_loss_before"]
    assert (out / "adapter_model.safetensors").is_file()
    assert all((path / STATE_FILE).is_file() for path in checkpoints.glob("checkpoint-*"))
