"""Tokenization: the same tokens TRL builds, cached by rows + tokenizer + length, never stale."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset
from ml_fixtures import TINY_MODULE, function_rows
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
from trl import SFTConfig, SFTTrainer

from repotune.modeling.base import train_tokenizer
from repotune.training.data import prepare_rows
from repotune.training.token_cache import (
    MANIFEST,
    tokenize_rows,
    tokenized_rows,
    tokenizer_hash,
)


@pytest.fixture(name="tokenizer", scope="module")
def fixture_tokenizer():
    return train_tokenizer([TINY_MODULE], 400)


@pytest.fixture(name="rows", scope="module")
def fixture_rows(tokenizer):
    return prepare_rows(function_rows(TINY_MODULE), tokenizer.eos_token)


def test_tokens_and_labels_match_trls_own_preparation(tokenizer, rows, tmp_path):
    # 24 tokens: long bodies are truncated, and the Counter.__init__ prompt fills it (dropped).
    max_len = 24
    model = LlamaForCausalLM(
        LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                    num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)
    )  # fmt: skip
    args = SFTConfig(output_dir=str(tmp_path), max_length=max_len, completion_only_loss=True,
                     use_cpu=True, bf16=False, report_to="none",
                     activation_checkpointing=False)  # fmt: skip
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer)  # fmt: skip
    ours = tokenize_rows(rows, tokenizer, max_len)
    assert len(ours["input_ids"]) < len(rows)  # at least one prompt fills max_len
    assert ours["input_ids"] == trainer.train_dataset["input_ids"]
    assert ours["labels"] == trainer.train_dataset["labels"]
    assert all(len(ids) <= max_len for ids in ours["input_ids"])


def test_labels_cover_the_completion_and_its_eos_only(tokenizer, rows):
    columns = tokenize_rows(rows[:1], tokenizer, 512)
    prompt_len = len(tokenizer(rows[0]["prompt"])["input_ids"])
    ids, labels = columns["input_ids"][0], columns["labels"][0]
    assert labels[:prompt_len] == [-100] * prompt_len
    assert labels[prompt_len:] == ids[prompt_len:] and ids[-1] == tokenizer.eos_token_id
    assert columns["row"] == [0]


def test_a_rerun_reads_the_cache_and_never_calls_the_tokenizer(
    tokenizer, rows, tmp_path, monkeypatch
):
    first = tokenized_rows(rows, tokenizer, 64, tmp_path, dataset_fingerprint="tasks-abc")
    assert not first.cache_hit
    manifest = json.loads((tmp_path / first.key / MANIFEST).read_text())
    assert manifest["dataset_fingerprint"] == "tasks-abc" and manifest["rows"] == len(rows)
    calls = []
    original = type(tokenizer).__call__
    monkeypatch.setattr(
        type(tokenizer),
        "__call__",
        lambda self, *a, **kw: calls.append(1) or original(self, *a, **kw),
    )
    again = tokenized_rows(rows, tokenizer, 64, tmp_path)
    assert again.cache_hit and again.key == first.key and calls == []
    assert again.dataset["input_ids"] == first.dataset["input_ids"]
    assert again.dataset["labels"] == first.dataset["labels"]
    changed = [*rows[:-1], {**rows[-1], "completion": "    return 0\n" + tokenizer.eos_token}]
    assert not tokenized_rows(changed, tokenizer, 64, tmp_path).cache_hit
    assert calls  # other rows: tokenized afresh


def test_another_tokenizer_or_length_never_reuses_the_cache(tokenizer, rows, tmp_path):
    cached = tokenized_rows(rows, tokenizer, 64, tmp_path)
    other = train_tokenizer([TINY_MODULE], 300)
    fresh = tokenized_rows(rows, other, 64, tmp_path)
    assert not fresh.cache_hit and fresh.key != cached.key
    assert fresh.dataset["input_ids"] == tokenize_rows(rows, other, 64)["input_ids"]
    assert fresh.dataset["input_ids"] != cached.dataset["input_ids"]
    shorter = tokenized_rows(rows, tokenizer, 32, tmp_path)
    assert not shorter.cache_hit and shorter.key != cached.key
    assert len(list(tmp_path.iterdir())) == 3


def test_tokenizer_hash_survives_save_reload_and_padding_calls(tokenizer, tmp_path):
    digest = tokenizer_hash(tokenizer)
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    reloaded(["a", "bbb"], padding=True, truncation=True, max_length=8)
    assert tokenizer_hash(reloaded) == digest
    assert tokenizer_hash(train_tokenizer([TINY_MODULE], 300)) != digest


def test_without_a_cache_dir_nothing_is_written(tokenizer, rows, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = tokenized_rows(rows, tokenizer, 64)
    assert result.path is None and not result.cache_hit and len(result.dataset) == len(rows)
    assert list(tmp_path.iterdir()) == []
