"""LLM teachers' labels on the task datasets: better intent and category, and written instructions.

Optional (``annotate.teachers``): the static annotations are always made first, and a teacher can
only improve them. The units asked about are a hash-drawn sample of at most ``annotate.max_units``
(the same units in every build of the same tree, so the response cache answers most of a rebuild).
A unit whose teachers agree (``annotate.agree``) takes their category and intent, and, with
``annotate.instructions``, yields one more ``instruction`` sample whose request a teacher wrote: a
unit without a docstring gets an instruction at all, one with a docstring a second phrasing.
Failures and disagreements never block: the unit keeps its static labels and the manifest counts
them (``llm_annotation``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from repotune.annotate import Annotation
from repotune.annotate.llm import PROMPT_VERSION, LLMAnnotator, LLMItem, LLMLabel, Teacher
from repotune.config import AnnotateConfig
from repotune.datasets.task_samples import teacher_instruction_sample
from repotune.records import CodeUnit, Sample


def llm_settings(cfg: AnnotateConfig, teachers: Sequence[Teacher]) -> dict[str, Any] | None:
    """What of the LLM layer shapes the dataset (part of its fingerprint); ``None`` when off."""
    if not teachers:
        return None
    return {
        "teachers": [teacher.key for teacher in teachers],
        "agree": cfg.required_votes,
        "max_units": cfg.max_units,
        "instructions": cfg.instructions,
        "prompt": PROMPT_VERSION,
    }


def _asked(units: list[CodeUnit], limit: int) -> list[CodeUnit]:
    def draw(unit: CodeUnit) -> bytes:
        return hashlib.sha256(f"llm-annotate\0{unit.id}".encode()).digest()

    return sorted(units, key=draw)[:limit]


def llm_labelled(
    units: list[CodeUnit],
    annotations: dict[str, Annotation],
    teachers: Sequence[Teacher],
    cfg: AnnotateConfig,
    cache_path: Path,
    path_of: Callable[[CodeUnit], tuple[str, str]],
) -> tuple[dict[str, LLMLabel], list[Sample], dict[str, Any]]:
    """Ask the teachers about (a sample of) ``units``; update ``annotations`` in place.

    ``path_of`` gives a unit's dataset path and split. Returns the label of every unit asked (for
    the ``label_*`` columns), the teacher-written instruction samples, and the manifest summary.
    """
    asked = [unit for unit in _asked(units, cfg.max_units) if unit.id in annotations]
    annotator = LLMAnnotator(
        list(teachers),
        cache_path,
        max_concurrency=cfg.max_concurrency,
        retries=cfg.retries,
        agree=cfg.required_votes,
    )
    items = [
        LLMItem(u.id, u.code, annotations[u.id].intent, annotations[u.id].category) for u in asked
    ]
    result = annotator.annotate(items)
    labels = {label.unit_id: label for label in result.labels}
    samples = []
    for unit in asked:
        label = labels[unit.id]
        if label.source != "llm":
            continue
        annotations[unit.id] = replace(
            annotations[unit.id], category=label.category, intent=label.intent
        )
        if cfg.instructions:
            path, split = path_of(unit)
            samples.append(teacher_instruction_sample(unit, label.instruction, path, split))
    summary = {
        "teachers": [teacher.key for teacher in teachers],
        "agree": cfg.required_votes,
        "units_asked": len(asked),
        "labelled": sum(label.source == "llm" for label in result.labels),
        "disagreements": len(result.disagreements),
        "failures": dict(sorted(result.failures.items())),
        "requests": result.requests,
        "cache_hits": result.cache_hits,
        "instruction_samples": len(samples),
    }
    return labels, samples, summary


def label_columns(label: LLMLabel | None) -> dict[str, str]:
    """Where a sample's category and intent came from, and the teachers' votes (JSON)."""
    if label is None:
        return {"label_source": "static", "label_agreement": "", "label_votes": ""}
    return {
        "label_source": label.source,
        "label_agreement": label.agreement,
        "label_votes": json.dumps(label.votes, sort_keys=True) if label.votes else "",
    }


def llm_summary_markdown(summary: dict[str, Any] | None) -> list[str]:
    """Lines of the task-dataset artifact about the teachers (none when they are off)."""
    if not summary:
        return []
    failures = ", ".join(f"{reason} {n}" for reason, n in summary["failures"].items()) or "none"
    return [
        "",
        f"LLM annotation by {len(summary['teachers'])} teacher(s), {summary['agree']} must agree: "
        f"{summary['labelled']} of {summary['units_asked']} units labelled, "
        f"{summary['disagreements']} disagreements, failures: {failures}; "
        f"{summary['requests']} requests, {summary['cache_hits']} cached answers, "
        f"{summary['instruction_samples']} instruction samples written.",
    ]
