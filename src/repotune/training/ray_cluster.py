"""Where Ray Train runs: a bounded local Ray on this machine, or an existing cluster by address.

The same training code runs on a laptop and on a GPU cluster; only :class:`RayScaling` changes.
A local Ray is started with exactly the CPUs the workers ask for, so it never grabs the whole
machine, and it is shut down again by whoever started it. An address that does not answer is
retried a bounded number of times and then reported as one clear error, instead of Ray's own
minute-long wait and stack trace.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from repotune.errors import RepotuneError
from repotune.runtime_env import OFFLINE_DEFAULTS

STAGE = "train"
CONNECT_ATTEMPTS = 3
CONNECT_TIMEOUT_S = 2.0
BACKOFF_S = (1.0, 2.0)
"""Seconds slept after the first and second failed attempt (about 9 s worst case in all)."""

WORKER_ENV = {"RAY_TRAIN_ENABLE_PRINT_PATCH": "0"}
"""Ray Train routes ``print`` to its logger; datasets' hashing (dill) prints bytecode disassembly
into a captured stdout, which the patch turns into thousands of log lines per worker."""

TRAIN_LOG_LEVEL = "WARNING"
"""Level of Ray Train's own logs on the console and in its app log files.

At INFO Train logs every report with its whole metrics dict (1-2 KB a checkpoint) and each
checkpoint's path; repotune relays the metrics to MLflow already, so on the console and in the
Prefect run's logs they only bury the warnings. Train's system log files in the Ray session
folder (``logs/train/ray-train-sys-*.log``) still keep every level of its ``ray.train`` loggers."""


LOCAL_RAY_ENV = {
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "1",
    "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0",
    "RAY_TRAIN_METRICS_ENABLED": "0",
    "RAY_enable_metrics_collection": "0",
    "RAY_prestart_worker_first_driver": "0",
}
"""Settings of a Ray that repotune starts on this machine, for the run's duration only.

