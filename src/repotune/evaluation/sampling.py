"""n sampled bodies per prompt, for pass@k: the chance that one of k tries passes the tests.

pass@1 from one greedy body and pass@k from n sampled ones answer different questions, so both
are available: ``n == 1`` with ``temperature == 0`` is the greedy path of
:func:`~repotune.evaluation.generation.generate_bodies`, anything else samples. Bodies are cut
where the function ends by the same rule as greedy generation, so a sampled body and a greedy
one are scored alike.

Evaluation code takes a :data:`Generate` callable rather than a model: the model-backed one comes
from :func:`model_generator`, and tests (or another backend) can pass their own. The pass@k
helpers at the end turn "which samples passed" into metrics and per-item scores, the same way for
every suite.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from repotune.evaluation.generation import generate_bodies
from repotune.evaluation.metrics import body_indent, truncate_body
from repotune.evaluation.pass_at_k import pass_at_k
from repotune.modeling.base import load_model_and_tokenizer

Generate = Callable[[list[str], int], list[list[str]]]
"""``generate(prompts, n)``: ``n`` bodies for each prompt, in prompt order."""


def _check(n: int, temperature: float, top_p: float, batch_size: int) -> None:
    if n < 1:
        raise ValueError(f"`n` must be >= 1 sample per prompt (got {n})")
    if temperature < 0:
        raise ValueError(f"`temperature` must be >= 0 (got {temperature})")
    if temperature == 0 and n > 1:
        raise ValueError(
            f"`temperature` 0 is greedy and gives {n} identical samples: "
            "set `temperature` > 0 (e.g. 0.8) or `n` to 1"
        )
    if not 0 < top_p <= 1:
        raise ValueError(f"`top_p` must be in (0, 1] (got {top_p}); 1.0 turns it off")
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1 (got {batch_size})")


@torch.inference_mode()
def sample_bodies(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    n: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    batch_size: int,
    seed: int,
) -> list[list[str]]:
    """``n`` bodies per prompt, in prompt order: greedy when ``n == 1`` and ``temperature == 0``,
    else sampled with ``num_return_sequences=n``, ``batch_size`` sequences per forward pass
    (at least one prompt's ``n``).

    The same seed, prompts and batch size give the same bodies; the caller's torch RNG state is
    left as it was.
    """
    _check(n, temperature, top_p, batch_size)
    if temperature == 0:
        return [
            [body]
            for body in generate_bodies(model, tokenizer, prompts, max_new_tokens, batch_size)
        ]
    max_pos = getattr(model.config, "max_position_embeddings", None)
    max_prompt = max_pos - max_new_tokens if max_pos and max_pos > max_new_tokens else None
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"
    per_batch = max(1, batch_size // n)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    bodies: list[list[str]] = [[] for _ in prompts]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for start in range(0, len(order), per_batch):
            indices = order[start : start + per_batch]
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
                do_sample=True,
                temperature=temperature,
                top_p=top_p,
                top_k=0,
                num_return_sequences=n,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
            new_tokens = output[:, encoded["input_ids"].shape[1] :].tolist()
            for row, ids in enumerate(new_tokens):  # rows are prompt-major: n per prompt
                i = indices[row // n]
                if tokenizer.eos_token_id in ids:
                    ids = ids[: ids.index(tokenizer.eos_token_id)]
                text = tokenizer.decode(ids, skip_special_tokens=True)
                bodies[i].append(truncate_body(text, body_indent(prompts[i]), tokenizer.eos_token))
    return bodies


def model_generator(
    model_path: str,
    adapter_dir: str | None = None,
    *,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    batch_size: int,
    seed: int,
) -> Generate:
    """A :data:`Generate` backed by the model at ``model_path`` (plus a LoRA adapter), loaded
    on the first call and kept: an evaluation that finds nothing to generate never loads it."""
    load = functools.cache(lambda: load_model_and_tokenizer(model_path, adapter_dir))

    def generate(prompts: list[str], n: int) -> list[list[str]]:
        model, tokenizer = load()
        return sample_bodies(
            model, tokenizer, prompts, n, temperature, top_p, max_new_tokens, batch_size, seed
        )

    return generate


def check_ks(ks: Sequence[int], n: int) -> tuple[int, ...]:
    """``ks`` sorted and deduplicated, each a valid k for ``n`` samples."""
    if not ks or any(not 1 <= k <= n for k in ks):
        raise ValueError(
            f"`ks` must be non-empty, each between 1 and n={n} (got {list(ks)}); "
            "raise `n` to at least the largest k"
        )
    return tuple(sorted(set(ks)))


def pass_at_k_scores(
    passed_per_item: Sequence[Sequence[bool]], ks: Sequence[int], prefix: str
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Metrics ``<prefix><k>`` (the mean over items) and each one's per-item scores, in item
    order: what paired bootstrap intervals resample. Empty when there are no items."""
    per_item = {
        f"{prefix}{k}": [pass_at_k(len(passed), sum(passed), k) for passed in passed_per_item]
        for k in ks
    }
    metrics = {name: sum(scores) / len(scores) for name, scores in per_item.items() if scores}
    return metrics, per_item if metrics else {}
