"""Near-dedup: repotune's MinHash-LSH vs datatrove's MinHash pipeline on the same planted corpus.

    .venv/bin/python benchmarks/near_dedup_vs_datatrove.py [--snippets N] [--seed S]

The corpus (``_dedup_corpus.py``) holds N seeded Python-like functions, 10% of them planted
near-variants of another (renamed identifiers, edited/inserted/deleted lines) and 2% exact copies
(CRLF or trailing spaces). Ground truth is exact: the Jaccard of two texts' sets of 5-token
shingles (tuples of tokens, no hashing), tokens being repotune's lower-cased ``\\w+`` runs. A
planted pair is a true near-duplicate when its Jaccard is >= 0.7; recall is the share of those
that a tool puts in one cluster (one of the two removed). Precision is over every pair of texts
that a tool puts in one cluster: the share whose Jaccard is >= 0.7 (planted or not).

Same settings on both sides: datatrove gets repotune's tokenizer (a custom ``WordTokenizer``) and
no extra text normalisation, 5-grams, seed 42, and ``num_buckets x hashes_per_bucket`` = repotune's
``optimal_bands(0.7, 256)`` banding (25 x 10: datatrove computes those 250 permutations, repotune
computes 256 and bands the first 250, as BigCode does). Both run in one process: repotune is one
call to ``deduplicate`` (exact + near, HumanEval off); datatrove runs its four steps (Signature ->
Buckets -> Cluster -> Filter) with ``LocalPipelineExecutor(workers=1)`` in a temporary folder,
``tasks=1`` except Buckets, which requires ``tasks = num_buckets`` (run one after another). Its
shingle hash is its default, xxhash64 (wrapped to encode str first: datatrove 0.10.1 passes str,
which xxhash 4 rejects).
Timing is wall clock from texts in memory to clusters, one run each. Goal: recall equal or better
at >= 1.0x datatrove's speed. With the same banding both tools have the same expected recall, and
on one corpus they differ by the luck of their hash functions, so "equal" is a paired test (McNemar
on the true pairs only one tool finds): repotune's recall must not be significantly lower.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
from _dedup_corpus import CorpusBuilder, Snippet

from repotune.config import DedupConfig
from repotune.dedup import deduplicate, optimal_bands, tokenize

NGRAM, NUM_PERM, THRESHOLD, SEED = 5, 256, 0.7, 42
SPEED_GOAL = 1.0


def shingle_set(text: str) -> frozenset[tuple[str, ...]]:
    tokens = tokenize(text)
    if len(tokens) < NGRAM:
        return frozenset([tuple(tokens)] if tokens else [])
    return frozenset(tuple(tokens[i : i + NGRAM]) for i in range(len(tokens) - NGRAM + 1))


class Truth:
    """Exact Jaccard of any two corpus texts, shingle sets cached."""

    def __init__(self, corpus: list[Snippet]) -> None:
        self.corpus = corpus
        self._sets: dict[int, frozenset[tuple[str, ...]]] = {}

    def jaccard(self, i: int, j: int) -> float:
        a, b = (self._sets.setdefault(k, shingle_set(self.corpus[k].text)) for k in (i, j))
        return len(a & b) / len(a | b) if a | b else 1.0


def run_repotune(corpus: list[Snippet], verify: bool) -> tuple[list[int], float]:
    """Cluster label per text, and seconds."""
    records = [{"id": str(i), "text": s.text, "split": "train"} for i, s in enumerate(corpus)]
    config = DedupConfig(
        ngram=NGRAM, num_perm=NUM_PERM, threshold=THRESHOLD, seed=SEED, verify=verify,
        decontaminate_humaneval=False,
    )  # fmt: skip
    start = time.perf_counter()
    result = deduplicate(records, config)
    seconds = time.perf_counter() - start
    labels = []
    for i in range(len(corpus)):
        node = str(i)
        while node in result.duplicate_of:
            node = result.duplicate_of[node]
        labels.append(int(node))
    return labels, seconds


def run_datatrove(corpus: list[Snippet], bands: int, rows: int) -> tuple[list[int], float]:
    """Cluster label per text from datatrove's MinHash pipeline, and seconds."""
    try:
        import xxhash
        from datatrove.data import Document
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.dedup import minhash as dt
        from datatrove.utils.hashes import xxhash as dt_xxhash
        from datatrove.utils.hashing import HashConfig
        from datatrove.utils.text import TextNormConfig
        from datatrove.utils.word_tokenizers import WordTokenizer
    except ImportError as err:
        raise SystemExit(f"datatrove is missing ({err}): pip install -e '.[bench]'") from None

    class CodeTokenizer(WordTokenizer):
        """repotune's tokens, so both tools shingle identically."""

        def word_tokenize(self, text: str) -> list[str]:
            return tokenize(text)

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    # datatrove 0.10.1 hands str to xxhash, which xxhash 4 rejects: encode first (as xxhash 3
    # did) to keep datatrove's default and fastest shingle hash.
    dt_xxhash.xxhash64 = lambda data: xxhash.xxh64_intdigest(data.encode("utf-8"))
    off = TextNormConfig(
        lowercase=False, norm_whitespace=False, remove_punctuation=False,
        norm_unicode_diacritics=False, norm_numbers=False,
    )  # fmt: skip
    config = dt.MinhashConfig(
        n_grams=NGRAM, num_buckets=bands, hashes_per_bucket=rows, seed=SEED,
        norm_config=off, hash_config=HashConfig(precision=64, hash_fc="xxhash"),
    )  # fmt: skip

    def read(_data, rank: int = 0, world_size: int = 1):
        for i, snippet in enumerate(corpus):
            yield Document(text=snippet.text, id=str(i))

    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as tmp:
        root = Path(tmp)

        def execute(steps: list, tasks: int, name: str) -> None:
            # datatrove logs every task at INFO to the stderr of the moment: keep it quiet.
            with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
                LocalPipelineExecutor(
                    steps, tasks=tasks, workers=1, logging_dir=str(root / "logs" / name)
                ).run()

        start = time.perf_counter()
        sigs, buckets, clusters = (str(root / name) for name in ("sigs", "buckets", "clusters"))
        execute([read, dt.MinhashDedupSignature(sigs, config, CodeTokenizer())], 1, "sig")
        execute([dt.MinhashDedupBuckets(sigs, buckets, config=config)], bands, "buckets")
        cluster_step = dt.MinhashDedupCluster(
            buckets, clusters, config=config, save_cluster_id=True
        )
        execute([cluster_step], 1, "cluster")
        execute([read, dt.MinhashDedupFilter(clusters, load_cluster_ids=True)], 1, "filter")
        seconds = time.perf_counter() - start
        # The Filter drops the removed documents, so cluster ids come from the Cluster's file:
        # (document index, cluster id) uint32 pairs for every document in a cluster.
        labels = list(range(len(corpus)))
        pairs = np.fromfile(Path(clusters) / "000000.clusters", dtype="<u4").reshape(-1, 2)
        for doc, cluster in pairs.tolist():
            labels[doc] = -1 - cluster
    return labels, seconds


