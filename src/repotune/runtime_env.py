"""Offline and telemetry-free process environment, set before Prefect, MLflow or HF are imported.

Values already present in the environment win (``setdefault``), so a user pointing at a real
Prefect server or hub keeps their settings.
"""

from __future__ import annotations

import os

from repotune.workspace import Workspace

OFFLINE_DEFAULTS: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AUTH_MODE": "disabled",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "GIT_TERMINAL_PROMPT": "0",
}


def apply_runtime_env(workspace: Workspace | None = None) -> None:
    """Set offline/telemetry defaults; with a workspace, keep Prefect's state inside it.

    ``HF_HOME`` is left alone on purpose: a user's Hugging Face cache holds the hub models they can
    name as ``base_model.name_or_path`` while offline.
    """
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if workspace is not None:
        os.environ.setdefault("PREFECT_HOME", str(workspace.prefect_home))
