"""Exact and near-duplicate removal, cross-split leakage removal and HumanEval decontamination.

Framework-free: the flows call :func:`deduplicate` and record its per-reason drop counts.
"""

from repotune.dedup.api import REASONS, DedupResult, deduplicate
from repotune.dedup.exact import content_hash, normalize
from repotune.dedup.lsh import collision_probability, optimal_bands
from repotune.dedup.minhash import MinHasher, tokenize

__all__ = [
    "REASONS",
    "DedupResult",
    "MinHasher",
    "collision_probability",
    "content_hash",
    "deduplicate",
    "normalize",
    "optimal_bands",
    "tokenize",
]
