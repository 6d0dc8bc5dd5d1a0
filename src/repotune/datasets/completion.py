"""The completion task: given a function's signature and docstring, write its body.

Splits are decided per file by a salted hash of its path, never per sample: every function of a
file lands on the same side, so nothing the model is tested on was in a file it trained on, and a
file keeps its split when other files are added (adding code never reshuffles the test set).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from repotune.config import DatasetConfig
from repotune.records import CodeUnit, Sample

TASK = "completion"
TRAINED_LANGUAGES = frozenset({"python"})
"""Languages whose samples are trained and evaluated. Other languages are extracted (and counted)
but not yet trained on: scoring generated brace-language bodies needs language-aware truncation
and syntax checks first, and an unscorable sample would make the evaluation lie."""
SPLITS = ("train", "test")


def _score(path: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}\0{path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def file_split(path: str, test_fraction: float, salt: str) -> str:
    """The split the salted hash gives one file on its own (without the both-sides fix-up)."""
    return "test" if _score(path, salt) < test_fraction else "train"


def split_files(
    paths: Iterable[str], test_fraction: float, salt: str, recent: Iterable[str] = ()
) -> dict[str, str]:
    """Assign each file to ``train`` or ``test``; with two or more files both splits are non-empty.

    ``recent`` files (changed by the newest commits: the time holdout) go to ``test`` whatever
    their hash, so the model is also scored on code written after everything it trained on.
    When every file lands on one side (likely for tiny repositories), the file whose score is
    closest to the boundary moves across, so the result is still a pure function of the inputs.
    """
    scores = {path: _score(path, salt) for path in sorted(set(paths))}
    held = set(recent)
    splits = {
        path: "test" if score < test_fraction or path in held else "train"
        for path, score in scores.items()
    }
    if len(splits) >= 2:
        if "test" not in splits.values():
            splits[min(scores, key=scores.__getitem__)] = "test"
        elif "train" not in splits.values():
            splits[max(scores, key=scores.__getitem__)] = "train"
    return splits


class FileKeys:
    """How files are named in splits and samples: the path, prefixed with the repository's name
    when a dataset spans several repositories (two repositories may both have ``setup.py``)."""

    def __init__(self, sources: list[dict[str, str]]) -> None:
        self.names = {source["repo"]: source["name"] for source in sources}
        self.multi = len(sources) > 1

    def __call__(self, repo: str, path: str) -> str:
        return f"{self.names[repo]}/{path}" if self.multi else path


def completion_sample(unit: CodeUnit, split: str, path: str) -> Sample:
    """The prompt is what a developer has written before the body: class headers, decorators,
    signature and docstring; the completion is the body, as it stands in the file."""
    return Sample(
        task=TASK,
        prompt=unit.enclosing + unit.header,
        completion=unit.body,
        source_id=unit.id,
        path=path,
        split=split,
        labels={"kind": unit.kind, "qualname": unit.qualname, "language": unit.language},
    )


def build_completion_samples(
    units: Iterable[CodeUnit], file_splits: dict[str, str], cfg: DatasetConfig, keys: FileKeys
) -> tuple[list[Sample], Counter[str]]:
    """Samples in a stable order plus the count of dropped units by reason."""
    drops: Counter[str] = Counter()
    seen: set[str] = set()
    samples = []
    for unit in sorted(units, key=lambda u: (u.repo, u.path, u.start_line, u.qualname)):
        path = keys(unit.repo, unit.path)
        sample = completion_sample(unit, file_splits[path], path)
        if unit.language not in TRAINED_LANGUAGES:
            drops["language_not_trained"] += 1
        elif len(sample.completion.strip()) < cfg.min_completion_chars:
            drops["completion_too_short"] += 1
        elif len(sample.completion) > cfg.max_completion_chars:
            drops["completion_too_long"] += 1
        elif len(sample.prompt) > cfg.max_prompt_chars:
            drops["prompt_too_long"] += 1
        elif sample.id in seen:
            drops["duplicate"] += 1
        else:
            seen.add(sample.id)
            samples.append(sample)
    return samples, drops


def split_counts(samples: Iterable[Sample], file_splits: dict[str, str]) -> dict[str, Any]:
    """Rows and files per split, as recorded in the manifest."""
    rows = Counter(sample.split for sample in samples)
    files = Counter(file_splits.values())
    return {
        "rows": {split: rows.get(split, 0) for split in SPLITS},
        "files": {split: files.get(split, 0) for split in SPLITS},
    }
