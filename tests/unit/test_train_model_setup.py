"""Precision and QLoRA are checked against the machine before anything is loaded."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from repotune.config import TrainConfig
from repotune.errors import RepotuneError
from repotune.training import model_setup
from repotune.training.model_setup import quantization_config, resolve_precision


@pytest.fixture(name="gpu")
def fixture_gpu(monkeypatch):
    """Pretend to be a bf16-capable CUDA machine (only the checks, nothing is loaded)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    return monkeypatch


def without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_cpu_runs_fp32_when_auto(monkeypatch):
    without_cuda(monkeypatch)
    precision = resolve_precision(TrainConfig())
    assert (precision.cuda, precision.bf16, precision.quantized) == (False, False, False)
    assert precision.dtype == torch.float32 and quantization_config(precision) is None


def test_bf16_forced_on_cpu_is_a_clear_error(monkeypatch):
    without_cuda(monkeypatch)
    with pytest.raises(RepotuneError, match="`train.bf16` is true, but there is no CUDA GPU"):
        resolve_precision(TrainConfig(bf16=True))


def test_qlora_without_cuda_says_what_to_do(monkeypatch):
    without_cuda(monkeypatch)
    with pytest.raises(RepotuneError, match="needs a CUDA GPU") as err:
        resolve_precision(TrainConfig(quantization="4bit"))
    assert "`train.quantization: none`" in str(err.value)


def test_qlora_without_bitsandbytes_names_the_extra(gpu):
    real = importlib.util.find_spec
    gpu.setattr(
        model_setup.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bitsandbytes" else real(name, *a),
    )
    with pytest.raises(RepotuneError, match=r"pip install 'repotune\[gpu\]'"):
        resolve_precision(TrainConfig(quantization="4bit"))


def test_qlora_on_a_bf16_gpu_is_nf4_with_bf16_compute(gpu):
    gpu.setattr(model_setup.importlib.util, "find_spec", lambda name, *a: object())
    precision = resolve_precision(TrainConfig(quantization="4bit"))
    assert precision.bf16 and precision.quantized and precision.dtype == torch.bfloat16
    config = quantization_config(precision)
    assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4"
    assert config.bnb_4bit_use_double_quant and config.bnb_4bit_compute_dtype == torch.bfloat16
    with pytest.raises(RepotuneError, match="trains the adapter in bf16"):
        resolve_precision(TrainConfig(quantization="4bit", bf16=False))


def test_gpu_without_bf16_falls_back_to_fp32_when_auto(gpu):
    gpu.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    precision = resolve_precision(TrainConfig())
    assert precision.cuda and not precision.bf16
    with pytest.raises(RepotuneError, match="this GPU does not support bf16"):
        resolve_precision(TrainConfig(bf16=True))
