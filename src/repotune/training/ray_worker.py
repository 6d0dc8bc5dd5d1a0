"""What every Ray Train worker runs: ``sft.train_lora`` on its shard, checkpointing through Ray.

Each worker calls the single-process recipe itself, so both paths train identically (same
tokenization, eval split, packing, hyper-parameters, early stopping and did-it-learn guard).
transformers finds the process group Ray set up and wraps the model in DDP: each rank draws
different batches and the gradients are all-reduced, so every rank holds the same adapter.
(``prepare_trainer`` is not applied: it only teaches the trainer to read Ray Data iterables, and
the rows here are an in-memory dataset that transformers' own distributed sampler shards.)

Checkpoints: every checkpoint the trainer writes is reported to Ray, which copies it into the
run's folder in Ray's storage from a background thread. On a restart Ray hands the latest one back
(``ray.train.get_checkpoint``), and every rank lays it out as the trainer wrote it, together with
the best one by eval loss, in a fresh local folder, so ``train_lora(resume=True)`` continues from
it on all ranks alike. At the end rank 0 reports one more checkpoint, ``final-adapter``: the best
adapter, the tokenizer and a summary of the run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import ray.train
import torch
from transformers import TrainerCallback
from transformers.trainer_utils import get_last_checkpoint

from repotune.errors import RepotuneError
from repotune.training.checkpoints import STAMP, STATE_FILE
from repotune.training.ray_cluster import quiet_path_named_train_loggers
from repotune.training.sft import train_lora

FINAL_CHECKPOINT = "final-adapter"
ADAPTER_SUBDIR = "adapter"
SUMMARY_FILE = "summary.json"
HF_SUBDIR = "checkpoint"
"""Folder of the trainer's checkpoint inside each checkpoint reported to Ray."""
LOG_INTERVAL_S = 2.0


class RelayedError(RuntimeError):
    """A RepotuneError on its way from a worker to the driver.

    RepotuneError subclasses take their own constructor arguments, which breaks the default
    pickling of exceptions; this carries the class and the attributes instead.
    """

    def __init__(self, module: str, qualname: str, message: str, state: dict[str, Any]) -> None:
        super().__init__(module, qualname, message, state)

    @classmethod
    def of(cls, err: RepotuneError) -> RelayedError:
        kind = type(err)
        return cls(kind.__module__, kind.__qualname__, str(err), dict(vars(err)))

    def original(self) -> RepotuneError:
        """The worker's exception again, same class and attributes, built without ``__init__``."""
        import importlib

        module, qualname, message, state = self.args
        kind: Any = importlib.import_module(module)
        for part in qualname.split("."):
            kind = getattr(kind, part)
        err = kind.__new__(kind)
        Exception.__init__(err, message)
        err.__dict__.update(state)
        return err


class _ReportCheckpoint(TrainerCallback):
    """Hand each new trainer checkpoint, with the run stamp, to Ray; upload it in the background.

    Ray's ``RayTrainReportCallback`` uploads synchronously and then waits until the controller
    has taken the previous report, which it does once per health check (every 2 s): every
    checkpoint after the first stalled the training loop for up to 2 s (1.4 s measured on 2
    cores, longer than the 4 steps between two checkpoints of a short run). Here the checkpoint
    is copied to a folder of its own, and Ray uploads and reports it from a thread
    (``CheckpointUploadMode.ASYNC``, in order, the copy deleted after upload) while training
    goes on. The copy sits in the rank's folder, which the next attempt empties, so a killed
    upload leaves nothing behind. ``train_lora`` only resumes from a folder stamped by the same
    run, so the stamp travels inside the checkpoint.
    """

    def on_save(self, args, state, control, **kwargs):
        last = get_last_checkpoint(args.output_dir)
        if last is None:
            return
        metrics: dict[str, Any] = {}
        for entry in state.log_history:
            metrics.update(entry)
        staging = Path(tempfile.mkdtemp(prefix="ray-upload-", dir=args.output_dir))
        shutil.copytree(last, staging / HF_SUBDIR)
        stamp = Path(args.output_dir) / STAMP
        if stamp.is_file():
            shutil.copy2(stamp, staging / HF_SUBDIR / STAMP)
        ray.train.report(
            metrics,
            checkpoint=ray.train.Checkpoint.from_directory(staging),
            checkpoint_upload_mode=ray.train.CheckpointUploadMode.ASYNC,
            delete_local_checkpoint_after_upload=True,
        )


class _WrapForTraining(TrainerCallback):
    """Let accelerate wrap the model in DDP for training after ``train_lora``'s first evaluation.

    ``train_lora`` measures eval loss before training. That evaluation prepares the bare model
    for inference and marks it as prepared, and accelerate then skips the DDP wrapping when
    training starts: every rank would train alone on its shard. Clearing the mark right after
    that first evaluation (step 0) restores the wrapping; ``_SyncCheck`` proves it worked.
    """

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        if state.global_step == 0:
            model._is_accelerate_prepared = False


class _SyncCheck(TrainerCallback):
    """Fail fast when the ranks' adapters differ after a step, i.e. gradients were not shared.

    Checked after the first optimizer step and at every checkpoint: two scalars all-reduced.
    """

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == 1 or control.should_save:
            _assert_same_weights(model, state.global_step)


