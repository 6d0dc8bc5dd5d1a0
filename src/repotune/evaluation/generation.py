"""Held-out evaluation of a model (optionally with a LoRA adapter) on prompt/completion rows.

Two views of quality: the loss on the true bodies (cheap, uses every row, sensitive to small
improvements) and greedy generation on the first rows (what a user sees, scored with the metrics in
``repotune.evaluation.metrics``). Base and tuned models are evaluated by the same code on the same
rows, so their numbers compare directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from repotune.config import EvalConfig
from repotune.errors import RepotuneError
from repotune.evaluation.metrics import (
    body_indent,
    edit_similarity,
    exact_match,
    syntax_valid_rate,
    truncate_body,
)
from repotune.modeling.base import load_model_and_tokenizer

STAGE = "evaluate"


@dataclass
class EvalResult:
    """Metrics (MLflow-ready floats) and the generated bodies next to their references."""

    metrics: dict[str, float]
    predictions: list[dict] = field(default_factory=list)


def _max_positions(model: PreTrainedModel) -> int | None:
    return getattr(model.config, "max_position_embeddings", None)


def _completion_examples(
    rows: list[dict], tokenizer: PreTrainedTokenizerBase, max_len: int | None
) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) per row, labels -100 on the prompt, tokenized as SFT training does it.

    The completion gets EOS appended, and it starts where the tokenized prompt stops being a prefix
    of the tokenized prompt + completion (the same rule as TRL's completion mask).
    """
    examples = []
    eos = tokenizer.eos_token
    for row in rows:
        completion = row["completion"]
        if not completion.endswith(eos):
            completion += eos
        prompt_ids = tokenizer(row["prompt"])["input_ids"]
        full_ids = tokenizer(row["prompt"] + completion)["input_ids"]
        start = 0
        while start < min(len(prompt_ids), len(full_ids)) and prompt_ids[start] == full_ids[start]:
            start += 1
        labels = [-100] * start + full_ids[start:]
        if max_len is not None:
            full_ids, labels = full_ids[:max_len], labels[:max_len]
        examples.append((full_ids, labels))
    return examples


@torch.inference_mode()
def completion_loss(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, rows: list[dict], batch_size: int
) -> tuple[float, int]:
    """Mean NLL per completion token over all rows (pooled, like the training loss), and the count.

    Batches are right-padded so that position ids of real tokens start at 0 as in training.
    """
    examples = _completion_examples(rows, tokenizer, _max_positions(model))
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    pad_id = tokenizer.pad_token_id
    total, count = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = [examples[i] for i in order[start : start + batch_size]]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.tensor([ids + [pad_id] * (width - len(ids)) for ids, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in batch])
        logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].float()
        targets = labels[:, 1:]
        total += F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="sum"
        ).item()
        count += int((targets != -100).sum())
    return (total / count if count else math.nan), count


@torch.inference_mode()
def generate_bodies(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    max_new_tokens: int,
    batch_size: int,
) -> list[str]:
    """Greedy, left-padded, batched continuation of each prompt, cut where the function ends."""
    max_pos = _max_positions(model)
    max_prompt = max_pos - max_new_tokens if max_pos and max_pos > max_new_tokens else None
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    bodies: list[str] = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        encoded = tokenizer(
            [prompts[i] for i in indices],
            return_tensors="pt",
            padding=True,
            truncation=max_prompt is not None,
            max_length=max_prompt,
        )
        output = model.generate(
            **encoded,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        new_tokens = output[:, encoded["input_ids"].shape[1] :].tolist()
        for i, ids in zip(indices, new_tokens, strict=True):
            if tokenizer.eos_token_id in ids:
                ids = ids[: ids.index(tokenizer.eos_token_id)]
            text = tokenizer.decode(ids, skip_special_tokens=True)
            bodies[i] = truncate_body(text, body_indent(prompts[i]), eos=tokenizer.eos_token)
    return bodies


def evaluate_model(
    model_path: str, rows: list[dict], cfg: EvalConfig, adapter_dir: str | None = None
) -> EvalResult:
    """Loss metrics on all rows, generation metrics on the first ``cfg.max_samples`` rows."""
    if not rows:
        raise RepotuneError(
            STAGE,
            "the test split is empty, there is nothing to evaluate on",
            "include more files (`source.include`) or raise `dataset.test_fraction`",
        )
    model, tokenizer = load_model_and_tokenizer(model_path, adapter_dir)
    loss, _ = completion_loss(model, tokenizer, rows, cfg.batch_size)
    sample = rows[: cfg.max_samples]
    prompts = [row["prompt"] for row in sample]
    references = [row["completion"] for row in sample]
    bodies = generate_bodies(model, tokenizer, prompts, cfg.max_new_tokens, cfg.batch_size)
    metrics = {
        "eval_loss": loss,
        "perplexity": math.exp(min(loss, 700.0)),
        "exact_match": exact_match(bodies, references),
        "edit_similarity": edit_similarity(bodies, references),
        "syntax_valid_rate": syntax_valid_rate(prompts, bodies),
    }
    predictions = []
    for row, body in zip(sample, bodies, strict=True):
        entry = {"id": row["id"]} if "id" in row else {}
        entry.update(prompt=row["prompt"], reference=row["completion"], prediction=body)
        predictions.append(entry)
    return EvalResult(metrics, predictions)
