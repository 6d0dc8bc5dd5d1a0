"""``repotune evaluate | promote | rollback | history | compare``: the release commands.

``evaluate``, ``promote`` and ``rollback`` run the flows of :mod:`repotune.flows.release`, so each
shows in the Prefect UI like a pipeline run; ``history`` and ``compare`` only read the registry.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from repotune.cli_common import PresetOpt, SetOpt, WorkspaceOpt, config_for, friendly
from repotune.config import PipelineConfig
from repotune.runtime_env import apply_runtime_env
from repotune.workspace import Workspace

ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why (recorded in the history).")]
LINEAGE_TAGS = (
    "semver",
    "base_model",
    "config_hash",
    "dataset_fingerprint",
    "tasks_fingerprint",
    "source_commit",
    "source_commits",
    "champion_decision",
)


def _prepared(preset: str, overrides: list[str] | None, workspace: str | None) -> PipelineConfig:
    config = config_for(preset, overrides, workspace=workspace)
    apply_runtime_env(Workspace.at(config.workspace))
    return config


def _client(config: PipelineConfig) -> Any:
    from repotune.registry.tracking import check_tracking_server, client_for, tracking_uri_for

    uri = tracking_uri_for(config.registry, Workspace.at(config.workspace))
    check_tracking_server(uri)
    return client_for(uri)


def _check_version(config: PipelineConfig, version: str | None) -> None:
    """Fail with one sentence, before any flow starts, on a version that cannot be used (inside
    the flow the same error would also print Prefect's task traceback)."""
    from repotune.registry.aliases import aliases
    from repotune.registry.lifecycle import usable_version

    client = _client(config)
    aliases(client, config.registry.model_name)
    if version is not None:
        usable_version(client, config.registry.model_name, version)


def _moves(moves: list[dict]) -> None:
    for move in moves:
        typer.echo(f"  {move['alias']:<10} {move['previous'] or '-'} -> {move['version'] or '-'}")


def evaluate(
    version: Annotated[
        str | None, typer.Option(help="Registered version (default: challenger, else newest).")
    ] = None,
    preset: PresetOpt = "cpu-tiny",
    overrides: SetOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Evaluate a registered version against its base and the champion; judge its readiness."""
    config = _prepared(preset, overrides, workspace)
    _check_version(config, version)
    from repotune.flows.release import evaluate as evaluate_flow

    result = evaluate_flow(version=version, config=config)
    header = ("metric", "base", "candidate", "champion", "candidate - champion")
    typer.echo(f"version {result['version']}")
    typer.echo("  " + " | ".join(header))
    for row in result["comparison"]:
        typer.echo("  " + " | ".join(row[key] for key in header))
    verdict = "ready" if result["ready"] else "blocked"
    typer.echo(f"readiness: {verdict}")
    for line in result["blockers"] or result["evidence"]:
        typer.echo(f"  - {line}")


def promote(
    version: Annotated[str, typer.Argument(help="Registered version to make champion.")],
    reason: ReasonOpt,
    preset: PresetOpt = "cpu-tiny",
    overrides: SetOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Make VERSION the champion; the old champion becomes `previous`."""
    config = _prepared(preset, overrides, workspace)
    _check_version(config, version)
    from repotune.flows.release import promote as promote_flow

    typer.echo(f"promoted version {version} of {config.registry.model_name}")
    _moves(promote_flow(version=version, reason=reason, config=config))


def rollback(
    reason: ReasonOpt,
    to: Annotated[
        str | None, typer.Option("--to", help="Version to roll back to (default: `previous`).")
    ] = None,
    preset: PresetOpt = "cpu-tiny",
    overrides: SetOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Move the champion back to `previous` (or --to VERSION), recording who and why."""
    config = _prepared(preset, overrides, workspace)
    _check_version(config, to)
    from repotune.flows.release import rollback as rollback_flow

    moves = rollback_flow(reason=reason, to=to, config=config)
    typer.echo(f"rolled {config.registry.model_name} back")
    _moves(moves)


def history(
    preset: PresetOpt = "cpu-tiny", overrides: SetOpt = None, workspace: WorkspaceOpt = None
) -> None:
    """Every version with its aliases, and every alias move: when, who, from, to, why."""
    config = _prepared(preset, overrides, workspace)
    from repotune.registry.aliases import alias_history
    from repotune.registry.models import registry_summary

    client, model = _client(config), config.registry.model_name
    versions = registry_summary(client, model)
    typer.echo(f"{model}: {len(versions)} version(s)")
    for item in versions:
        aliases = ",".join(item["aliases"]) or "-"
        decision = item["tags"].get("champion_decision", "")
        typer.echo(
            f"  v{item['version']:<4} {item['semver']:<8} {aliases:<20} {item['created']}  "
            f"{decision[:90]}"
        )
    moves = alias_history(client, model)
    typer.echo(f"alias moves: {len(moves)}")
    for move in moves:
        typer.echo(
            f"  {move.time}  {move.alias:<10} {move.previous or '-':>4} -> {move.version or '-':<4}"
            f" by {move.who}: {move.why}"
        )


def compare(
    a: Annotated[str, typer.Argument(help="First registered version.")],
    b: Annotated[str, typer.Argument(help="Second registered version.")],
    preset: PresetOpt = "cpu-tiny",
    overrides: SetOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Two versions side by side: recorded metrics and lineage (what changed between them)."""
    config = _prepared(preset, overrides, workspace)
    from repotune.registry.lifecycle import usable_version
    from repotune.registry.models import METRIC_TAG_PREFIX

    client, model = _client(config), config.registry.model_name
    tags = [usable_version(client, model, v).tags for v in (a, b)]
    metrics = sorted({k for t in tags for k in t if k.startswith(METRIC_TAG_PREFIX)})
    typer.echo(f"{'':<28}{'v' + a:>24}{'v' + b:>24}")
    for key in [*metrics, *LINEAGE_TAGS]:
        left, right = tags[0].get(key, "-"), tags[1].get(key, "-")
        if left == right == "-":
            continue
        mark = "" if left == right else "  *"
        name = key.removeprefix(METRIC_TAG_PREFIX)
        typer.echo(f"{name:<28}{left[:22]:>24}{right[:22]:>24}{mark}")


def register_release_commands(app: typer.Typer) -> None:
    for command in (evaluate, promote, rollback, history, compare):
        app.command(name=command.__name__)(friendly(command))
