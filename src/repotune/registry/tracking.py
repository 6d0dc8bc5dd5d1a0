"""MLflow tracking with explicit run ids: no fluent ``mlflow.start_run`` globals.

Prefect tasks may run in different threads (or Ray workers) at once, and MLflow's fluent API keeps
the active run in process-wide state, so one task could log into another's run. Everything here
goes through an :class:`~mlflow.tracking.MlflowClient` bound to a tracking URI and a run id.

The default store is the workspace's SQLite file. An experiment created on a SQLite store gets its
artifact location next to the database (``<workspace>/mlartifacts``); left to MLflow it would be
``./mlruns`` relative to whatever the current directory happens to be.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

from repotune.config import RegistryConfig
from repotune.errors import RepotuneError
from repotune.workspace import Workspace

SQLITE_PREFIX = "sqlite:///"
ARTIFACTS_DIR_NAME = "mlartifacts"
_TRUNCATION_MARK = "...[truncated]"


def tracking_uri_for(
    registry: RegistryConfig, workspace: Workspace, block_uri: str | None = None
) -> str:
    """Where runs go: a Prefect block's URI wins, then the config, then the workspace SQLite."""
    return block_uri or registry.tracking_uri or workspace.default_tracking_uri()


def check_tracking_server(uri: str, timeout: float = 5.0, attempts: int = 3) -> None:
    """Fail fast when an HTTP tracking server is down.

    Without this, MLflow's own HTTP client retries with exponential backoff for minutes before the
    first run is even created. SQLite and file stores need no server, so they are not checked.
    """
    if urllib.parse.urlsplit(uri).scheme not in {"http", "https"}:
        return
    health = uri.rstrip("/") + "/health"
    cause = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(0.25 * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(health, timeout=timeout):
                return
        except urllib.error.HTTPError as err:
            if err.code < 500:
                return
            cause = f"HTTP {err.code} from /health"
        except (urllib.error.URLError, OSError) as err:
            cause = str(getattr(err, "reason", err))
    raise RepotuneError(
        "register",
        f"MLflow tracking server at {_redact(uri)} is unreachable ({cause}, {attempts} attempts)",
        "start it or fix `registry.tracking_uri`",
    )


def _redact(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def artifact_location_for(tracking_uri: str) -> str | None:
    """File URI of ``mlartifacts`` beside a SQLite database; None lets other stores decide."""
    if not tracking_uri.startswith(SQLITE_PREFIX) or tracking_uri == SQLITE_PREFIX:
        return None
    database = Path(tracking_uri[len(SQLITE_PREFIX) :].split("?", 1)[0]).expanduser().resolve()
    return (database.parent / ARTIFACTS_DIR_NAME).as_uri()


def client_for(tracking_uri: str) -> MlflowClient:
    """A client for the URI; creates the folder of a SQLite database so the first use works."""
    if tracking_uri.startswith(SQLITE_PREFIX) and tracking_uri != SQLITE_PREFIX:
        Path(tracking_uri[len(SQLITE_PREFIX) :].split("?", 1)[0]).expanduser().parent.mkdir(
            parents=True, exist_ok=True
        )
    return MlflowClient(tracking_uri=tracking_uri)


def ensure_experiment(client: MlflowClient, name: str, artifact_location: str | None) -> str:
    """Id of the experiment, created if missing (safe when two runs create it at once)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name, artifact_location=artifact_location)
        except MlflowException as err:
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
    if experiment is None or experiment.lifecycle_stage == "deleted":
        raise RepotuneError(
            "track",
            f"MLflow experiment {name!r} is deleted",
            "restore it (`mlflow experiments restore`) or choose another `registry.experiment`",
        )
    return experiment.experiment_id


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train": {"lr": 1e-3}}`` -> ``{"train.lr": "0.001"}``, values cut to MLflow's limit."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, prefix=f"{name}."))
            continue
        if isinstance(value, list | tuple):
            text = json.dumps(list(value), default=str)
        else:
            text = str(value)
        if len(text) > MAX_PARAM_VAL_LENGTH:
            text = text[: MAX_PARAM_VAL_LENGTH - len(_TRUNCATION_MARK)] + _TRUNCATION_MARK
        flat[name] = text
    return flat


@dataclass(frozen=True)
class RunTracker:
    """One MLflow run, addressed by id, safe to hand to another thread or process."""

    tracking_uri: str
    run_id: str

    @classmethod
    def start(
        cls,
        tracking_uri: str,
        experiment: str,
        run_name: str,
        tags: Mapping[str, str] | None = None,
    ) -> RunTracker:
        client = client_for(tracking_uri)
        experiment_id = ensure_experiment(client, experiment, artifact_location_for(tracking_uri))
        run = client.create_run(
            experiment_id, run_name=run_name, tags={k: str(v) for k, v in (tags or {}).items()}
        )
        return cls(tracking_uri, run.info.run_id)

    @cached_property
    def client(self) -> MlflowClient:
        return client_for(self.tracking_uri)

    @cached_property
    def artifact_root(self) -> str:
        return self.client.get_run(self.run_id).info.artifact_uri

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log nested params flattened with dots; MLflow params are write-once per run."""
        flat = flatten_params(params)
        self.client.log_batch(self.run_id, params=[Param(k, v) for k, v in flat.items()])

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log numeric metrics (NaN and inf are stored as such by MLflow); text is an error."""
        now = int(time.time() * 1000)
        entries = []
        for key, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise RepotuneError(
                    "track",
                    f"metric `{key}` has the non-numeric value {value!r}",
                    "log only numbers as metrics (put text in params or tags)",
                ) from None
            entries.append(Metric(key, number, now, step or 0))
        self.client.log_batch(self.run_id, metrics=entries)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_dict(self, obj: Any, artifact_file: str) -> None:
        self.client.log_dict(self.run_id, obj, artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        self.client.log_text(self.run_id, text, artifact_file)

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(self.run_id, str(local_dir), artifact_path)

    def artifact_uri(self, path: str = "") -> str:
        """URI of an artifact of this run, e.g. the ``source`` of a registered model version."""
        return f"{self.artifact_root}/{path.strip('/')}" if path else self.artifact_root

    def finish(self, status: Literal["FINISHED", "FAILED", "KILLED"] = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status)
