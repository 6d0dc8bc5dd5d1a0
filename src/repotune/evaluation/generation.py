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
from repotune.evaluation.local_metrics import load_metric
from repotune.evaluation.metrics import body_indent, truncate_body
from repotune.modeling.base import load_model_and_tokenizer

STAGE = "evaluate"


@dataclass
class EvalResult:
    """Metrics (MLflow-ready floats), each metric's per-sample scores (``per_sample``: what the
    metric averages, in row order), and the generated bodies next to their references."""

    metrics: dict[str, float]
    predictions: list[dict] = field(default_factory=list)
    per_sample: dict[str, list[float]] = field(default_factory=dict)
    details: dict[str, dict] = field(default_factory=dict)


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
) -> tuple[float, int, list[float]]:
    """Mean NLL per completion token over all rows (pooled, like the training loss), the token
    count, and each row's own mean NLL (in row order: the per-sample scores that bootstrap
    intervals and paired tests resample).

    Batches are right-padded so that position ids of real tokens start at 0 as in training.
    """
    examples = _completion_examples(rows, tokenizer, _max_positions(model))
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    pad_id = tokenizer.pad_token_id
    total, count = 0.0, 0
    per_row = [math.nan] * len(examples)
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        batch = [examples[i] for i in indices]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.tensor([ids + [pad_id] * (width - len(ids)) for ids, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in batch])
        logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].float()
        targets = labels[:, 1:]
        losses = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none"
        ).view(targets.shape)
        tokens = (targets != -100).sum(dim=1)
        sums = losses.sum(dim=1)
        total += float(sums.sum())
        count += int(tokens.sum())
        for i, row_sum, row_tokens in zip(indices, sums.tolist(), tokens.tolist(), strict=True):
            per_row[i] = row_sum / row_tokens if row_tokens else math.nan
    return (total / count if count else math.nan), count, per_row


@torch.inference_mode()
def generate_bodies(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    max_new_tokens: int,
    batch_size: int,
    cut_at_function_end: bool = True,
) -> list[str]:
    """Greedy, left-padded, batched continuation of each prompt, cut where the function ends
    (or, for fill-in-the-middle, only at the end-of-text token)."""
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
            if cut_at_function_end:
                text = truncate_body(text, body_indent(prompts[i]), eos=tokenizer.eos_token)
            bodies[i] = text
    return bodies


def _scored(name: str, **inputs: object) -> tuple[float, list[float]]:
    """Mean and per-item scores of one of the local ``evaluate`` modules."""
    result = load_metric(name).compute(**inputs, return_per_item=True)
    return float(result[name]), [float(x) for x in result[f"{name}_per_item"]]


def evaluate_model(
    model_path: str,
    rows: list[dict],
    cfg: EvalConfig,
    adapter_dir: str | None = None,
    fim_rows: list[dict] | None = None,
    style_reference: float | None = None,
) -> EvalResult:
    """Loss metrics on all completion ``rows``; generation metrics (local ``evaluate`` modules)
    on the first ``cfg.max_samples`` of them, and FIM exact match on the first of ``fim_rows``.

    ``style_reference`` is the repository's own ruff findings per 100 lines: the generated
    functions' rate is scored against it (``style_consistency``).
    """
    if not rows:
        raise RepotuneError(
            STAGE,
            "the test split is empty, there is nothing to evaluate on",
            "include more files (`source.include`) or raise `dataset.test_fraction`",
        )
    model, tokenizer = load_model_and_tokenizer(model_path, adapter_dir)
    loss, _, row_losses = completion_loss(model, tokenizer, rows, cfg.batch_size)
    metrics = {"eval_loss": loss, "perplexity": math.exp(min(loss, 700.0))}
    per_sample = {"eval_loss": row_losses}
    sample = rows[: cfg.max_samples]
    prompts = [row["prompt"] for row in sample]
    references = [row["completion"] for row in sample]
    bodies = generate_bodies(model, tokenizer, prompts, cfg.max_new_tokens, cfg.batch_size)
    pairs = {"predictions": bodies, "references": references}
    for name, inputs in (
        ("exact_match", pairs),
        ("edit_similarity", pairs),
        ("next_line_accuracy", pairs),
        ("syntax_valid_rate", {"predictions": bodies, "prompts": prompts}),
    ):
        metrics[name], per_sample[name] = _scored(name, **inputs)
    if fim_rows:
        fim = fim_rows[: cfg.max_samples]
        middles = generate_bodies(
            model,
            tokenizer,
            [row["prompt"] for row in fim],
            cfg.max_new_tokens,
            cfg.batch_size,
            cut_at_function_end=False,
        )
        metrics["fim_exact_match"], per_sample["fim_exact_match"] = _scored(
            "fim_exact_match", predictions=middles, references=[row["completion"] for row in fim]
        )
    if style_reference is not None:
        functions = [prompt + body for prompt, body in zip(prompts, bodies, strict=True)]
        style = load_metric("style_consistency").compute(
            predictions=functions, reference_per_100_lines=style_reference
        )
        metrics["style_consistency"] = float(style["style_consistency"])
        metrics["lint_findings_per_100_lines"] = float(style["findings_per_100_lines"])
    predictions = []
    for row, body in zip(sample, bodies, strict=True):
        entry = {"id": row["id"]} if "id" in row else {}
        entry.update(prompt=row["prompt"], reference=row["completion"], prediction=body)
        predictions.append(entry)
    return EvalResult(metrics, predictions, per_sample)
