"""Shared tiny corpus, configs and cached model builds for the modeling/training/evaluation tests.

Imported by the test modules (not a conftest) so it composes with any project-wide conftest. The
base model and the adapter are built once per test session: each test module gets its own copy of
an imported fixture, so the builds are memoised here rather than by fixture scope.
"""

from __future__ import annotations

import ast
import os

for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
}.items():
    os.environ.setdefault(_key, _value)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from repotune.config import BaseModelConfig, EvalConfig, TrainConfig  # noqa: E402

TINY_MODULE = '''\
"""Small utilities used as a test corpus."""

import math


def add(a, b):
    """Return the sum of a and b."""
    return a + b


def clamp(value, low, high):
    """Limit value to the closed range [low, high]."""
    if value < low:
        return low
    if value > high:
        return high
    return value


def mean(values):
    """Arithmetic mean of a non-empty list."""
    total = 0
    for value in values:
        total += value
    return total / len(values)


def is_even(number):
    """Whether number is divisible by two."""
    return number % 2 == 0


def hypotenuse(a, b):
    """Length of the hypotenuse of a right triangle."""
    return math.sqrt(a * a + b * b)


def reverse_words(text):
    """Reverse the order of the words in text."""
    words = text.split()
    words.reverse()
    return " ".join(words)


def count_vowels(text):
    """Number of vowels in text."""
    count = 0
    for char in text.lower():
        if char in "aeiou":
            count += 1
    return count


def flatten(nested):
    """Flatten a list of lists into one list."""
    result = []
    for items in nested:
        result.extend(items)
    return result


class Counter:
    """Counts events by name."""

    def __init__(self):
        """Start with no events."""
        self.counts = {}

    def increment(self, name):
        """Add one to the count of name."""
        self.counts[name] = self.counts.get(name, 0) + 1
        return self.counts[name]

    def total(self):
        """Sum of all counts."""
        return sum(self.counts.values())
'''

TINY_BASE_CFG = dict(
    vocab_size=512,
    hidden_size=64,
    num_layers=2,
    num_heads=4,
    num_kv_heads=2,
    intermediate_size=128,
    pretrain_steps=60,
    pretrain_learning_rate=5e-3,
    seed=0,
)
TINY_TRAIN_CFG = dict(
    learning_rate=5e-3,
    max_steps=8,
    batch_size=4,
    max_seq_len=256,
    lora_r=8,
    lora_alpha=16,
    lora_dropout=0.0,
    seed=1,
)

_BUILT: dict[str, object] = {}


def function_rows(source: str) -> list[dict]:
    """Split every function of ``source`` into prompt (signature + docstring) and body."""
    lines = source.splitlines(keepends=True)
    rows = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and ast.get_docstring(node) is not None:
            doc = node.body[0]
            rows.append(
                {
                    "id": node.name,
                    "prompt": "".join(lines[node.lineno - 1 : doc.end_lineno]),
                    "completion": "".join(lines[doc.end_lineno : node.end_lineno]),
                }
            )
    return rows


def base_cfg(**overrides) -> BaseModelConfig:
    return BaseModelConfig(**{**TINY_BASE_CFG, **overrides})


def train_cfg(**overrides) -> TrainConfig:
    return TrainConfig(**{**TINY_TRAIN_CFG, **overrides})


def eval_cfg(**overrides) -> EvalConfig:
    return EvalConfig(**{"max_samples": 4, "max_new_tokens": 24, "batch_size": 4, **overrides})


@pytest.fixture(name="tiny_corpus")
def fixture_tiny_corpus() -> list[str]:
    """Pretraining texts: the whole module, then each documented function on its own."""
    return [TINY_MODULE] + [row["prompt"] + row["completion"] for row in function_rows(TINY_MODULE)]


@pytest.fixture(name="tiny_rows")
def fixture_tiny_rows() -> list[dict]:
    return function_rows(TINY_MODULE)


@pytest.fixture(name="tiny_base")
def fixture_tiny_base(tiny_corpus, tmp_path_factory) -> str:
    """Path of a tiny offline base model, built once per session."""
    if "base" not in _BUILT:
        from repotune.modeling.base import build_offline_base

        out = tmp_path_factory.mktemp("tiny-base")
        build_offline_base(tiny_corpus, base_cfg(), out)
        _BUILT["base"] = str(out)
    return str(_BUILT["base"])


@pytest.fixture(name="tiny_adapter")
def fixture_tiny_adapter(tiny_base, tiny_rows, tmp_path_factory):
    """A LoRA adapter trained on ``tiny_rows`` and its ``TrainResult``, built once per session."""
    if "adapter" not in _BUILT:
        from repotune.training.sft import train_lora

        logged: list[tuple[int, dict]] = []
        out = Path(tmp_path_factory.mktemp("tiny-adapter"))
        result = train_lora(
            tiny_base, tiny_rows, train_cfg(), out, on_log=lambda s, m: logged.append((s, m))
        )
        _BUILT["adapter"] = (result, logged)
    return _BUILT["adapter"]
