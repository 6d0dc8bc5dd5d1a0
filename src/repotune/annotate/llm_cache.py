"""Validated LLM answers cached by (teacher, prompt hash): a re-run never pays for a question twice.

A teacher's answer depends only on which endpoint and model were asked and on the exact prompt, so
the key is ``(base_url#model, sha256(prompt))`` — never the API key, which must not reach disk.
Only answers that passed validation are stored: a timeout or a garbage answer is asked again on the
next run instead of being remembered as a failure. The store is one SQLite file in WAL mode (readers
never block the writer), opened with a lock timeout so two runs can share it, and each batch of new
answers is written in one transaction: an entry is stored whole or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextlib import closing

from repotune.sqlite_store import SqliteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_answers_v1 (
    teacher TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    answer TEXT NOT NULL,
    PRIMARY KEY (teacher, prompt_hash)
)
"""

CacheKey = tuple[str, str]
"""``(teacher key, prompt hash)``; the teacher key is ``base_url#model``."""


class ResponseCache(SqliteStore):
    """SQLite map ``(teacher, prompt_hash) -> answer JSON`` shared by every run of a workspace."""

    schema = SCHEMA

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, str]:
        """The stored answers among ``keys``; missing keys are simply absent."""
        by_teacher: dict[str, list[str]] = defaultdict(list)
        for teacher, prompt_hash in dict.fromkeys(keys):
            by_teacher[teacher].append(prompt_hash)
        found: dict[CacheKey, str] = {}
        with closing(self._connect()) as db:
            for teacher, hashes in by_teacher.items():
                for start in range(0, len(hashes), 500):  # SQLite caps bound parameters
                    chunk = hashes[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        "SELECT prompt_hash, answer FROM llm_answers_v1 "
                        f"WHERE teacher = ? AND prompt_hash IN ({marks})",
                        [teacher, *chunk],
                    )
                    for prompt_hash, answer in rows:
                        found[(teacher, prompt_hash)] = answer
        return found

    def put_many(self, answers: dict[CacheKey, str]) -> None:
        """Store a batch of validated answers in one transaction."""
        if not answers:
            return
        rows = [
            (teacher, prompt_hash, answer) for (teacher, prompt_hash), answer in answers.items()
        ]
        with closing(self._connect()) as db, db:  # the inner `db` commits the transaction
            db.executemany("INSERT OR REPLACE INTO llm_answers_v1 VALUES (?, ?, ?)", rows)
