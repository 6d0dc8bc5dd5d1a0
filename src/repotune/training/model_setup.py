"""The base model as training needs it: precision and (Q)LoRA quantization chosen for the machine.

A preset says what it wants (``bf16: auto``, ``quantization: 4bit``); this module decides what the
machine can do and says so before anything heavy is loaded: bf16 where the GPU supports it, fp32
on CPU; 4-bit NF4 (QLoRA) only on a CUDA GPU with bitsandbytes installed, else an error that
names the setting and the way out.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BitsAndBytesConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from repotune.config import TrainConfig
from repotune.errors import RepotuneError
from repotune.modeling.base import model_load_error

STAGE = "train"


@dataclass(frozen=True)
class Precision:
    """How the run computes: on a GPU or not, bf16 autocast or fp32, 4-bit base or not."""

    cuda: bool
    bf16: bool
    quantized: bool

    @property
    def dtype(self) -> torch.dtype:
        """dtype of the base weights: bf16 halves their memory when computing in bf16."""
        return torch.bfloat16 if self.bf16 else torch.float32


def resolve_precision(cfg: TrainConfig) -> Precision:
    """Check ``train.bf16`` and ``train.quantization`` against this machine."""
    cuda = torch.cuda.is_available()
    bf16_ok = cuda and torch.cuda.is_bf16_supported()
    if cfg.bf16 is True and not bf16_ok:
        raise RepotuneError(
            STAGE,
            "`train.bf16` is true, but "
            + ("this GPU does not support bf16" if cuda else "there is no CUDA GPU here"),
            "set `train.bf16: auto` (bf16 where supported, fp32 elsewhere) or run on an Ampere "
            "or newer GPU",
        )
    bf16 = bf16_ok if cfg.bf16 == "auto" else cfg.bf16
    if cfg.quantization == "4bit":
        if not cuda:
            raise RepotuneError(
                STAGE,
                "`train.quantization: 4bit` (QLoRA) needs a CUDA GPU and there is none here",
                "set `train.quantization: none` to train LoRA in full precision here, or run the "
                "preset on a machine with an NVIDIA GPU",
            )
        if importlib.util.find_spec("bitsandbytes") is None:
            raise RepotuneError(
                STAGE,
                "`train.quantization: 4bit` (QLoRA) needs bitsandbytes, which is not installed",
                "`pip install 'repotune[gpu]'`, or set `train.quantization: none`",
            )
        if not bf16:
            raise RepotuneError(
                STAGE,
                "`train.quantization: 4bit` trains the adapter in bf16 (as TRL does for QLoRA), "
                "and bf16 is " + ("off (`train.bf16: false`)" if bf16_ok else "not supported"),
                "set `train.bf16: auto` on an Ampere or newer GPU, or `train.quantization: none`",
            )
    return Precision(cuda=cuda, bf16=bf16, quantized=cfg.quantization == "4bit")


def quantization_config(precision: Precision) -> BitsAndBytesConfig | None:
    """NF4 with double quantization and bf16 compute: the QLoRA paper's recipe."""
    if not precision.quantized:
        return None
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def load_for_training(
    path: str, precision: Precision
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Base model and tokenizer for LoRA training (the trainer moves a full-precision model to
    the device; a 4-bit one is placed on this process's GPU as it loads)."""
    kwargs: dict = {"dtype": precision.dtype}
    quantization = quantization_config(precision)
    if quantization is not None:
        kwargs["quantization_config"] = quantization
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as err:
        raise model_load_error(path, err) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
