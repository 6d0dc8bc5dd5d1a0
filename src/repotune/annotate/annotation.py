"""One :class:`Annotation` per code unit: category, technologies, intent, complexity, naming,
lint findings and a quality score. Static and always on: no model, no network, one ``ruff``
process per call.

**Quality** is a weighted mean of six scores in [0, 1], so it lies in [0, 1] too::

    quality = (0.20 * docstring + 0.15 * types + 0.20 * lint
               + 0.15 * size + 0.15 * complexity + 0.15 * tested) / (sum of the weights used)

    docstring  = 0 without one, 0.5 when its first sentence has fewer than 3 words, else 1
    types      = share of parameters and return that are typed (``metrics.type_coverage``)
    lint       = max(0, 1 - d / 2), d = ruff findings per 10 lines (0 at 2 per 10 lines)
    size       = 1 for 3..60 lines, lines / 3 below, max(0, (200 - lines) / 140) above
    complexity = 1 up to 10, then max(0, (20 - complexity) / 10) (0 from 20)
    tested     = 1 when ``related_tests`` is non-empty or the unit is itself a test, else 0

Lint is measured for Python only: for other languages it is left out and the other weights
are renormalised (divided by 0.80), rather than scored as a perfect 1. Lines are
``end_line - start_line + 1``. The score is rounded to 4 decimals.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from repotune.annotate.category import Signals, categorize, spec_keys, words
from repotune.annotate.imports import Imported, file_imports, referenced
from repotune.annotate.lint import lint_counts
from repotune.annotate.metrics import (
    brace_complexity,
    intent,
    naming,
    python_complexity,
    type_coverage,
)
from repotune.parsing.extract import gc_paused
from repotune.parsing.related_tests import FAMILY, is_test
from repotune.records import CodeUnit

ANNOTATOR_VERSION = "annotate-1"
"""Bump when any rule, list, weight or ruff setting changes: stored annotations are stale."""

WEIGHTS = {
    "docstring": 0.20,
    "types": 0.15,
    "lint": 0.20,
    "size": 0.15,
    "complexity": 0.15,
    "tested": 0.15,
}


@dataclass(frozen=True)
class Annotation:
    """What the annotator says about the unit with id ``unit_id`` (see the package doc)."""

    unit_id: str
    category: str
    technologies: tuple[str, ...]
    intent: str
    complexity: int
    naming: str
    lint_findings: int
    quality: float

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["technologies"] = list(self.technologies)
        return data


def quality(
    unit: CodeUnit, *, intent: str, types: float, lint_findings: int, complexity: int
) -> float:
    """The module doc's quality formula for ``unit`` and its measures."""
    lines = max(1, unit.end_line - unit.start_line + 1)
    if lines < 3:
        size = lines / 3
    else:
        size = 1.0 if lines <= 60 else max(0.0, (200 - lines) / 140)
    scores = {
        "docstring": 0.0
        if not unit.docstring.strip()
        else 1.0
        if len(intent.split()) >= 3
        else 0.5,
        "types": types,
        "size": size,
        "complexity": min(1.0, max(0.0, (20 - complexity) / 10)),
        "tested": 1.0 if unit.related_tests or is_test(unit) else 0.0,
    }
    if unit.language == "python":
        scores["lint"] = max(0.0, 1 - lint_findings * 10 / lines / 2)
    weighted = sum(WEIGHTS[name] * score for name, score in scores.items())
    return round(weighted / sum(WEIGHTS[name] for name in scores), 4)


def _normal(name: str) -> str:
    return name.lower().replace("-", "_")


def first_party_names(units: list[CodeUnit]) -> dict[str, frozenset[str]]:
    """Per repository, names that are its own code, not a technology: every directory in the
    batch's paths and the repository's own name (so ``import mypkg`` in ``tests/`` is not a
    technology when ``src/mypkg/`` is in the batch: annotate a snapshot in one call)."""
    names: dict[str, set[str]] = defaultdict(set)
    for unit in units:
        names[unit.repo].update(unit.path.split("/")[:-1])
    for repo, found in names.items():
        found.add(posixpath.basename(repo.replace("\\", "/").rstrip("/")).removesuffix(".git"))
    return {repo: frozenset(map(_normal, found)) for repo, found in names.items()}


def technologies(used: list[Imported], first_party: frozenset[str]) -> tuple[str, ...]:
    """Sorted packages of the referenced imports, the repository's own left out."""
    packages = {e.package for e in used if e.package}
    return tuple(sorted(p for p in packages if _normal(p) not in first_party))


@lru_cache(maxsize=1 << 14)
def _file_keys(language: str, imports: str) -> frozenset[str]:
    family = FAMILY.get(language, language)
    return spec_keys(family, frozenset(e.spec for e in file_imports(language, imports).entries))


@lru_cache(maxsize=1 << 16)
def _path_words(path: str) -> frozenset[str]:
    return words(posixpath.splitext(path)[0])


def annotate_unit(unit: CodeUnit, lint_findings: int, first_party: frozenset[str]) -> Annotation:
    """The annotation of one unit, given its ruff count and its repository's own names."""
    if unit.language == "python":
        complexity = python_complexity(unit.code)
    else:
        complexity = brace_complexity(unit.language, unit.code)
    used = referenced(unit.language, unit.imports, unit.code)
    family = FAMILY.get(unit.language, unit.language)
    signals = Signals(
        unit=unit,
        used=spec_keys(family, frozenset(e.spec for e in used)),
        file_specs=_file_keys(unit.language, unit.imports),
        path_words=_path_words(unit.path),
        name_words=words(unit.qualname),
    )
    sentence = intent(unit.docstring)
    score = quality(
        unit,
        intent=sentence,
        types=type_coverage(unit),
        lint_findings=lint_findings,
        complexity=complexity,
    )
    return Annotation(
        unit_id=unit.id,
        category=categorize(signals),
        technologies=technologies(used, first_party),
        intent=sentence,
        complexity=complexity,
        naming=naming(unit.qualname),
        lint_findings=lint_findings,
        quality=score,
    )


def annotate_units(units: list[CodeUnit]) -> list[Annotation]:
    """One annotation per unit, in order; Python units are linted by one ``ruff`` run.

    Raises ``RepotuneError`` when Python units are given and ruff is not installed.
    """
    findings = lint_counts(units)
    first_party = first_party_names(units)
    with gc_paused():  # one syntax tree per unit: collections would rescan every unit held
        return [
            annotate_unit(unit, lint, first_party[unit.repo])
            for unit, lint in zip(units, findings, strict=True)
        ]
