"""Errors that tell a user what went wrong, where, and how to fix it.

Every error raised on purpose by repotune is a :class:`RepotuneError`. The CLI prints it as one
sentence (no traceback) and exits non-zero; flows let it fail the run with the same message.
"""

from __future__ import annotations


class RepotuneError(Exception):
    """A problem the user can fix; ``str(err)`` is one sentence naming stage, cause and fix."""

    def __init__(self, stage: str, problem: str, fix: str = "") -> None:
        self.stage = stage
        self.problem = problem
        self.fix = fix
        text = f"[{stage}] {problem}"
        if fix:
            text += f"; {fix}"
        super().__init__(text)


class ConfigError(RepotuneError):
    """The configuration is invalid (raised before any work starts)."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__("config", problem, fix)


class SourceError(RepotuneError):
    """The repository cannot be read or holds nothing to learn from."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__("extract", problem, fix)


class GateFailed(RepotuneError):
    """A dataset quality gate failed; the run stops before training."""

    def __init__(self, problem: str, report_path: str = "", docs_dir: str = "") -> None:
        fix = f"see the report at {report_path}" if report_path else ""
        super().__init__("validate", problem, fix)
        self.report_path = report_path
        self.docs_dir = docs_dir
