"""The change-pairs dataset: every repository's mined history, stored like any other dataset.

Content-addressed by the commits and the mining settings, so an unchanged history is found
without walking it; a new commit walks only what the per-commit history store does not hold yet.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from repotune.config import HistoryConfig, SourceConfig
from repotune.datasets.store import DatasetRef, dataset_ref, fingerprint, write_dataset
from repotune.datasets.units import source_manifest
from repotune.history import HISTORY_VERSION, HistoryStore, mine_history
from repotune.history.mine import settings_key
from repotune.parsing.blob_cache import BlobCache
from repotune.sources.git import Snapshot
from repotune.workspace import Workspace

CHANGES_STAGE = "changes"
PAIR_SCHEMA = pa.schema(
    [
        (name, pa.string())
        for name in (
            "repo",
            "commit",
            "parent",
            "committed_at",
            "message",
            "path",
            "language",
            "qualname",
            "before",
            "after",
            "kind",
            "id",
        )
    ]
)
"""Fixed, so a history with no pairs still writes a table readers can open."""


def changes_fingerprint(
    snapshots: list[Snapshot], source: SourceConfig, history: HistoryConfig
) -> str:
    return fingerprint(
        CHANGES_STAGE,
        [(snapshot.origin, snapshot.commit) for snapshot in snapshots],
        settings_key(source, history),
        history.model_dump(),
        HISTORY_VERSION,
    )


def build_changes_dataset(
    snapshots: list[Snapshot], source: SourceConfig, history: HistoryConfig, workspace: Workspace
) -> DatasetRef:
    """Mine every snapshot's history (or find it already mined) and store the change pairs."""
    fp = changes_fingerprint(snapshots, source, history)
    existing = dataset_ref(workspace, CHANGES_STAGE, fp)
    if existing.exists():
        return existing
    cache = BlobCache(workspace.extraction_cache)
    store = HistoryStore(workspace.history_cache)
    pairs, drops, walks = [], Counter(), []
    for snapshot in snapshots:
        result = mine_history(snapshot, source, history, cache, store)
        pairs.extend(result.pairs)
        drops.update(result.drops)
        walks.append(
            {
                "repo": snapshot.origin,
                "commits_walked": result.commits_walked,
                "commits_from_store": result.commits_from_store,
                "last_commit": result.last_commit,
                "shallow": result.shallow,
            }
        )
    shallow = [walk["repo"] for walk in walks if walk["shallow"]]
    manifest = {
        "sources": source_manifest(snapshots),
        "history_version": HISTORY_VERSION,
        "config": history.model_dump(),
        "walks": walks,
        "commits_walked": sum(walk["commits_walked"] for walk in walks),
        "commits_from_store": sum(walk["commits_from_store"] for walk in walks),
        "history_limited_by_shallow_clone": shallow,
        "pairs": len(pairs),
        "pairs_by_kind": dict(sorted(Counter(pair.kind for pair in pairs).items())),
        "pairs_by_language": dict(sorted(Counter(pair.language for pair in pairs).items())),
        "drops": dict(sorted(drops.items())),
    }
    rows = [pair.to_dict() for pair in pairs]
    table = pa.Table.from_pylist(rows, schema=PAIR_SCHEMA)
    return write_dataset(workspace, CHANGES_STAGE, fp, {"pairs": table}, manifest)


def changes_summary_markdown(ref: DatasetRef) -> str:
    """Pairs by kind and what was dropped, for a Prefect artifact."""
    manifest = ref.manifest
    lines = [
        f"# Change pairs `{ref.fingerprint}`",
        "",
        f"{manifest['pairs']} pairs from {manifest['commits_walked']} first-parent commits "
        f"({manifest['commits_from_store']} read back from the history store).",
        "",
    ]
    if manifest["history_limited_by_shallow_clone"]:
        lines += [
            "History is limited: shallow clone of "
            + ", ".join(f"`{repo}`" for repo in manifest["history_limited_by_shallow_clone"]),
            "",
        ]
    lines += ["| kind | pairs |", "|---|---:|"]
    lines += [f"| {kind} | {n} |" for kind, n in manifest["pairs_by_kind"].items()] or ["| — | 0 |"]
    lines += ["", "| dropped because | count |", "|---|---:|"]
    lines += [f"| {reason} | {n} |" for reason, n in manifest["drops"].items()] or ["| — | 0 |"]
    return "\n".join(lines) + "\n"
