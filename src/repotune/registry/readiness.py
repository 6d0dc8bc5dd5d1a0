"""The readiness gate: may a candidate become champion? Every blocker is one sentence.

A candidate is ready when all of these hold (``promotion`` config):

1. every metric named in ``promotion.required`` was measured and reaches its value (at least, or
   at most for ``eval_loss`` / ``perplexity``);
2. general coding skill did not fall: each ``general_*`` metric (HumanEval pass@1 and the like)
   is at most ``promotion.max_general_skill_drop`` below the base model's;
3. the key metric beats the base model's;
4. when there is a champion: the key metric improves on the champion's by at least
   ``promotion.min_improvement`` (relative), and, when per-sample scores of both are given, the
   paired bootstrap says the improvement is significant at ``promotion.significance``.

A tie never moves the champion (retraining unchanged data must not churn what serving follows). A
candidate that meets 1-3 but not 4 is a fair alternative: it becomes ``challenger``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from repotune.config import LOWER_IS_BETTER, PromotionConfig
from repotune.evaluation.bootstrap import paired_bootstrap

GENERAL_PREFIX = "general_"


@dataclass
class Readiness:
    """The gate's verdict: ``blockers`` stop promotion; ``challenger`` when only the champion
    comparison (rule 4) failed."""

    ready: bool
    challenger: bool
    blockers: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.ready:
            return "ready: " + "; ".join(self.evidence)
        return "blocked: " + " ".join(self.blockers)


def _reaches(value: float, target: float, lower_is_better: bool) -> bool:
    return value <= target if lower_is_better else value >= target


def _improvement(candidate: float, reference: float, lower_is_better: bool) -> float:
    """Relative improvement of ``candidate`` over ``reference`` (positive: better)."""
    gain = reference - candidate if lower_is_better else candidate - reference
    return gain / abs(reference) if reference else (1.0 if gain > 0 else 0.0)


def assess(
    candidate: dict[str, float],
    base: dict[str, float],
    champion: dict[str, float] | None,
    cfg: PromotionConfig,
    key_metric: str,
    scores: tuple[Sequence[float], Sequence[float]] | None = None,
) -> Readiness:
    """Judge ``candidate`` against the base and the champion (``None``: there is none).

    ``scores`` are per-sample key-metric values of (champion, candidate) on the same test rows,
    for the significance test; without them only the relative improvement is checked.
    """
    blockers, evidence = [], []
    for name, target in sorted(cfg.required.items()):
        if name not in candidate:
            blockers.append(
                f"Metric `{name}` required by `promotion.required` was not measured "
                f"(measured: {', '.join(sorted(candidate))})."
            )
        elif not _reaches(candidate[name], target, name in LOWER_IS_BETTER):
            bound = "at most" if name in LOWER_IS_BETTER else "at least"
            blockers.append(f"{name} is {candidate[name]:.4g}, it must be {bound} {target:.4g}.")
    for name in sorted(n for n in candidate if n.startswith(GENERAL_PREFIX) and n in base):
        drop = base[name] - candidate[name]
        if drop > cfg.max_general_skill_drop:
            blockers.append(
                f"General skill fell: {name} {candidate[name]:.4g} vs the base's {base[name]:.4g} "
                f"(drop {drop:.4g} > `promotion.max_general_skill_drop` "
                f"{cfg.max_general_skill_drop:.4g})."
            )
    lower = key_metric in LOWER_IS_BETTER
    if key_metric not in candidate or key_metric not in base:
        blockers.append(f"Key metric `{key_metric}` is missing from the evaluation.")
        return Readiness(False, False, blockers, evidence)
    value = candidate[key_metric]
    if _improvement(value, base[key_metric], lower) <= 0:
        blockers.append(
            f"{key_metric} {value:.4g} does not beat the base model's {base[key_metric]:.4g}."
        )
    else:
        evidence.append(f"{key_metric} {value:.4g} beats the base's {base[key_metric]:.4g}")
    meets_floor = not blockers
    if champion is None or key_metric not in champion:
        evidence.append("no champion with a recorded key metric to beat")
        return Readiness(meets_floor, False, blockers, evidence)
    gain = _improvement(value, champion[key_metric], lower)
    if gain < cfg.min_improvement:
        blockers.append(
            f"{key_metric} {value:.4g} improves on the champion's {champion[key_metric]:.4g} by "
            f"{gain:+.2%}, less than `promotion.min_improvement` {cfg.min_improvement:.0%} "
            "(a tie keeps the champion)."
        )
    else:
        evidence.append(f"{gain:+.2%} on the champion's {champion[key_metric]:.4g}")
    if scores is not None and gain >= cfg.min_improvement:
        test = paired_bootstrap(
            scores[0],
            scores[1],
            resamples=cfg.bootstrap_resamples,
            confidence=1 - cfg.significance,
            higher_is_better=not lower,
        )
        if not test.significant:
            blockers.append(
                f"The improvement over the champion is not significant (p = {test.p_value:.3g} "
                f">= `promotion.significance` {cfg.significance}; {len(scores[1])} samples)."
            )
        else:
            evidence.append(f"significant (p = {test.p_value:.3g})")
    ready = not blockers
    return Readiness(ready, meets_floor and not ready, blockers, evidence)
