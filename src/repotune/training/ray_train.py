"""LoRA fine-tuning on Ray Train: the same SFT run, data parallel, checkpointed and resumable.

``train_on_ray`` runs ``sft.train_lora`` in every worker of a ``ray.train.torch.TorchTrainer``
(gloo on CPU, nccl on GPU): one CPU worker on a laptop, many GPUs on a cluster, the same code.
The rows go into Ray's object store once and every worker reads them from there; DDP gives each
worker its own shard and keeps the adapters equal.

A run lives in ``<checkpoint_dir>/<run name>``: Ray's checkpoint snapshot and the checkpoints it
keeps (the best ``keep_checkpoints`` by eval loss, and always the latest). The run name is a
content hash of the base, the rows, the config and the worker count unless the caller names the
run, so calling ``train_on_ray`` again after a crash (even ``kill -9`` of the whole process tree)
resumes from the latest checkpoint, and calling it after the run finished returns the finished
adapter without starting Ray at all.

Per-step logs (train loss, learning rate, grad norm, tokens/s, eval loss) are pushed by rank 0
into a Ray queue, a batch every couple of seconds, and handed to ``on_log(step, logs)`` on the
calling thread while training runs, so MLflow curves are live and land in the caller's run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from queue import Empty
from typing import Any

from transformers import TrainerCallback

from repotune.config import TrainConfig
from repotune.errors import RepotuneError
from repotune.training.ray_cluster import (
    STAGE,
    TRAIN_LOG_LEVEL,
    RayScaling,
    ray_session,
    worker_env,
)
from repotune.training.ray_entry import train_worker
from repotune.training.ray_worker import (
    ADAPTER_SUBDIR,
    FINAL_CHECKPOINT,
    SUMMARY_FILE,
    RelayedError,
)
from repotune.training.sft import LogFn, TrainResult

RUN_PREFIX = "sft-"
WAIT_S = 10.0
"""Longest wait on the log queue before checking that the fit thread is still alive."""


def run_key(base_path: str, train_rows: list[dict], cfg: TrainConfig, workers: int) -> str:
    """Name of a run's folder: a hash of what decides the adapter and its checkpoints.

    The same inputs resume the same run; any change (base, rows, settings, worker count) starts
    a new one, so a checkpoint is never resumed with other data or settings.
    """
    digest = hashlib.sha256()
    head = {"base": str(Path(base_path).resolve()), "cfg": cfg.model_dump(mode="json")}
    digest.update(json.dumps({**head, "workers": workers}, sort_keys=True).encode())
    for row in train_rows:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
        digest.update(b"\0")
    return RUN_PREFIX + digest.hexdigest()[:16]


def _snapshot(run_dir: Path) -> Any | None:
    """Ray's record of the run's kept checkpoints, or ``None`` for a run not started yet."""
    from ray.train import Result

    try:
        return Result.from_path(run_dir)
    except RuntimeError:  # no run folder, or no checkpoint snapshot in it
        return None


def _best_hf_checkpoint(run: Any | None) -> Any | None:
    """The kept trainer checkpoint of a run's ``Result`` with the lowest eval loss."""
    if run is None:
        return None
    scored = [
        (metrics["eval_loss"], checkpoint)
        for checkpoint, metrics in run.best_checkpoints or []
        if "eval_loss" in metrics and Path(checkpoint.path).name != FINAL_CHECKPOINT
    ]
    return min(scored, key=lambda pair: pair[0])[1] if scored else None


