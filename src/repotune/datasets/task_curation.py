"""Curation of task samples: dedup of the code they were made from, and static annotations.

Dedup works on sources (a unit's code, a change's new code), not on samples: the completion, FIM
and naming samples of one function are different samples of the same code, and a copy of that
code in another file must lose all of them, whatever task they belong to.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from repotune.annotate import Annotation
from repotune.config import DedupConfig
from repotune.dedup import deduplicate
from repotune.privacy import scrub_text
from repotune.records import Sample


def deduplicated(
    samples: list[Sample], sources: dict[str, str], cfg: DedupConfig, drops: Counter[str]
) -> tuple[list[Sample], dict[str, Any]]:
    """Dedup the code the samples were made from, across all tasks: a source that duplicates
    another (or a HumanEval problem) loses every sample; a train source that copies a test
    source goes, whatever task its samples belong to (the test side wins)."""
    split_of = {sample.source_id: sample.split for sample in samples}
    records = [
        {"id": source, "text": sources.get(source, ""), "split": split}
        for source, split in sorted(split_of.items())
    ]
    result = deduplicate(records, cfg)
    reason_of = {sid: reason for reason, ids in result.dropped.items() for sid in ids}
    kept = []
    for sample in samples:
        reason = reason_of.get(sample.source_id)
        if reason:
            drops[f"{sample.task}:{reason}"] += 1
        else:
            kept.append(sample)
    stats = {
        "sources": len(records),
        "dropped_sources": dict(sorted(result.counts.items())),
        "near_duplicate_ratio": round(result.near_duplicate_ratio, 4),
        "bands_rows": [result.bands, result.rows],
    }
    return kept, stats


def rescrubbed(samples: list[Sample]) -> tuple[list[Sample], dict[str, int]]:
    """Scrub every prompt and completion once more. Files were scrubbed before parsing, but a
    sample puts code in a new context (a header without its file, a reformatted variant) where
    a detector's context rules can see a secret the file's context hid; the gate re-scans for
    exactly that, so what it would find is replaced here first and counted."""
    findings: Counter[str] = Counter()
    kept = []
    for sample in samples:
        prompt, completion = scrub_text(sample.prompt), scrub_text(sample.completion)
        if prompt.findings or completion.findings:
            findings.update(prompt.findings)
            findings.update(completion.findings)
            sample = replace(sample, prompt=prompt.text, completion=completion.text, id="")
        kept.append(sample)
    return kept, dict(sorted(findings.items()))


def annotation_columns(annotation: Annotation | None) -> dict[str, Any]:
    """The static annotation of a sample's source unit as columns (history samples have none:
    their source is a change, not a unit of the current tree)."""
    if annotation is None:
        return {
            "category": "history",
            "technologies": [],
            "intent": "",
            "complexity": None,
            "naming": "",
            "quality": None,
        }
    data = annotation.to_dict()
    return {key: data[key] for key in ("category", "technologies", "intent", "naming")} | {
        "complexity": annotation.complexity,
        "quality": annotation.quality,
    }


def category_counts(samples: list[Sample], annotations: dict[str, Annotation]) -> dict[str, int]:
    """Source units per category, over the units that made at least one sample."""
    sources = {s.source_id for s in samples if s.source_id in annotations}
    return dict(sorted(Counter(annotations[sid].category for sid in sources).items()))
