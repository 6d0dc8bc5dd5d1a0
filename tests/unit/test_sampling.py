"""n sampled bodies per prompt: shapes, seeding, the greedy path, and the pass@k helpers."""

from __future__ import annotations

import pytest
import torch
from eval_fixtures import fixture_quick_base  # noqa: F401 - fixtures are used by name
from ml_fixtures import TINY_MODULE, function_rows

from repotune.evaluation.generation import generate_bodies
from repotune.evaluation.metrics import body_indent
from repotune.evaluation.sampling import (
    check_ks,
    model_generator,
    pass_at_k_scores,
    sample_bodies,
)
from repotune.modeling.base import load_model_and_tokenizer

PROMPTS = [row["prompt"] for row in function_rows(TINY_MODULE)[:3]]
SETTINGS = dict(temperature=1.0, top_p=0.95, max_new_tokens=16, batch_size=8)


@pytest.fixture(name="loaded")
def fixture_loaded(quick_base):
    return load_model_and_tokenizer(quick_base)


def test_sampling_gives_n_cut_bodies_per_prompt_reproducibly(loaded):
    model, tokenizer = loaded
    first = sample_bodies(model, tokenizer, PROMPTS, 4, **SETTINGS, seed=0)
    assert [len(bodies) for bodies in first] == [4, 4, 4]
    assert sample_bodies(model, tokenizer, PROMPTS, 4, **SETTINGS, seed=0) == first
    # Top-level prompts keep every generated line (body indent ""), so samples show they differ.
    flat = ["import math\n", "x = 1\n"]
    seeded = sample_bodies(model, tokenizer, flat, 4, **SETTINGS, seed=0)
    assert len({body for bodies in seeded for body in bodies}) > 4
    assert sample_bodies(model, tokenizer, flat, 4, **SETTINGS, seed=1) != seeded
    for prompt, bodies in zip(PROMPTS, first, strict=True):
        indent = body_indent(prompt)
        for body in bodies:
            assert tokenizer.eos_token not in body
            lines = [line for line in body.splitlines() if line.strip()]
            assert all(line.startswith(indent) for line in lines)


def test_sampling_leaves_the_callers_random_state_alone(loaded):
    model, tokenizer = loaded
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    sample_bodies(model, tokenizer, PROMPTS[:1], 2, **SETTINGS, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_one_sample_at_temperature_zero_is_the_greedy_body(loaded, quick_base):
    model, tokenizer = loaded
    greedy = generate_bodies(model, tokenizer, PROMPTS, 16, 8)
    settings = {**SETTINGS, "temperature": 0.0}
    assert sample_bodies(model, tokenizer, PROMPTS, 1, **settings, seed=3) == [[b] for b in greedy]
    generate = model_generator(quick_base, **settings, seed=0)
    assert generate(PROMPTS, 1) == [[b] for b in greedy]


@pytest.mark.parametrize(
    ("n", "changes", "match"),
    [
        (2, {"temperature": 0.0}, "`temperature` 0 is greedy"),
        (0, {}, "`n` must be >= 1"),
        (2, {"top_p": 0.0}, "`top_p` must be in"),
        (2, {"batch_size": 0}, "`batch_size` must be >= 1"),
    ],
)
def test_bad_settings_name_the_parameter(loaded, n, changes, match):
    model, tokenizer = loaded
    with pytest.raises(ValueError, match=match):
        sample_bodies(model, tokenizer, PROMPTS, n, **{**SETTINGS, **changes}, seed=0)


def test_pass_at_k_scores_per_item_and_mean():
    metrics, per_item = pass_at_k_scores([[True, False], [False, False]], (1, 2), "pass_at_")
    assert per_item == {"pass_at_1": [0.5, 0.0], "pass_at_2": [1.0, 0.0]}
    assert metrics == {"pass_at_1": 0.25, "pass_at_2": 0.5}
    assert pass_at_k_scores([], (1,), "pass_at_") == ({}, {})
    assert check_ks([2, 1, 2], 2) == (1, 2)
    with pytest.raises(ValueError, match="`ks` must be .* n=2"):
        check_ks([3], 2)
