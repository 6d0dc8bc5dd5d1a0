"""Release flows: evaluate a registered version, promote one, roll the champion back.

Each is a flow so that it shows in the Prefect UI with who ran it and when, can be launched from
a deployment's form, and runs one at a time there; the CLI's `evaluate`, `promote` and `rollback`
run these same flows.
"""

from __future__ import annotations

from prefect import flow

from repotune.config import PipelineConfig
from repotune.tasks.evaluation import evaluate_models, evaluate_registered, finish_evaluation
from repotune.tasks.model import resolve_tracking_uri
from repotune.tasks.release import promote_version, rollback_champion


@flow(name="promote")
def promote(
    version: str,
    reason: str,
    config: PipelineConfig = PipelineConfig(),  # noqa: B008
) -> list[dict]:
    """Make ``version`` the champion of ``registry.model_name``; the old one becomes previous."""
    uri = resolve_tracking_uri(config)
    return promote_version(uri, config.registry.model_name, version, reason)


@flow(name="rollback")
def rollback(
    reason: str,
    to: str | None = None,
    config: PipelineConfig = PipelineConfig(),  # noqa: B008
) -> list[dict]:
    """Move the champion back to ``to`` (default: the `previous` alias), recording why."""
    uri = resolve_tracking_uri(config)
    return rollback_champion(uri, config.registry.model_name, reason, to)


@flow(name="evaluate")
def evaluate(
    version: str | None = None,
    config: PipelineConfig = PipelineConfig(),  # noqa: B008
) -> dict:
    """Evaluate a registered version (default: the challenger, else the newest) against its base
    and the champion on the held-out split it was trained next to; judge its readiness."""
    uri = resolve_tracking_uri(config)
    target = evaluate_registered(uri, config, version)
    evaluation = evaluate_models(
        target["base"],
        target["adapter_dir"],
        target["datasets"],
        config.evaluation,
        config.registry,
        config.promotion,
        target["tracker"],
    )
    return finish_evaluation(config, target, evaluation)