def _assert_same_weights(model: torch.nn.Module, step: int) -> None:
    params = [p.detach() for p in model.parameters() if p.requires_grad]
    if not params:
        return
    total = torch.stack([p.double().sum() for p in params]).sum()
    squares = torch.stack([p.double().pow(2).sum() for p in params]).sum()
    high = torch.stack([total, squares])
    low = -high.clone()
    torch.distributed.all_reduce(high, op=torch.distributed.ReduceOp.MAX)
    torch.distributed.all_reduce(low, op=torch.distributed.ReduceOp.MAX)
    if not torch.equal(high, -low):
        raise RuntimeError(
            f"the workers' adapters differ after step {step}: gradients are not synchronised "
            "(the model was not wrapped in DistributedDataParallel)"
        )


class _LogRelay:
    """Rank 0's per-step logs to the driver, a batch every few seconds.

    One queue call per step would make the training thread wait on the queue actor every step
    and keep that actor busy on the cores training needs. Evaluations are sent at once; the
    train curves in MLflow lag by at most the interval.
    """

    def __init__(self, queue: Any, interval_s: float = LOG_INTERVAL_S) -> None:
        self.queue = queue
        self.interval_s = interval_s
        self.pending: list[tuple[int, dict[str, float]]] = []
        self.sent_at = time.monotonic()

    def __call__(self, step: int, logs: dict[str, float]) -> None:
        self.pending.append((step, logs))
        if "eval_loss" in logs or time.monotonic() - self.sent_at >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.queue.put(self.pending)
            self.pending = []
        self.sent_at = time.monotonic()


class _History(TrainerCallback):
    """The whole run's loss curve, from the trainer state (which a resume restores)."""

    def __init__(self) -> None:
        self.losses: list[tuple[int, float]] = []

    def on_train_end(self, args, state, control, **kwargs):
        self.losses = [
            (int(entry["step"]), float(entry["loss"]))
            for entry in state.log_history
            if "loss" in entry and "step" in entry
        ]


def worker_folder(run_name: str, rank: int) -> Path:
    """Local checkpoint folder of one rank: the same path on every attempt of a run.

    The trainer records the best checkpoint by absolute path; a stable path keeps that record
    valid after a restart once the best checkpoint is restored there.
    """
    return Path(tempfile.gettempdir()) / "repotune-ray" / run_name / f"rank-{rank}"


def _lay_out(checkpoint: ray.train.Checkpoint, folder: Path) -> None:
    """Put a reported checkpoint back where the trainer wrote it: ``folder/checkpoint-<step>``."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        local = Path(checkpoint.to_directory(tmp)) / HF_SUBDIR
        step = json.loads((local / STATE_FILE).read_text(encoding="utf-8"))["global_step"]
        target = folder / f"checkpoint-{step}"
        if not target.exists():
            shutil.copytree(local, target)
        if (local / STAMP).is_file():
            shutil.copy2(local / STAMP, folder / STAMP)


def restore(folder: Path, best: ray.train.Checkpoint | None) -> None:
    """Fresh ``folder`` holding Ray's latest checkpoint (and the best), if the run has one.

    The folder is emptied first: local leftovers of a killed attempt differ between ranks (only
    rank 0 writes trainer state), and ranks that resume from different steps would deadlock.
    """
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    latest = ray.train.get_checkpoint()
    if latest is None:
        return
    _lay_out(latest, folder)
    if best is not None and best.path != latest.path:
        _lay_out(best, folder)


def _report_final(summary: dict[str, Any], final: Path) -> None:
    """Rank 0 reports the adapter, tokenizer and summary; the other ranks join the barrier."""
    # Ray keeps the best checkpoints by eval loss; the final adapter is the best one.
    metrics = {**summary["metrics"], "eval_loss": summary["metrics"]["eval_loss_best"]}
    if ray.train.get_context().get_world_rank() != 0:
        ray.train.report(metrics, checkpoint=None, checkpoint_dir_name=FINAL_CHECKPOINT)
        return
    (final / SUMMARY_FILE).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    ray.train.report(
        metrics,
        checkpoint=ray.train.Checkpoint.from_directory(final),
        checkpoint_dir_name=FINAL_CHECKPOINT,
    )


def train_worker(config: dict[str, Any]) -> None:
    """Ray Train's per-worker loop (``train_loop_config`` is built by ``train_on_ray``).

    Reached through ``ray_entry.train_worker``, so that Train's controller never imports this
    module.
    """
    quiet_path_named_train_loggers()
    torch.set_num_threads(config["threads"])
    context = ray.train.get_context()
    rank = context.get_world_rank()
    rows = ray.get(config["rows"])
    folder = worker_folder(config["run_name"], rank)
    restore(folder, config["best_checkpoint"])
    history = _History()
    data_parallel = [_WrapForTraining(), _SyncCheck()] if context.get_world_size() > 1 else []
    relay = _LogRelay(config["log_queue"]) if rank == 0 else None
    with tempfile.TemporaryDirectory(prefix="repotune-ray-final-") as tmp:
        final = Path(tmp) / FINAL_CHECKPOINT
        try:
            result = train_lora(
                config["base_path"],
                rows,
                config["cfg"],
                final / ADAPTER_SUBDIR,
                on_log=relay,
                callbacks=[
                    _ReportCheckpoint(),
                    history,
                    *data_parallel,
                    *ray.get(config["callbacks"]),
                ],
                cache_dir=config["cache_dir"],
                dataset_fingerprint=config["dataset_fingerprint"],
                checkpoint_dir=folder,
                resume=True,
            )
        except RepotuneError as err:
            raise RelayedError.of(err) from None
        finally:
            if relay is not None:
                relay.flush()
        summary = {
            "metrics": result.metrics,
            "loss_history": history.losses,
            "hparams": result.hparams,
        }
        _report_final(summary, final)
    shutil.rmtree(folder, ignore_errors=True)
