"""The ``repotune`` command line: run the pipeline, inspect a workspace, open the UIs.

Heavy frameworks (Prefect, MLflow, torch) are imported inside commands, after the offline and
workspace environment is set, so ``--help`` is instant and settings land before Prefect reads them.
"""

from __future__ import annotations

import json
import subprocess
from typing import Annotated, Any

import typer

from repotune.cli_common import PresetOpt, SetOpt, WorkspaceOpt, config_for, friendly
from repotune.cli_release import register_release_commands
from repotune.config import PipelineConfig, list_presets
from repotune.runtime_env import apply_runtime_env
from repotune.workspace import Workspace

app = typer.Typer(
    help="Turn your repositories into your own code model: extract, train, evaluate, register.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _repos_override(locations: list[str] | None, ref: str | None) -> str | None:
    """``--repo`` (with ``--ref``) as a ``source.repos`` override; JSON is valid YAML."""
    if not locations:
        return None
    return json.dumps([{"location": loc, "ref": ref or "HEAD"} for loc in locations])


def _preflight(config: PipelineConfig) -> None:
    """Fail fast, before any server starts, on a missing local repo or one with nothing to
    extract (URL sources are checked when they are fetched, with retries)."""
    from repotune.errors import SourceError
    from repotune.parsing.extract import grammar_of
    from repotune.sources.filters import path_reason
    from repotune.sources.git import list_tracked_files, resolve_snapshot

    include, exclude = config.source.include, config.source.exclude
    for spec in config.source.repos:
        if spec.is_url:
            continue
        snapshot = resolve_snapshot(spec.location, spec.ref)
        if not any(
            item.kind == "file"
            and path_reason(item.path, include, exclude) is None
            and grammar_of(item.path) is not None
            for item in list_tracked_files(snapshot)
        ):
            raise SourceError(
                f"{snapshot.repo}@{spec.ref} has no tracked files matching {include} "
                "(no code files to learn from)",
                "point --repo at a repository with code or change `source.include`",
            )


def _print_summary(summary: dict[str, Any]) -> None:
    def reuse(cached: bool) -> str:
        return "reused" if cached else "computed"

    samples = summary["samples"]
    gate = summary["gate"]
    release = summary["release"]
    gate_text = "passed" if gate["passed"] else f"FAILED, accepted: {', '.join(gate['failed'])}"
    lines = [
        "",
        "repotune run complete",
        *(
            f"  source          {origin} @ {commit[:12]}"
            for origin, commit in summary["sources"].items()
        ),
        f"  samples         train {samples['train']}, test {samples['test']}"
        f"  (dataset {summary['dataset']})",
        f"  cache           extraction {reuse(summary['cached']['extraction'])}, "
        f"dataset {reuse(summary['cached']['dataset'])}",
        f"  change pairs    {sum(summary['change_pairs'].values())} from history "
        f"{summary['change_pairs'] or ''}",
        f"  training mix    {sum(summary['tasks'].values())} samples "
        + ", ".join(f"{task} {n}" for task, n in summary["tasks"].items()),
        f"  dataset gate    {gate_text}  (report: {gate['report']})",
        f"  base model      {summary['base_model']}",
        f"  {'metric':<20}{'base':>12}{'tuned':>12}",
    ]
    base, tuned = summary["metrics"]["base"], summary["metrics"]["tuned"]
    for name, value in tuned.items():
        marker = "  <- key metric" if name == summary["key_metric"] else ""
        lines.append(f"  {name:<20}{base[name]:>12.4f}{value:>12.4f}{marker}")
    alias = "champion" if release["promoted"] else "none"
    lines += [
        f"  registered      {release['model_name']} version {release['version']}, "
        f"semver {release['semver']}, alias {alias}",
        f"  decision        {release['reason']}",
        f"  MLflow run      {summary['mlflow_run_id']} on {summary['tracking_uri']}",
        "",
        summary["ui"],
    ]
    typer.echo("\n".join(lines))


@app.command()
@friendly
def run(
    repo: Annotated[
        list[str] | None,
        typer.Option(
            help="Repository to learn from: a local path or a git URL (repeat for several)."
        ),
    ] = None,
    ref: Annotated[str | None, typer.Option(help="Branch, tag or commit to read.")] = None,
    preset: PresetOpt = "cpu-tiny",
    overrides: SetOpt = None,
    workspace: WorkspaceOpt = None,
    no_cache: Annotated[bool, typer.Option(help="Recompute cached datasets.")] = False,
    accept_gate_failure: Annotated[
        bool, typer.Option(help="Train even if the dataset gate fails (recorded in MLflow).")
    ] = False,
) -> None:
    """Run the whole pipeline: extract, build and validate data, fine-tune, evaluate, register."""
    config = config_for(
        preset,
        overrides,
        **{
            "source.repos": _repos_override(repo, ref),
            "workspace": workspace,
            "cache": False if no_cache else None,
            "gate.accept_failure": True if accept_gate_failure else None,
        },
    )
    if ref and not repo:
        config.source.repos = [spec.model_copy(update={"ref": ref}) for spec in config.source.repos]
    apply_runtime_env(Workspace.at(config.workspace))
    _preflight(config)
    from repotune.flows.pipeline import build_model

    _print_summary(build_model(config=config))


@app.command()
@friendly
def status(
    preset: PresetOpt = "cpu-tiny", overrides: SetOpt = None, workspace: WorkspaceOpt = None
) -> None:
    """Show the workspace: datasets, registered model versions, and the champion."""
    config = config_for(preset, overrides, workspace=workspace)
    ws = Workspace.at(config.workspace)
    apply_runtime_env(ws)
    from repotune.datasets.store import list_datasets
    from repotune.registry.models import registry_summary
    from repotune.registry.tracking import tracking_uri_for

    typer.echo(f"workspace  {ws.root}")
    datasets = list_datasets(ws)
    typer.echo(f"datasets   {len(datasets)}")
    for ref in datasets:
        manifest = ref.manifest
        counts = manifest.get("rows") or manifest.get("tables")
        typer.echo(f"  {ref.stage:<11}{ref.fingerprint}  {manifest['created']}  {counts}")
    uri = tracking_uri_for(config.registry, ws)
    from mlflow.tracking import MlflowClient

    versions = registry_summary(MlflowClient(tracking_uri=uri), config.registry.model_name)
    typer.echo(f"model      {config.registry.model_name} on {uri}: {len(versions)} version(s)")
    for item in versions:
        aliases = ",".join(item["aliases"]) or "-"
        typer.echo(
            f"  v{item['version']:<4} semver {item['semver']:<8} aliases {aliases:<18}"
            f" created {item['created']}"
        )
    champion = next((v for v in versions if "champion" in v["aliases"]), None)
    typer.echo(f"champion   {'version ' + str(champion['version']) if champion else 'none yet'}")


@app.command()
@friendly
def ui(
    preset: PresetOpt = "cpu-tiny",
    overrides: SetOpt = None,
    workspace: WorkspaceOpt = None,
    start: Annotated[
        bool, typer.Option(help="Start both UIs here instead of printing how.")
    ] = False,
) -> None:
    """Print (or, with --start, run) the commands that open the Prefect and MLflow UIs."""
    from repotune.ui import ui_commands, ui_instructions

    config = config_for(preset, overrides, workspace=workspace)
    ws = Workspace.at(config.workspace)
    if not start:
        typer.echo(ui_instructions(ws, config.registry.tracking_uri))
        return
    processes = [
        subprocess.Popen(argv) for argv in ui_commands(ws, config.registry.tracking_uri).values()
    ]
    typer.echo(ui_instructions(ws, config.registry.tracking_uri) + "\nCtrl-C stops both.")
    try:
        for process in processes:
            process.wait()
    except KeyboardInterrupt:
        for process in processes:
            process.terminate()


@app.command()
@friendly
def deploy(
    preset: PresetOpt = "cpu-tiny",
    overrides: SetOpt = None,
    workspace: WorkspaceOpt = None,
    name: Annotated[str, typer.Option(help="Deployment name shown in the Prefect UI.")] = (
        "build-model"
    ),
    cron: Annotated[
        str | None, typer.Option(help="Cron schedule, e.g. '0 3 * * *' (UTC); none: on demand.")
    ] = None,
) -> None:
    """Serve the pipeline as a Prefect deployment (scheduled and launchable from the UI)."""
    config = config_for(preset, overrides, workspace=workspace)
    apply_runtime_env(Workspace.at(config.workspace))
    from repotune.deployments.serve import serve_pipeline

    serve_pipeline(config, name=name, cron=cron)


@app.command()
def presets() -> None:
    """List the shipped presets."""
    typer.echo("\n".join(list_presets()))


register_release_commands(app)
