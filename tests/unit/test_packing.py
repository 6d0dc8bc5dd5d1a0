"""Packed rows: fewer rows, every token kept, and samples in one row never see each other."""

from __future__ import annotations

import torch
from datasets import Dataset
from transformers import LlamaConfig, LlamaForCausalLM

from repotune.training.packing import PackedRowsCollator, pack_rows

A, B, C = list(range(3, 20)), list(range(30, 40)), list(range(50, 75))


def samples(prompt_len: int = 5) -> Dataset:
    labels = [[-100] * prompt_len + seq[prompt_len:] for seq in (A, B, C)]
    return Dataset.from_dict({"input_ids": [A, B, C], "labels": labels, "row": [0, 1, 2]})


def test_best_fit_packs_fewer_rows_and_keeps_every_token():
    packed = pack_rows(samples(), 32)
    assert len(packed) == 2 and set(packed.column_names) == {"input_ids", "labels", "seq_lengths"}
    assert sorted(len(ids) for ids in packed["input_ids"]) == [25, 27]  # C alone, A + B
    assert sorted(sum(packed["input_ids"], [])) == sorted(A + B + C)
    assert sorted(map(sorted, packed["seq_lengths"])) == [[10, 17], [25]]


def test_collator_restarts_positions_and_masks_sample_starts_and_padding():
    packed = pack_rows(samples(prompt_len=0), 32)  # every token labelled, starts included
    batch = PackedRowsCollator(pad_token_id=0)([packed[i] for i in range(len(packed))])
    assert "attention_mask" not in batch and batch["use_cache"] is False
    assert batch["input_ids"].shape == batch["position_ids"].shape == (2, 27)
    for row in range(2):
        ids, positions = batch["input_ids"][row].tolist(), batch["position_ids"][row].tolist()
        starts = [i for i, p in enumerate(positions) if p == 0]
        assert [
            i for i, label in enumerate(batch["labels"][row].tolist()) if label == -100
        ] == starts
        assert all(
            positions[i] == positions[i - 1] + 1 for i in range(1, len(ids)) if i not in starts
        )
        pad = [i for i, token in enumerate(ids) if token == 0]
        assert all(positions[i] == 0 for i in pad)


def test_a_sample_in_a_packed_row_computes_as_if_alone():
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(vocab_size=100, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2)
    ).eval()  # fmt: skip
    packed = pack_rows(samples(), 32)
    batch = PackedRowsCollator(pad_token_id=0)([packed[i] for i in range(len(packed))])
    labels = batch.pop("labels")
    with torch.no_grad():
        logits = model(**batch).logits
        checked = 0
        for seq in (A, B, C):
            alone = model(input_ids=torch.tensor([seq])).logits[0]
            for row in range(len(packed)):
                ids = batch["input_ids"][row].tolist()
                starts = [s for s in range(len(ids)) if ids[s : s + len(seq)] == seq]
                for s in starts:
                    torch.testing.assert_close(logits[row, s : s + len(seq)], alone)
                    checked += 1
    assert checked == 3  # B sits after A in its row: it matched only because A was masked off
    assert int((labels != -100).sum()) == sum(len(seq) - 5 for seq in (A, B, C))  # prompts masked
