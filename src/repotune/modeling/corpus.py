"""Pretraining text for the offline base model.

The default corpus is the standard library of the running Python: real, well-written code that is
on every machine, needs no network, and is independent of the repository being learned. That
independence matters twice: the base never sees the repository's test files (so held-out numbers
stay honest), and it does not change when the repository does (so a new commit retrains the
adapter, not the base — and the semantic version gets a patch, not a major bump).
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

from repotune.errors import RepotuneError

# Test suites, demos and vendored/generated trees: large, repetitive or not representative code.
SKIPPED_DIRS = frozenset(
    {
        "test",
        "tests",
        "idle_test",
        "idlelib",
        "lib2to3",
        "turtledemo",
        "ensurepip",
        "site-packages",
        "dist-packages",
        "__pycache__",
        "pydoc_data",
        "encodings",
    }
)
MAX_FILE_BYTES = 150_000


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_corpus(max_bytes: int, root: Path | None = None) -> list[str]:
    """Standard-library sources in sorted path order until ``max_bytes`` of text are collected.

    Sorted order makes the corpus (and so the base model's fingerprint) a pure function of the
    Python installation and ``max_bytes``.
    """
    root = root or stdlib_root()
    texts: list[str] = []
    total = 0
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if SKIPPED_DIRS.intersection(relative.parts[:-1]):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if not text.strip() or len(text) > MAX_FILE_BYTES:
            continue
        texts.append(text)
        total += len(text)
        if total >= max_bytes:
            break
    if not texts:
        raise RepotuneError(
            "base_model",
            f"found no Python sources under the standard library at {root}",
            "set `base_model.corpus: train_files` or name a model in `base_model.name_or_path`",
        )
    return texts
