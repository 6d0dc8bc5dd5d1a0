"""The project's metrics as ``evaluate`` modules, loaded from the package's own scripts, offline.

``evaluate.load("exact_match")`` asks the Hugging Face hub for that name and fails without a
network; ``evaluate.load(<path to a script>)`` only copies the script into the local module cache
and imports it. Each name here maps to a script in ``metric_modules/``, loaded once per process.

``import evaluate`` takes ~6 s, so it happens on the first load, not when this module is imported.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from repotune.errors import RepotuneError

if TYPE_CHECKING:
    import evaluate

METRIC_NAMES = (
    "exact_match",
    "edit_similarity",
    "next_line_accuracy",
    "fim_exact_match",
    "syntax_valid_rate",
    "style_consistency",
    "pass_at_k",
)
MODULES_DIR = Path(__file__).parent / "metric_modules"
# Set before ``evaluate`` is first imported (it reads them then); a user's own values win.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1"}


def metric_path(name: str) -> Path:
    """The script of metric ``name``; a clear error for a name that is not one of ours."""
    if name not in METRIC_NAMES:
        raise RepotuneError(
            "evaluate",
            f"unknown metric `{name}`",
            f"choose one of: {', '.join(METRIC_NAMES)}",
        )
    return MODULES_DIR / f"{name}.py"


@functools.cache
def load_metric(name: str) -> evaluate.EvaluationModule:
    """The ``evaluate`` module of metric ``name`` (one of ``METRIC_NAMES``), loaded once.

    It keeps its inputs in memory (``keep_in_memory``): nothing is written to the cache between
    ``add_batch`` and ``compute``, so no lock files are left behind. The instance is shared by the
    process, so call ``compute(...)`` with all inputs at once rather than ``add_batch`` from
    several threads.
    """
    path = metric_path(name)
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    import evaluate

    return evaluate.load(str(path), keep_in_memory=True)
