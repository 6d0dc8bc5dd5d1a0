"""What every ``repotune`` command shares: config options and one-sentence errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

import typer

from repotune.config import PipelineConfig, list_presets, load_config
from repotune.errors import RepotuneError

PresetOpt = Annotated[
    str, typer.Option("--preset", "-p", help=f"Preset name ({', '.join(list_presets())}) or YAML.")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a config field, e.g. --set train.lora_r=8."),
]
WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", "-w", help="Workspace folder (default from preset).")
]


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print a RepotuneError as one sentence and exit 1, instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RepotuneError as err:
            typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None

    return wrapper


def config_for(preset: str, overrides: list[str] | None, **fields: Any) -> PipelineConfig:
    extra = [f"{key}={value}" for key, value in fields.items() if value is not None]
    return load_config(preset, [*(overrides or []), *extra])
