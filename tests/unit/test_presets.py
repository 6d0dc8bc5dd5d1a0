"""Every shipped preset loads, is headed by the command that runs it, and asks for what it says."""

from __future__ import annotations

import pytest
import torch

from repotune.config import list_presets, load_config, preset_path
from repotune.errors import RepotuneError
from repotune.training.model_setup import resolve_precision

SHIPPED = [
    "cpu-micro",
    "cpu-tiny",
    "gpu-qwen-coder-0.5b-lora",
    "gpu-qwen-coder-1.5b-qlora",
    "ray-cluster-multi-gpu",
]


@pytest.mark.parametrize("name", SHIPPED)
def test_preset_loads_and_starts_with_its_command(name):
    assert name in list_presets()
    config = load_config(name)
    assert (
        preset_path(name).read_text().splitlines()[0].startswith(f"# repotune run --preset {name}")
    )
    assert config.train.packing
    if name != "cpu-micro":  # the smoke test fixes its epochs; every other preset scales them
        assert config.train.num_epochs == "auto"


def test_cpu_tiny_builds_the_offline_base_and_trains_in_fp32_here(monkeypatch):
    config = load_config("cpu-tiny")
    assert config.base_model.name_or_path is None
    assert (config.train.quantization, config.train.bf16) == ("none", "auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not resolve_precision(config.train).bf16


def test_gpu_presets_name_qwen_coder_with_lora_or_qlora():
    lora = load_config("gpu-qwen-coder-0.5b-lora")
    assert lora.base_model.name_or_path == "Qwen/Qwen2.5-Coder-0.5B"
    assert (lora.train.lora_r, lora.train.bf16, lora.train.quantization) == (16, "auto", "none")
    assert lora.train.max_seq_len * lora.train.batch_size >= 8192  # a GPU-sized step
    qlora = load_config("gpu-qwen-coder-1.5b-qlora")
    assert qlora.base_model.name_or_path == "Qwen/Qwen2.5-Coder-1.5B"
    assert qlora.train.quantization == "4bit" and qlora.train.gradient_checkpointing
    assert lora.train.use_gpu and qlora.train.use_gpu  # a Ray worker sees a GPU only if asked


def test_the_ray_cluster_preset_trains_data_parallel_on_gpus():
    train = load_config("ray-cluster-multi-gpu").train
    assert train.backend == "ray" and train.workers >= 2 and train.use_gpu
    assert train.ray_address is not None


def test_the_qlora_preset_on_a_cpu_machine_says_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RepotuneError, match="needs a CUDA GPU"):
        resolve_precision(load_config("gpu-qwen-coder-1.5b-qlora").train)
