"""Commands that open the Prefect and MLflow UIs on a workspace's embedded stores."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from repotune.workspace import Workspace

PREFECT_PORT = 4200
MLFLOW_PORT = 5000


def _bin(name: str) -> str:
    """The console script next to the running interpreter (the venv's), else the bare name."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def ui_commands(workspace: Workspace, tracking_uri: str | None = None) -> dict[str, list[str]]:
    """argv of the Prefect server and MLflow UI that show this workspace's runs and models."""
    uri = tracking_uri or workspace.default_tracking_uri()
    commands = {
        "prefect": [
            "env",
            f"PREFECT_HOME={workspace.prefect_home}",
            "PREFECT_SERVER_ANALYTICS_ENABLED=false",
            _bin("prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(PREFECT_PORT),
        ],
    }
    if uri.startswith(("sqlite:", "file:")) or "://" not in uri:
        commands["mlflow"] = [
            "env",
            "MLFLOW_DISABLE_TELEMETRY=true",
            _bin("mlflow"),
            "server",
            "--backend-store-uri",
            uri,
            "--artifacts-destination",
            str(workspace.mlflow_artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(MLFLOW_PORT),
            "--workers",
            "1",
        ]
    return commands


def ui_instructions(workspace: Workspace, tracking_uri: str | None = None) -> str:
    """Human-readable lines: how to open both UIs (or where the remote MLflow UI already is)."""
    commands = ui_commands(workspace, tracking_uri)
    lines = [
        f"Prefect UI: {shlex.join(commands['prefect'])}",
        f"  then open http://127.0.0.1:{PREFECT_PORT}",
    ]
    if "mlflow" in commands:
        lines += [
            f"MLflow UI:  {shlex.join(commands['mlflow'])}",
            f"  then open http://127.0.0.1:{MLFLOW_PORT}",
        ]
    else:
        lines.append(f"MLflow UI:  open {tracking_uri}")
    lines.append("(or run `repotune ui --start` to start both)")
    return "\n".join(lines)
