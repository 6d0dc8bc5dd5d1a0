"""Where Ray Train runs: scaling settings checked early, a dead Ray address said plainly."""

from __future__ import annotations

import os
import socket

import pytest
import ray

from repotune.config import TrainConfig
from repotune.errors import RepotuneError
from repotune.training import ray_cluster
from repotune.training.ray_cluster import RayScaling, _host_port
from repotune.training.ray_train import train_on_ray


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_ray_address_that_does_not_answer_fails_clearly_after_bounded_retries(
    tmp_path, monkeypatch
):
    assert not ray.is_initialized(), "an earlier test left Ray running"
    naps: list[float] = []
    monkeypatch.setattr(ray_cluster.time, "sleep", naps.append)
    address = f"127.0.0.1:{_unused_port()}"
    with pytest.raises(RepotuneError) as caught:
        train_on_ray(
            "unused-base",
            [{"prompt": "def f():\n", "completion": "    pass\n"}],
            TrainConfig(),
            tmp_path / "adapter",
            scaling=RayScaling(ray_address=address),
            checkpoint_dir=tmp_path / "checkpoints",
        )
    message = str(caught.value)
    assert "`train.ray_address`" in message and address in message
    assert f"after {ray_cluster.CONNECT_ATTEMPTS} attempts" in message
    assert "ray start --head" in message
    assert naps == list(ray_cluster.BACKOFF_S)
    assert not ray.is_initialized()


def test_a_malformed_ray_address_names_the_field():
    with pytest.raises(RepotuneError, match="`train.ray_address` 'head-node' is not an address"):
        ray_cluster.connect("head-node")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.0.0.5:6379", ("10.0.0.5", 6379)),
        ("ray://head:10001", ("head", 10001)),
        ("[::1]:6379", ("::1", 6379)),
        ("auto", None),
        ("head", None),
    ],
)
def test_host_and_port_of_an_address(address, expected):
    assert _host_port(address) == expected


def test_scaling_settings_are_checked_when_made():
    with pytest.raises(RepotuneError, match="`train.workers` is 0"):
        RayScaling(workers=0)
    with pytest.raises(RepotuneError, match="`train.cpus_per_worker` is 0"):
        RayScaling(cpus_per_worker=0)


def test_cpus_per_worker_share_the_machine_locally_and_default_to_one_on_a_cluster(monkeypatch):
    monkeypatch.setattr(ray_cluster.os, "cpu_count", lambda: 8)
    assert RayScaling(workers=2).worker_cpus() == 4
    assert RayScaling(workers=16).worker_cpus() == 1
    assert RayScaling(workers=2, ray_address="auto").worker_cpus() == 1
    assert RayScaling(workers=2, cpus_per_worker=3).worker_cpus() == 3


def test_workers_env_carries_the_offline_settings(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    env = ray_cluster.worker_env()
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["RAY_TRAIN_ENABLE_PRINT_PATCH"] == "0"


def test_a_local_ray_runs_lean_for_the_session_only_and_user_settings_win(monkeypatch):
    for key in ray_cluster.LOCAL_RAY_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RAY_TRAIN_METRICS_ENABLED", "1")
    with ray_cluster._local_ray_env():
        assert os.environ["RAY_TRAIN_ENABLE_PREEMPTION_WATCHER"] == "0"
        assert os.environ["RAY_enable_metrics_collection"] == "0"
        assert os.environ["RAY_TRAIN_METRICS_ENABLED"] == "1"
    assert "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER" not in os.environ
    assert os.environ["RAY_TRAIN_METRICS_ENABLED"] == "1"
