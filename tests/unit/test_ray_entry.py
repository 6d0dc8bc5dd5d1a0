"""Ray Train's controller unpickles the training function: it must not import the training stack."""

from __future__ import annotations

import subprocess
import sys

import cloudpickle

from repotune.training.ray_entry import train_worker


def test_entry_module_imports_neither_torch_nor_transformers():
    probe = (
        "import sys, repotune.training.ray_entry; "
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_entry_function_pickles_by_reference_to_the_light_module():
    payload = cloudpickle.dumps(train_worker)
    assert b"repotune.training.ray_entry" in payload
    assert b"repotune.training.ray_worker" not in payload
