"""The offline base model: tokenizer, content-addressed cache, determinism, pretraining."""

from __future__ import annotations

import json

import pytest
import torch
from ml_fixtures import (  # noqa: F401 - fixtures are used by name
    TINY_MODULE,
    base_cfg,
    fixture_tiny_base,
    fixture_tiny_corpus,
)

from repotune.errors import RepotuneError
from repotune.modeling.base import (
    BUILD_INFO_FILE,
    EOS,
    FIM_TOKENS,
    build_offline_base,
    corpus_fingerprint,
    ensure_base_model,
    load_model_and_tokenizer,
    train_tokenizer,
)
from repotune.workspace import Workspace

CODE = 'def f(x):\n\t"""Tabs, ünïcode ✓ and  double  spaces."""  \n    return {"k": [x, 0x1F]}\n\n'


def _corpus_loss(path: str, text: str) -> float:
    model, tokenizer = load_model_and_tokenizer(path)
    ids = torch.tensor([tokenizer(text)["input_ids"][:256]])
    with torch.no_grad():
        return model(input_ids=ids, labels=ids).loss.item()


def test_tokenizer_round_trips_code_and_has_special_tokens(tiny_corpus):
    tokenizer = train_tokenizer(tiny_corpus, 512)
    ids = tokenizer(CODE)["input_ids"]
    assert tokenizer.decode(ids) == CODE
    specials = ["<|bos|>", EOS, "<|pad|>", *FIM_TOKENS]
    special_ids = tokenizer.convert_tokens_to_ids(specials)
    assert len(set(special_ids)) == len(specials) and tokenizer.unk_token_id not in special_ids
    assert tokenizer(EOS)["input_ids"] == [tokenizer.eos_token_id]
    assert tokenizer.padding_side == "left"


def test_prompt_tokens_are_a_prefix_of_prompt_plus_body(tiny_corpus):
    tokenizer = train_tokenizer(tiny_corpus, 512)
    prompt, body = 'def f(x):\n    """Doc."""\n', "    return x\n"
    prompt_ids = tokenizer(prompt)["input_ids"]
    assert tokenizer(prompt + body + EOS)["input_ids"][: len(prompt_ids)] == prompt_ids


def test_fingerprint_depends_on_texts_order_and_config(tiny_corpus):
    cfg = base_cfg()
    assert corpus_fingerprint(tiny_corpus, cfg) == corpus_fingerprint(list(tiny_corpus), cfg)
    assert len(corpus_fingerprint(tiny_corpus, cfg)) == 16
    assert corpus_fingerprint(tiny_corpus[::-1], cfg) != corpus_fingerprint(tiny_corpus, cfg)
    assert corpus_fingerprint(["ab", "c"], cfg) != corpus_fingerprint(["a", "bc"], cfg)
    assert corpus_fingerprint(tiny_corpus, base_cfg(hidden_size=32)) != corpus_fingerprint(
        tiny_corpus, cfg
    )
    # name_or_path does not shape an offline build
    assert corpus_fingerprint(tiny_corpus, base_cfg(name_or_path="x")) == corpus_fingerprint(
        tiny_corpus, cfg
    )


def test_ensure_base_model_builds_once_then_hits_the_cache(tiny_corpus, tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    cfg = base_cfg(pretrain_steps=2)
    first = ensure_base_model(tiny_corpus, cfg, workspace)
    second = ensure_base_model(tiny_corpus, cfg, workspace)
    assert first.built and not second.built
    assert first.path == second.path == str(workspace.base_model_dir(first.fingerprint))
    assert second.name == f"repotune-offline-{first.fingerprint}"
    assert (
        second.stats
        == first.stats
        == json.loads((workspace.base_model_dir(first.fingerprint) / BUILD_INFO_FILE).read_text())
    )
    other = ensure_base_model(tiny_corpus, base_cfg(pretrain_steps=2, seed=7), workspace)
    assert other.built and other.fingerprint != first.fingerprint


def test_build_is_deterministic(tiny_corpus, tmp_path):
    cfg = base_cfg(pretrain_steps=3)
    build_offline_base(tiny_corpus, cfg, tmp_path / "a")
    build_offline_base(tiny_corpus, cfg, tmp_path / "b")
    model_a, tok_a = load_model_and_tokenizer(str(tmp_path / "a"))
    model_b, tok_b = load_model_and_tokenizer(str(tmp_path / "b"))
    assert tok_a.get_vocab() == tok_b.get_vocab()
    for (name, a), (_, b) in zip(
        model_a.state_dict().items(), model_b.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_pretraining_lowers_the_loss_versus_random_init(tiny_corpus, tiny_base, tmp_path):
    stats = build_offline_base(tiny_corpus, base_cfg(pretrain_steps=0), tmp_path / "random")
    assert "pretrain_loss_final" not in stats
    random_loss = _corpus_loss(str(tmp_path / "random"), TINY_MODULE)
    trained_loss = _corpus_loss(tiny_base, TINY_MODULE)
    assert trained_loss < random_loss - 1.0


def test_text_shorter_than_one_block_still_builds(tmp_path):
    stats = build_offline_base(["def f():\n    return 1\n"], base_cfg(pretrain_steps=2), tmp_path)
    assert stats["tokens"] < 256 and stats["blocks"] == 1
    assert stats["pretrain_loss_final"] > 0
    assert (tmp_path / "config.json").is_file()


def test_empty_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(RepotuneError, match="base_model.name_or_path") as err:
        build_offline_base(["", "  \n"], base_cfg(), tmp_path)
    assert err.value.stage == "base_model"


def test_configured_base_is_used_as_is(tiny_base, tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    local = ensure_base_model([], base_cfg(name_or_path=tiny_base), workspace)
    assert (local.path, local.name, local.built) == (tiny_base, tiny_base, False)
    hub = ensure_base_model([], base_cfg(name_or_path="org/some-model"), workspace)
    assert hub.path == hub.name == "org/some-model"
    with pytest.raises(RepotuneError, match="base_model.name_or_path"):
        ensure_base_model([], base_cfg(name_or_path=str(tmp_path / "missing")), workspace)
    with pytest.raises(RepotuneError, match="no config.json"):
        ensure_base_model([], base_cfg(name_or_path=str(tmp_path)), workspace)


def test_loaded_model_is_ready_for_batched_generation(tiny_base):
    model, tokenizer = load_model_and_tokenizer(tiny_base)
    assert not model.training
    assert tokenizer.padding_side == "left" and tokenizer.pad_token == "<|pad|>"
    assert model.config.tie_word_embeddings and model.config.max_position_embeddings >= 1024
    assert model.config.eos_token_id == tokenizer.eos_token_id
    with pytest.raises(RepotuneError, match="adapter_config.json"):
        load_model_and_tokenizer(tiny_base, adapter_dir=tiny_base)
