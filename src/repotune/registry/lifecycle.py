"""Promotion, rollback and the keep-N policy of registered versions.

- :func:`promote` makes a version ``champion``; the champion it replaces becomes ``previous``
  (both moves under one lock, so ``previous`` always names the champion before this one).
- :func:`rollback` moves ``champion`` back to ``previous`` or a named version, and sets
  ``previous`` to what the alias history says that version had replaced: a second rollback goes
  further back in time, never forward to the version just rolled back. The rolled-back version is
  tagged ``rolled_back`` with who, when and why.
- :func:`archive_old_versions` deletes the artifacts of versions beyond the newest
  ``registry.keep_versions`` and tags them ``archived``; a version an alias points at is never
  archived. An archived version cannot be promoted or rolled back to: its weights are gone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracking import MlflowClient

from repotune.errors import RepotuneError
from repotune.registry.aliases import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    AliasMove,
    alias_history,
    aliases,
    all_versions,
    champion_before,
    current_user,
    move_alias,
    registry_lock,
)

ARCHIVED_TAG = "archived"
ROLLED_BACK_TAG = "rolled_back"
STAGE = "registry"


def usable_version(client: MlflowClient, model_name: str, version: str) -> ModelVersion:
    """The version, or a clear error when it does not exist or was archived."""
    try:
        found = client.get_model_version(model_name, str(version))
    except MlflowException as err:
        if err.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            raise RepotuneError(
                STAGE,
                f"version {version} of {model_name!r} does not exist",
                "`repotune history` lists the versions",
            ) from None
        raise
    if ARCHIVED_TAG in found.tags:
        raise RepotuneError(
            STAGE,
            f"version {version} of {model_name!r} was archived on {found.tags[ARCHIVED_TAG]} "
            "(the keep-N policy deleted its weights)",
            "choose a version that is not archived, or raise `registry.keep_versions`",
        )
    return found


def promote(
    client: MlflowClient, tracking_uri: str, model_name: str, version: str, why: str, who=None
) -> list[AliasMove]:
    """Make ``version`` the champion; the old champion becomes ``previous``."""
    version = str(version)
    with registry_lock(tracking_uri, model_name):
        current = aliases(client, model_name)
        usable_version(client, model_name, version)
        champion = current.get(CHAMPION)
        if champion == version:
            raise RepotuneError(
                STAGE, f"version {version} is already the champion", "nothing to promote"
            )
        moves = []
        if champion is not None:
            moves.append(
                move_alias(client, model_name, PREVIOUS, champion, f"replaced by {version}", who)
            )
        moves.append(move_alias(client, model_name, CHAMPION, version, why, who))
        if current.get(CHALLENGER) == version:
            moves.append(move_alias(client, model_name, CHALLENGER, None, "promoted", who))
    return [move for move in moves if move is not None]


def rollback(
    client: MlflowClient,
    tracking_uri: str,
    model_name: str,
    why: str,
    to: str | None = None,
    who: str | None = None,
) -> list[AliasMove]:
    """Move ``champion`` back to ``to`` (default: ``previous``) and record why."""
    if not why.strip():
        raise RepotuneError(STAGE, "a rollback needs a reason", "pass --reason '...'")
    with registry_lock(tracking_uri, model_name):
        current = aliases(client, model_name)
        champion = current.get(CHAMPION)
        target = str(to) if to is not None else current.get(PREVIOUS)
        if target is None:
            raise RepotuneError(
                STAGE,
                f"{model_name!r} has no `previous` version to roll back to",
                "name one with --to VERSION (`repotune history` lists them)",
            )
        usable_version(client, model_name, target)
        if target == champion:
            raise RepotuneError(STAGE, f"version {target} is already the champion")
        before = champion_before(alias_history(client, model_name), target)
        reason = f"rollback from {champion}: {why}" if champion else f"rollback: {why}"
        moves = [move_alias(client, model_name, CHAMPION, target, reason, who)]
        new_previous = before if before not in {target, champion} else None
        moves.append(
            move_alias(client, model_name, PREVIOUS, new_previous, f"rollback to {target}", who)
        )
        if champion is not None:
            record = {
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "who": who or current_user(),
                "why": why,
                "to": target,
            }
            client.set_model_version_tag(model_name, champion, ROLLED_BACK_TAG, json.dumps(record))
    return [move for move in moves if move is not None]


def archive_old_versions(
    client: MlflowClient, tracking_uri: str, model_name: str, keep: int
) -> list[str]:
    """Archive versions beyond the newest ``keep``; returns the versions archived now."""
    archived = []
    with registry_lock(tracking_uri, model_name):
        protected = set(aliases(client, model_name).values())
        newest_first = sorted(
            all_versions(client, model_name), key=lambda v: int(v.version), reverse=True
        )
        for version in newest_first[keep:]:
            number = str(version.version)
            if number in protected or ARCHIVED_TAG in version.tags:
                continue
            repository = get_artifact_repository(version.source, tracking_uri=tracking_uri)
            repository.delete_artifacts()
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            client.set_model_version_tag(model_name, number, ARCHIVED_TAG, stamp)
            archived.append(number)
    return archived
