"""Exact duplicates: texts equal after a layout-only normalisation, found by content hash.

The normalisation undoes what editors and platforms change without changing code: ``\\r\\n`` and
``\\r`` become ``\\n``, trailing whitespace goes from every line, and leading/trailing blank lines
go from the text. Indentation and everything inside a line stay: in Python they are code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def normalize(text: str) -> str:
    """The text with unified line endings, no trailing whitespace and no blank edges."""
    unified = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join([line.rstrip(" \t\f\v") for line in unified.split("\n")]).strip("\n")


def content_hash(text: str) -> str:
    """SHA-256 hex digest of :func:`normalize` ``(text)``."""
    return hashlib.sha256(normalize(text).encode("utf-8", "surrogatepass")).hexdigest()


def exact_groups(texts: Sequence[str]) -> list[list[int]]:
    """Indices of texts with equal normalised content, groups of two or more, each ascending."""
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        groups.setdefault(content_hash(text), []).append(index)
    return [members for members in groups.values() if len(members) > 1]
