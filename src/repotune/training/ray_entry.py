"""The training function Ray Train ships to its workers, free of heavy imports.

Ray Train's controller unpickles the training function and its config although it only passes
them on to the workers. A reference to ``ray_worker.train_worker`` made the controller import
transformers, TRL and peft (4.3 s on 2 cores) before it started any worker, and then every
worker imported them again. Through this module only the workers import the training stack;
the config's heavy objects (the rows, the trainer callbacks) travel as object references.
"""

from __future__ import annotations

from typing import Any


def train_worker(config: dict[str, Any]) -> None:
    """Ray Train's per-worker loop: ``ray_worker.train_worker``, imported in the worker."""
    from repotune.training.ray_worker import train_worker as run_worker

    run_worker(config)
