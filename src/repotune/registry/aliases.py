"""Alias moves with their history: which version was champion when, who moved it, and why.

MLflow keeps only where an alias points now; "which version was champion last Tuesday" has been an
open request since 2019 (mlflow#2169). Every move here is also written as a tag of the registered
model, ``alias_event.<UTC ns>.<alias>`` holding ``{alias, version, previous, time, who, why}``:
tags live in the same store as the aliases (SQLite file or tracking server), show in the MLflow UI,
and need no extra service. Keys sort by time, so the history reads back in order.

Moves of one model are serialised by :func:`registry_lock`, an exclusive ``flock`` on a file named
after the tracking URI and model: concurrent promotions from processes on one host (scheduled runs
and a hand-run ``repotune promote``) cannot interleave their read-then-move steps and leave
``previous`` and ``champion`` inconsistent. Hosts that share a remote server should promote
through the one ``promote`` deployment, which runs one at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from repotune.errors import RepotuneError

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous"
EVENT_TAG_PREFIX = "alias_event."
MAX_WHY_CHARS = 2000


@dataclass(frozen=True)
class AliasMove:
    """One move of ``alias`` from ``previous`` to ``version`` (``None``: unset)."""

    alias: str
    version: str | None
    previous: str | None
    time: str
    who: str
    why: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AliasMove:
        return cls(**json.loads(text))


def current_user() -> str:
    """Who is moving an alias: ``REPOTUNE_USER`` (set it in deployments), else the OS user."""
    try:
        return os.environ.get("REPOTUNE_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def all_versions(client: MlflowClient, model_name: str) -> list[ModelVersion]:
    """All versions of the model, following pages (search results carry no aliases)."""
    if "'" in model_name:
        raise RepotuneError(
            "register",
            f"model name {model_name!r} contains a quote, which MLflow search filters cannot hold",
            "choose a `registry.model_name` without quotes",
        )
    found: list[ModelVersion] = []
    token = None
    while True:
        page = client.search_model_versions(f"name='{model_name}'", page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def registered_aliases(client: MlflowClient, model_name: str) -> dict[str, str] | None:
    """alias -> version (as ``str``); ``None`` when the model is not registered."""
    try:
        model = client.get_registered_model(model_name)
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    return {alias: str(version) for alias, version in model.aliases.items()}


def aliases(client: MlflowClient, model_name: str) -> dict[str, str]:
    """alias -> version (as ``str``); a clear error when the model is not registered."""
    found = registered_aliases(client, model_name)
    if found is None:
        raise RepotuneError(
            "registry",
            f"no registered model named {model_name!r}",
            "run `repotune run` first or fix `registry.model_name`",
        )
    return found


def move_alias(
    client: MlflowClient,
    model_name: str,
    alias: str,
    version: str | None,
    why: str,
    who: str | None = None,
) -> AliasMove | None:
    """Point ``alias`` at ``version`` (or remove it) and record the move; ``None`` if no change.

    Call it inside :func:`registry_lock` when the move depends on what the aliases were.
    """
    before = aliases(client, model_name).get(alias)
    version = str(version) if version is not None else None
    if before == version:
        return None
    if version is None:
        client.delete_registered_model_alias(model_name, alias)
    else:
        client.set_registered_model_alias(model_name, alias, version)
    move = AliasMove(
        alias=alias,
        version=version,
        previous=before,
        time=datetime.now(UTC).isoformat(timespec="milliseconds"),
        who=who or current_user(),
        why=why[:MAX_WHY_CHARS],
    )
    key = f"{EVENT_TAG_PREFIX}{time.time_ns():020d}.{alias}"
    client.set_registered_model_tag(model_name, key, move.to_json())
    return move


def alias_history(client: MlflowClient, model_name: str) -> list[AliasMove]:
    """Every recorded alias move of the model, oldest first."""
    try:
        tags = client.get_registered_model(model_name).tags
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []
        raise
    return [
        AliasMove.from_json(value)
        for key, value in sorted(tags.items())
        if key.startswith(EVENT_TAG_PREFIX)
    ]


def champion_before(history: list[AliasMove], version: str) -> str | None:
    """The champion that ``version`` replaced when it last became champion, if any."""
    for move in reversed(history):
        if move.alias == CHAMPION and move.version == version:
            return move.previous
    return None


def _lock_path(tracking_uri: str, model_name: str) -> Path:
    digest = hashlib.sha256(f"{tracking_uri}\0{model_name}".encode()).hexdigest()[:24]
    folder = Path(tempfile.gettempdir()) / "repotune-registry-locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}.lock"


@contextlib.contextmanager
def registry_lock(tracking_uri: str, model_name: str) -> Iterator[None]:
    """Exclusive access to one model's aliases for the processes of this host."""
    with open(_lock_path(tracking_uri, model_name), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
