"""Per-file extraction results cached by git blob hash: a new commit re-parses only what changed.

A blob's result (drop reason, text, units without their location) depends only on its bytes, its
language and the extractor's version — not on its path or commit — so it is keyed by exactly those
and survives renames, branch switches and reverts. The store is one SQLite file in the workspace:
transactions keep two concurrent runs from corrupting it, and an entry is written whole or not at
all. Payloads are pickled (2x faster to load than JSON, which dominated a re-run) and compressed;
the file belongs to the workspace, as trusted as the code that wrote it.
"""

from __future__ import annotations

import pickle
import zlib
from collections import defaultdict
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from repotune.sqlite_store import SqliteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS blob_results_v2 (
    blob TEXT NOT NULL,
    variant TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (blob, variant)
)
"""


@dataclass(frozen=True)
class BlobResult:
    """What one file's bytes yield, independent of where the file sits."""

    reason: str | None
    text: str = ""
    units: list[dict[str, Any]] = field(default_factory=list)
    drops: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    imports: str = ""
    """The file's import lines, every unit's context: stored once, not once per unit."""


class BlobCache(SqliteStore):
    """SQLite map ``(blob, variant) -> BlobResult``; ``variant`` names language + code version."""

    schema = SCHEMA

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], BlobResult]:
        by_variant: dict[str, list[str]] = defaultdict(list)
        for blob, variant in dict.fromkeys(keys):
            by_variant[variant].append(blob)
        found: dict[tuple[str, str], BlobResult] = {}
        with closing(self._connect()) as db:
            for variant, blobs in by_variant.items():
                for start in range(0, len(blobs), 500):
                    chunk = blobs[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        "SELECT blob, payload FROM blob_results_v2 "
                        f"WHERE variant = ? AND blob IN ({marks})",
                        [variant, *chunk],
                    )
                    for blob, payload in rows:
                        data = pickle.loads(zlib.decompress(payload))
                        found[(blob, variant)] = BlobResult(**data)
        return found

    def put_many(self, results: dict[tuple[str, str], BlobResult]) -> None:
        rows = [
            (blob, variant, zlib.compress(pickle.dumps(vars(result), protocol=5), 1))
            for (blob, variant), result in results.items()
        ]
        with closing(self._connect()) as db, db:  # the inner `db` commits the transaction
            db.executemany("INSERT OR REPLACE INTO blob_results_v2 VALUES (?, ?, ?)", rows)
