"""One model's whole evaluation: held-out completion metrics, pass@k on the team's own tests, and
the general-skill check on HumanEval, merged into one :class:`EvalResult`.

Every system (base, candidate, champion) goes through this same function on the same rows, units
and problems, so their per-sample scores pair up for the bootstrap comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

from repotune.config import EvalConfig
from repotune.datasets.store import DatasetRef
from repotune.evaluation.generation import EvalResult, evaluate_model
from repotune.evaluation.humaneval_check import humaneval_pass_at_k
from repotune.evaluation.sandbox import DEFAULT_LIMITS
from repotune.evaluation.team_tests import team_tests_pass_at_k


@dataclass(frozen=True)
class EvalInputs:
    """What every system is evaluated on."""

    rows: list[dict]
    fim_rows: list[dict]
    style_reference: float
    units: DatasetRef
    completion: DatasetRef


def evaluate_system(
    model_path: str, adapter_dir: str | None, inputs: EvalInputs, cfg: EvalConfig
) -> EvalResult:
    """All metrics of one model (base with an optional adapter); ``details`` says what pass@k
    and HumanEval ran on (units evaluated and excluded, problems)."""
    result = evaluate_model(
        model_path, inputs.rows, cfg, adapter_dir, inputs.fim_rows, inputs.style_reference
    )
    sampling = {
        "temperature": cfg.temperature,
        "max_new_tokens": cfg.max_new_tokens,
        "batch_size": cfg.batch_size,
        "workers": cfg.sandbox_workers,
    }
    if cfg.pass_at_k_units:
        team = team_tests_pass_at_k(
            model_path,
            adapter_dir,
            units_ref=inputs.units,
            completion_ref=inputs.completion,
            max_units=cfg.pass_at_k_units,
            n=cfg.pass_at_k_samples,
            ks=cfg.pass_at_k,
            **sampling,
        )
        result.metrics.update(team.metrics)
        result.per_sample.update(team.per_sample)
        result.details["team_tests"] = {
            "units_evaluated": team.units_evaluated,
            "excluded": dict(sorted(team.excluded.items())),
        }
    if cfg.humaneval_problems:
        general = humaneval_pass_at_k(
            model_path,
            adapter_dir,
            problems=cfg.humaneval_problems,
            n=1,
            ks=[1],
            limits=DEFAULT_LIMITS,
            **{**sampling, "temperature": 0.0},
        )
        result.metrics.update(general.metrics)
        result.per_sample.update(general.per_sample)
        result.details["humaneval"] = {"problems": cfg.humaneval_problems}
    return result
