"""Mine a repository's history into classified before/after change pairs (no Prefect inside)."""

from repotune.history.classify import classify, formatting_only, message_intent
from repotune.history.mine import HISTORY_VERSION, HistoryResult, mine_history
from repotune.history.store import CommitOutcome, HistoryStore

__all__ = [
    "HISTORY_VERSION",
    "CommitOutcome",
    "HistoryResult",
    "HistoryStore",
    "classify",
    "formatting_only",
    "message_intent",
    "mine_history",
]