Train's controller takes one report (metrics and checkpoint) per poll of its workers, every 2 s
by default: the checkpoints of a short run queued up behind it and the run's end waited for it
(18 s at the end of a 40-step run with 10 checkpoints). Once a second keeps that wait short;
four times a second cost 2 % of the training loop on 2 cores. A laptop is never drained, so
Train's preemption watcher (one more process polling every few seconds) has nothing to watch;
nobody scrapes a throwaway Ray's Prometheus metrics (MLflow gets repotune's own), and the idle
workers Ray prestarts are never used (Train's actors carry their own runtime environment). Each
of them takes CPU from training on a small machine (benchmarks/ray_train_overhead.py measures
what Ray still costs). A value the user exported wins."""


def quiet_path_named_train_loggers() -> None:
    """Hold Train's loggers named by file path to ``TRAIN_LOG_LEVEL`` as well.

    ``RunConfig.logging_config`` filters the ``ray.train.*`` loggers only, but some Train modules
    (the one that logs "Reporting training result ...", for one) name theirs by ``__file__``,
    which passes the filter and reaches the console through the root logger. Its lines (a dump of
    the metrics, which MLflow gets from repotune) then go nowhere.
    """
    import ray.train

    package = str(Path(ray.train.__file__).parent)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(package):
            logging.getLogger(name).setLevel(TRAIN_LOG_LEVEL)


@contextmanager
def _local_ray_env() -> Iterator[None]:
    added = {key: value for key, value in LOCAL_RAY_ENV.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


@dataclass(frozen=True)
class RayScaling:
    """How many Ray Train workers, on what, and where.

    Attributes:
        workers: Data-parallel training workers (processes); each sees its own shard of the rows.
        use_gpu: Give each worker one GPU (nccl backend) instead of CPU only (gloo backend).
        cpus_per_worker: CPUs reserved per worker; ``None`` shares this machine's cores between
            the workers of a local Ray, and reserves 1 per worker on a cluster.
        ray_address: ``None`` starts a local Ray for the run; ``"auto"``, ``"host:port"`` or
            ``"ray://host:port"`` connect to an existing cluster.
    """

    workers: int = 1
    use_gpu: bool = False
    cpus_per_worker: int | None = None
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise RepotuneError(
                STAGE, f"`train.workers` is {self.workers}", "use 1 or more training workers"
            )
        if self.cpus_per_worker is not None and self.cpus_per_worker < 1:
            raise RepotuneError(
                STAGE,
                f"`train.cpus_per_worker` is {self.cpus_per_worker}",
                "reserve at least 1 CPU per worker, or leave it unset to share this machine",
            )

    def worker_cpus(self) -> int:
        """CPUs each worker reserves (and uses as torch threads)."""
        if self.cpus_per_worker is not None:
            return self.cpus_per_worker
        if self.ray_address is not None:
            return 1
        return max(1, (os.cpu_count() or 1) // self.workers)


def worker_env() -> dict[str, str]:
    """Environment for the training workers: this process's offline settings, print patch off.

    A local Ray inherits the driver's environment anyway; a cluster's workers do not, and must
    not reach for a model hub the driver was told to stay away from.
    """
    env = {key: os.environ[key] for key in OFFLINE_DEFAULTS if key in os.environ}
    return {**env, **WORKER_ENV}


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``host:port`` or ``ray://host:port``; ``None`` for ``auto`` and co."""
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def _answers(host: str, port: int) -> str | None:
    """``None`` when something accepts a TCP connection at host:port, else the reason."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as err:
        return err.strerror or type(err).__name__


def connect(address: str) -> None:
    """``ray.init(address=...)`` after checking the address answers, with bounded retries."""
    import ray

    if address != "auto" and _host_port(address) is None:
        raise RepotuneError(
            STAGE,
            f"`train.ray_address` {address!r} is not an address",
            "use host:port of the head node's GCS (default port 6379), ray://host:10001, or auto",
        )
    reason = ""
    for attempt in range(CONNECT_ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])
        target = _host_port(address)
        problem = _answers(*target) if target is not None else None
        if problem is None:
            try:
                ray.init(address=address, log_to_driver=True)
                return
            except (ConnectionError, RuntimeError, TimeoutError) as err:
                problem = str(err).splitlines()[0] if str(err) else type(err).__name__
        reason = problem
    raise RepotuneError(
        STAGE,
        f"the Ray cluster at `train.ray_address` {address!r} did not answer after "
        f"{CONNECT_ATTEMPTS} attempts ({reason})",
        "start it (`ray start --head`) or fix the address, or unset `train.ray_address` "
        "to train on a local Ray",
    )


def _check_fits(scaling: RayScaling) -> None:
    """A Ray on this machine that cannot place every worker would wait instead of failing."""
    import ray

    available = ray.cluster_resources()
    cpus_needed = scaling.workers * scaling.worker_cpus()
    gpus_needed = scaling.workers if scaling.use_gpu else 0
    if available.get("CPU", 0) < cpus_needed or available.get("GPU", 0) < gpus_needed:
        raise RepotuneError(
            STAGE,
            f"the running Ray has {available.get('CPU', 0):g} CPUs and "
            f"{available.get('GPU', 0):g} GPUs, but `train.workers` ({scaling.workers}) x "
            f"`train.cpus_per_worker` ({scaling.worker_cpus()}) needs {cpus_needed} CPUs"
            + (f" and {gpus_needed} GPUs" if gpus_needed else ""),
            "use fewer workers or CPUs per worker, or set `train.ray_address` to a bigger cluster",
        )


@contextmanager
def ray_session(scaling: RayScaling) -> Iterator[bool]:
    """Make sure Ray is initialised for a run; yields whether this call started it.

    An already initialised Ray (a test's, a Prefect ``RayTaskRunner``'s) is used as it is and
    left running. Otherwise the cluster at ``ray_address`` is joined, or a local Ray with
    ``workers * cpus_per_worker`` CPUs is started; either is shut down on exit. Without an
    address the workers must fit the local Ray: Ray Train would wait for them forever.
    """
    import ray

    if ray.is_initialized():
        if scaling.ray_address is None:
            _check_fits(scaling)
        yield False
        return
    local = scaling.ray_address is None
    with _local_ray_env() if local else nullcontext():
        try:
            if local:
                # The dashboard stays on: without it, Train's placement-group cleaner cannot
                # query actor state and warns every second for the whole run.
                ray.init(
                    address="local",
                    num_cpus=scaling.workers * scaling.worker_cpus(),
                    include_dashboard=True,
                    log_to_driver=True,
                )
                _check_fits(scaling)
            else:
                connect(scaling.ray_address)
            yield True
        finally:
            ray.shutdown()