def _collect(final: Path, out_dir: Path, run: Any) -> TrainResult:
    """Copy the finished adapter to ``out_dir``; the run's summary becomes the result."""
    summary = json.loads((final / SUMMARY_FILE).read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(final / ADAPTER_SUBDIR, out_dir, dirs_exist_ok=True)
    best = _best_hf_checkpoint(run)
    return TrainResult(
        adapter_dir=str(out_dir),
        metrics=summary["metrics"],
        loss_history=[(int(step), float(loss)) for step, loss in summary["loss_history"]],
        hparams=summary["hparams"],
        best_checkpoint=best.path if best is not None else None,
    )


def _worker_error(err: BaseException) -> BaseException:
    """A worker's RepotuneError behind Ray's wrapper, else Ray's error as it is."""
    for rank in sorted(getattr(err, "worker_failures", None) or {}):
        cause: BaseException | None = err.worker_failures[rank]
        while cause is not None and not isinstance(cause, RelayedError):
            cause = cause.__cause__ or getattr(cause, "cause", None)
        if cause is not None:
            return cause.original()
    return err


def _fit(trainer: Any, queue: Any, on_log: LogFn | None) -> Any:
    """``trainer.fit()`` on a helper thread while this thread hands queued logs to ``on_log``.

    ``on_log`` runs on the caller's thread because MLflow's active run is per thread. The fit
    thread ends the queue with ``None`` (after the workers' last batch), so this thread waits on
    the queue instead of polling it: no wake-ups on the training cores between batches.
    """
    outcome: dict[str, Any] = {}

    def fit() -> None:
        try:
            outcome["result"] = trainer.fit()
        except BaseException as err:  # re-raised on the caller's thread below
            outcome["error"] = err
        finally:
            queue.put(None)

    thread = threading.Thread(target=fit, name="repotune-ray-fit", daemon=True)
    thread.start()
    while True:
        try:
            batch = queue.get(timeout=WAIT_S)
        except Empty:
            if thread.is_alive():
                continue
            break
        if batch is None:
            break
        if on_log is not None:
            for step, logs in batch:
                on_log(step, logs)
    thread.join()
    if "error" in outcome:
        raise _worker_error(outcome["error"]) from outcome["error"]
    return outcome["result"]


def train_on_ray(
    base_path: str,
    train_rows: list[dict],
    cfg: TrainConfig,
    out_dir: Path,
    *,
    scaling: RayScaling,
    checkpoint_dir: Path,
    run_name: str | None = None,
    resume: bool = True,
    keep_checkpoints: int = 2,
    on_log: LogFn | None = None,
    callbacks: Sequence[TrainerCallback] = (),
    cache_dir: Path | None = None,
    dataset_fingerprint: str | None = None,
) -> TrainResult:
    """Fine-tune a LoRA adapter with Ray Train; copy the best adapter + tokenizer to ``out_dir``.

    Args:
        base_path: Local folder of the base model and its tokenizer.
        train_rows: ``{prompt, completion}`` rows (``path`` keeps a file on one side of the eval
            split), shipped once through Ray's object store.
        cfg: The train section; ``batch_size`` is per worker, ``save_steps`` sets how often
            checkpoints are taken.
        out_dir: Receives the best adapter and the tokenizer.
        scaling: Workers, GPU use, CPUs per worker and the Ray address.
        checkpoint_dir: Folder holding every run's checkpoints (in the workspace).
        run_name: The run's folder under ``checkpoint_dir``; default ``run_key(...)``.
        resume: Continue the run from its latest checkpoint (False: delete it and start over).
        keep_checkpoints: Best checkpoints by eval loss kept per run, besides the latest.
        on_log: ``on_log(step, logs)`` on this thread for every log entry of rank 0.
        callbacks: Extra ``TrainerCallback`` objects, pickled to and run in every worker.
        cache_dir: Tokenization cache folder, shared by the workers (None: no cache).
        dataset_fingerprint: Lineage of ``train_rows`` for the cache manifest.

    Returns:
        ``sft.train_lora``'s result: metrics (``resumed_from_step`` > 0 after a resume), the
        whole run's loss curve, resolved hyper-parameters, and the best checkpoint kept by Ray.

    Raises:
        RepotuneError: As ``train_lora`` raises it in the workers (did not learn, out of memory,
            bad rows), or when the Ray cluster at ``scaling.ray_address`` does not answer.
    """
    if keep_checkpoints < 1:
        raise RepotuneError(
            STAGE,
            f"`train.keep_checkpoints` is {keep_checkpoints}",
            "keep at least 1 checkpoint (the latest is always kept besides)",
        )
    name = run_name or run_key(base_path, train_rows, cfg, scaling.workers)
    storage = Path(checkpoint_dir).resolve()
    if not resume:
        shutil.rmtree(storage / name, ignore_errors=True)
    snapshot = _snapshot(storage / name)
    if snapshot is not None and snapshot.checkpoint is not None:
        latest = Path(snapshot.checkpoint.path)
        if latest.name == FINAL_CHECKPOINT:
            return _collect(latest, Path(out_dir), snapshot)

    import ray
    from ray.train import CheckpointConfig, LoggingConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.util.queue import Queue

    with ray_session(scaling):
        queue = Queue(actor_options={"num_cpus": 0})
        trainer = TorchTrainer(
            train_worker,
            train_loop_config={
                "rows": ray.put(list(train_rows)),
                "base_path": str(base_path),
                "cfg": cfg,
                "run_name": name,
                "best_checkpoint": _best_hf_checkpoint(snapshot),
                "threads": scaling.worker_cpus(),
                "callbacks": ray.put(list(callbacks)),
                "log_queue": queue,
                "cache_dir": cache_dir,
                "dataset_fingerprint": dataset_fingerprint,
            },
            torch_config=TorchConfig(backend="nccl" if scaling.use_gpu else "gloo"),
            scaling_config=ScalingConfig(
                num_workers=scaling.workers,
                use_gpu=scaling.use_gpu,
                resources_per_worker={"CPU": scaling.worker_cpus()},
            ),
            run_config=RunConfig(
                name=name,
                storage_path=str(storage),
                checkpoint_config=CheckpointConfig(
                    num_to_keep=keep_checkpoints,
                    checkpoint_score_attribute="eval_loss",
                    checkpoint_score_order="min",
                ),
                worker_runtime_env={"env_vars": worker_env()},
                logging_config=LoggingConfig(log_level=TRAIN_LOG_LEVEL),
            ),
        )
        result = _fit(trainer, queue, on_log)
        with result.checkpoint.as_directory() as final:
            return _collect(Path(final), Path(out_dir), result)
