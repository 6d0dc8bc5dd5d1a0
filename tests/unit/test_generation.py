"""Evaluation: completion-only loss, batched greedy generation, and base vs tuned comparison."""

from __future__ import annotations

import math

import pytest
import torch
from ml_fixtures import (  # noqa: F401 - fixtures are used by name
    eval_cfg,
    fixture_tiny_adapter,
    fixture_tiny_base,
    fixture_tiny_corpus,
    fixture_tiny_rows,
)

from repotune.errors import RepotuneError
from repotune.evaluation.generation import completion_loss, evaluate_model, generate_bodies
from repotune.modeling.base import load_model_and_tokenizer


def test_tuned_model_has_lower_loss_on_its_train_rows(tiny_base, tiny_adapter, tiny_rows):
    result, _ = tiny_adapter
    base = evaluate_model(tiny_base, tiny_rows, eval_cfg())
    tuned = evaluate_model(tiny_base, tiny_rows, eval_cfg(), adapter_dir=result.adapter_dir)
    assert tuned.metrics["eval_loss"] < base.metrics["eval_loss"] - 0.2
    assert tuned.metrics["perplexity"] == pytest.approx(math.exp(tuned.metrics["eval_loss"]))
    assert set(tuned.metrics) == {
        "eval_loss",
        "perplexity",
        "exact_match",
        "edit_similarity",
        "next_line_accuracy",
        "syntax_valid_rate",
    }
    for name in ("exact_match", "edit_similarity", "next_line_accuracy", "syntax_valid_rate"):
        assert 0.0 <= tuned.metrics[name] <= 1.0
        # Per-sample scores are what the metric averages (bootstrap intervals resample them).
        scores = tuned.per_sample[name]
        assert len(scores) == min(4, len(tiny_rows))  # eval_cfg's max_samples
        assert tuned.metrics[name] == pytest.approx(sum(scores) / len(scores))
    assert len(tuned.per_sample["eval_loss"]) == len(tiny_rows)


def test_fim_and_style_metrics_when_asked(tiny_base, tiny_rows):
    fim = [{"prompt": row["prompt"], "completion": row["completion"]} for row in tiny_rows[:2]]
    result = evaluate_model(tiny_base, tiny_rows, eval_cfg(), fim_rows=fim, style_reference=0.0)
    assert len(result.per_sample["fim_exact_match"]) == 2
    assert 0.0 <= result.metrics["fim_exact_match"] <= 1.0
    rate = result.metrics["lint_findings_per_100_lines"]
    assert result.metrics["style_consistency"] == pytest.approx(min(1.0, 1.0 / (rate + 1.0)))


def test_predictions_keep_ids_order_and_are_deterministic(tiny_base, tiny_adapter, tiny_rows):
    adapter_dir = tiny_adapter[0].adapter_dir
    first = evaluate_model(tiny_base, tiny_rows, eval_cfg(), adapter_dir=adapter_dir)
    second = evaluate_model(tiny_base, tiny_rows, eval_cfg(), adapter_dir=adapter_dir)
    assert first.predictions == second.predictions and first.metrics == second.metrics
    assert [p["id"] for p in first.predictions] == [row["id"] for row in tiny_rows[:4]]
    for prediction, row in zip(first.predictions, tiny_rows[:4], strict=True):
        assert prediction["prompt"] == row["prompt"]
        assert prediction["reference"] == row["completion"]
        assert "<|eos|>" not in prediction["prediction"]


def test_batched_left_padded_generation_matches_one_by_one(tiny_base, tiny_rows):
    model, tokenizer = load_model_and_tokenizer(tiny_base)
    prompts = [row["prompt"] for row in tiny_rows[:4]]
    assert len({len(tokenizer(p)["input_ids"]) for p in prompts}) > 1  # padding really happens
    batched = generate_bodies(model, tokenizer, prompts, max_new_tokens=12, batch_size=4)
    single = [generate_bodies(model, tokenizer, [p], 12, 1)[0] for p in prompts]
    assert batched == single


def test_loss_counts_completion_tokens_only(tiny_base, tiny_rows):
    model, tokenizer = load_model_and_tokenizer(tiny_base)
    row = tiny_rows[0]
    loss, count, per_row = completion_loss(model, tokenizer, [row], batch_size=1)
    body_tokens = len(tokenizer(row["completion"] + tokenizer.eos_token)["input_ids"])
    assert count == body_tokens
    ids = torch.tensor([tokenizer(row["prompt"] + row["completion"] + "<|eos|>")["input_ids"]])
    labels = ids.clone()
    labels[0, : ids.shape[1] - body_tokens] = -100
    with torch.no_grad():
        expected = model(input_ids=ids, labels=labels).loss.item()
    assert loss == pytest.approx(expected, rel=1e-4) and per_row == [pytest.approx(loss)]
    batched, _, batched_rows = completion_loss(model, tokenizer, tiny_rows, batch_size=4)
    pooled, _, single_rows = completion_loss(model, tokenizer, tiny_rows, batch_size=1)
    assert batched == pytest.approx(pooled, rel=1e-4)
    # Per-row losses come back in row order whatever the length-sorted batching did.
    assert batched_rows == pytest.approx(single_rows, rel=1e-4)
    assert single_rows[1] == pytest.approx(
        completion_loss(model, tokenizer, [tiny_rows[1]], batch_size=1)[0], rel=1e-4
    )


def test_empty_test_split_is_a_clear_error(tiny_base):
    with pytest.raises(RepotuneError, match="test split is empty"):
        evaluate_model(tiny_base, [], eval_cfg())
