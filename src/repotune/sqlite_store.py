"""The shared shape of repotune's workspace SQLite stores (blob cache, history, LLM answers)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


class SqliteStore:
    """One SQLite file in the workspace, safe for two concurrent runs.

    WAL lets readers go on while a writer commits, and the long busy timeout makes a second
    writer wait instead of failing with "database is locked". Subclasses set ``schema``.
    """

    schema: str = ""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(self.schema)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)
