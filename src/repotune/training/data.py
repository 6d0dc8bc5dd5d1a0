"""Train rows in, checked prompt/completion pairs and a train/eval split out.

The eval split is held out from the training rows so that early stopping, the best checkpoint and
the did-it-learn guard all judge the adapter on text it was not trained on. It is drawn by file
(the rows' ``path``): augmentation makes renamed and reworded variants of one function, and a
variant on each side of the split would let memorisation pass for learning.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass

from repotune.errors import RepotuneError

STAGE = "train"


@dataclass(frozen=True)
class Split:
    """Row indices of each side (into the prepared rows), and how the groups were drawn."""

    train: list[int]
    eval: list[int]
    by: str


def prepare_rows(train_rows: list[dict], eos_token: str) -> list[dict[str, str]]:
    """``{prompt, completion}`` rows whose completion ends with EOS (the model learns to stop)."""
    if not train_rows:
        raise RepotuneError(
            STAGE,
            "the train split is empty, there is nothing to fine-tune on",
            "include more files (`source.include`) or lower `dataset.test_fraction`",
        )
    missing = [i for i, row in enumerate(train_rows) if not {"prompt", "completion"} <= row.keys()]
    if missing:
        raise RepotuneError(
            STAGE,
            f"train rows {missing[:5]} lack a 'prompt' or 'completion' field",
            "build the train split with repotune's dataset stage",
        )
    return [
        {
            "prompt": row["prompt"],
            "completion": row["completion"]
            if row["completion"].endswith(eos_token)
            else row["completion"] + eos_token,
        }
        for row in train_rows
    ]


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\0{key}".encode()).hexdigest()


def _draw(groups: dict[str, list[int]], seed: int, target: int, limit: int) -> list[int]:
    """Whole groups in seeded hash order until ``target`` rows, never more than ``limit``."""
    held: list[int] = []
    for key in sorted(groups, key=lambda key: _rank(seed, key)):
        if len(held) >= target:
            break
        if len(held) + len(groups[key]) <= limit:
            held.extend(groups[key])
    return held


def split_train_eval(
    train_rows: list[dict], usable: list[int], eval_fraction: float, seed: int
) -> Split:
    """Hold out about ``eval_fraction`` of the ``usable`` rows, whole files at a time.

    Rows are grouped by ``path``; a file is held out only if it keeps the eval side under twice
    its share and leaves rows to train on. When no file fits (rows without paths, one file, or
    one file holding most rows), single rows are drawn instead. Deterministic for the same rows
    and seed.
    """
    if len(usable) < 2:
        raise RepotuneError(
            STAGE,
            f"only {len(usable)} usable training sample(s): too few to hold out an eval split "
            "(`train.eval_fraction`) and still train",
            "add data (more files in `source.include`, more tasks in `tasks.mixture`) or raise "
            "`train.max_seq_len` if samples were dropped for filling it",
        )
    target = max(1, math.ceil(eval_fraction * len(usable)))
    limit = min(2 * target, len(usable) - 1)
    by_path: dict[str, list[int]] = defaultdict(list)
    for index in usable:
        by_path[str(train_rows[index].get("path") or "")].append(index)
    held = _draw(by_path, seed, target, limit) if len(by_path) > 1 else []
    by = "path"
    if not held:
        held = _draw({str(index): [index] for index in usable}, seed, target, limit)
        by = "row"
    held_set = set(held)
    return Split(
        train=[i for i in usable if i not in held_set],
        eval=[i for i in usable if i in held_set],
        by=by,
    )
