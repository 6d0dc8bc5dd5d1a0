"""Per-commit mining results kept in SQLite, so history is diffed once and resumed after a kill.

A commit's outcome (its change pairs and drop counts) depends only on the commit, the miner's code
version and the settings that shape per-commit results — never on which other commits were walked
— so it is keyed by exactly those. A nightly run after two new commits then diffs two commits, and a
run killed mid-way keeps every batch it committed. Pairs are stored without their ``repo`` (like
the blob cache's location-free results): a second clone of the same history reuses them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field

from repotune.records import ChangePair
from repotune.sqlite_store import SqliteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS commit_results (
    sha TEXT NOT NULL,
    version TEXT NOT NULL,
    settings TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (sha, version, settings)
)
"""


@dataclass(frozen=True)
class CommitOutcome:
    """What one commit yields: its pairs and the counted reasons for what it dropped."""

    pairs: list[ChangePair] = field(default_factory=list)
    drops: dict[str, int] = field(default_factory=dict)


class HistoryStore(SqliteStore):
    """SQLite map ``(commit sha, miner version, settings hash) -> CommitOutcome``."""

    schema = SCHEMA

    def get_many(
        self, shas: Iterable[str], version: str, settings: str, repo: str
    ) -> dict[str, CommitOutcome]:
        """Stored outcomes of those of ``shas`` mined before; pairs get ``repo`` re-attached."""
        wanted = list(dict.fromkeys(shas))
        found: dict[str, CommitOutcome] = {}
        with closing(self._connect()) as db:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    "SELECT sha, payload FROM commit_results "
                    f"WHERE version = ? AND settings = ? AND sha IN ({marks})",
                    [version, settings, *chunk],
                )
                for sha, payload in rows:
                    data = json.loads(zlib.decompress(payload))
                    pairs = [ChangePair.from_dict({**p, "repo": repo}) for p in data["pairs"]]
                    found[sha] = CommitOutcome(pairs, data["drops"])
        return found

    def put_many(self, outcomes: dict[str, CommitOutcome], version: str, settings: str) -> None:
        """Store a batch of outcomes in one transaction: all of them or, after a kill, none."""
        rows = []
        for sha, outcome in outcomes.items():
            pairs = [{k: v for k, v in p.to_dict().items() if k != "repo"} for p in outcome.pairs]
            payload = json.dumps({"pairs": pairs, "drops": outcome.drops}).encode()
            rows.append((sha, version, settings, zlib.compress(payload, 1)))
        with closing(self._connect()) as db, db:  # the inner `db` commits the transaction
            db.executemany("INSERT OR REPLACE INTO commit_results VALUES (?, ?, ?, ?)", rows)