def precision(labels: list[int], truth: Truth) -> float:
    """Share of the pairs a tool puts in one cluster whose Jaccard is >= the threshold."""
    groups: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        groups[label].append(index)
    pairs = [pair for members in groups.values() for pair in combinations(members, 2)]
    return sum(truth.jaccard(i, j) >= THRESHOLD for i, j in pairs) / max(len(pairs), 1)


def found(labels: list[int], pairs: list[tuple[int, int]]) -> list[bool]:
    return [labels[i] == labels[j] for i, j in pairs]


def paired_z(ours: list[bool], theirs: list[bool]) -> tuple[int, int, float]:
    """McNemar on the pairs only one tool finds: (ours only, theirs only, z of the difference).

    Both tools band the same way, so their expected recall is the same and the difference on one
    corpus is the luck of the hash functions; |z| < 1.96 means no significant difference.
    """
    only_ours = sum(a and not b for a, b in zip(ours, theirs, strict=True))
    only_theirs = sum(b and not a for a, b in zip(ours, theirs, strict=True))
    discordant = only_ours + only_theirs
    return (
        only_ours,
        only_theirs,
        (only_ours - only_theirs) / discordant**0.5 if discordant else 0.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snippets", type=int, default=50_000, help="Texts in the corpus.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the generated corpus.")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    corpus = CorpusBuilder(args.seed).build(args.snippets)
    truth = Truth(corpus)
    planted = [(s.base, i) for i, s in enumerate(corpus) if s.base >= 0]
    true_pairs = [(i, j) for i, j in planted if truth.jaccard(i, j) >= THRESHOLD]
    near_pairs = [(i, j) for i, j in true_pairs if corpus[j].kind != "exact"]
    exact_pairs = [(i, j) for i, j in true_pairs if corpus[j].kind == "exact"]
    bands, rows = optimal_bands(THRESHOLD, NUM_PERM)

    theirs, theirs_s = run_datatrove(corpus, bands, rows)
    ours, ours_s = run_repotune(corpus, verify=True)
    raw, raw_s = run_repotune(corpus, verify=False)
    print(
        f"\nNear-dedup on {len(corpus)} generated snippets (corpus seed {args.seed}): "
        f"{len(planted)} planted pairs, {len(true_pairs)} with Jaccard >= {THRESHOLD} "
        f"({len(near_pairs)} near, {len(exact_pairs)} exact); {NGRAM}-grams, {NUM_PERM} "
        f"permutations, {bands} bands x {rows} rows, hash seed {SEED}, one process each\n"
    )
    head = ("method", "precision", "recall near", "recall exact", "seconds", "speed")
    print("| {:<22} | {:>9} | {:>11} | {:>12} | {:>8} | {:>7} |".format(*head))
    print("|" + "|".join("-" * (w + 2) for w in (22, 9, 11, 12, 8, 7)) + "|")
    for name, labels, seconds in (
        ("datatrove MinHash", theirs, theirs_s),
        ("repotune (verify on)", ours, ours_s),
        ("repotune (verify off)", raw, raw_s),
    ):
        near_recall = sum(found(labels, near_pairs)) / max(len(near_pairs), 1)
        exact_recall = sum(found(labels, exact_pairs)) / max(len(exact_pairs), 1)
        print(
            f"| {name:<22} | {precision(labels, truth):>9.4f} | {near_recall:>11.4f} "
            f"| {exact_recall:>12.4f} | {seconds:>8.2f} | {theirs_s / seconds:>6.2f}x |"
        )
    only_ours, only_theirs, z = paired_z(found(ours, true_pairs), found(theirs, true_pairs))
    speedup = theirs_s / ours_s
    recall_ok = z > -1.96
    met = recall_ok and speedup >= SPEED_GOAL
    print(
        f"\nTrue pairs found by one tool only: repotune {only_ours}, datatrove {only_theirs} "
        f"(paired z = {z:+.2f}; same banding, so a difference is hash luck unless |z| >= 1.96)"
    )
    print(
        f"Goal: recall equal (not significantly lower) or better at >= {SPEED_GOAL}x "
        f"datatrove's speed -> {'equal or better' if recall_ok else 'LOWER'}, {speedup:.2f}x, "
        f"{'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
