"""Augmenting code units: variants that keep the program, and repair pairs that inject a bug.

Per Python unit: a renamed, a docstring-reworded and a reformatted variant, and up to
``mutants_per_unit`` mutants (see :mod:`.mutations`). All must parse; variants must be the same
program (checked on the tree), mutants a different one. Then, for a unit with related tests and a
checkout of its commit, the tests decide:

- the original runs first; if it does not pass (or times out, or the checkout's file is not the
  unit's code), nothing about the unit can be concluded from tests, and its variants and mutants
  fall back to the parse-only checks — as for a unit without tests — with the reason counted in
  ``unverified``. Dropping them instead would make a unit *with* tests worse off than one without;
- a variant is kept (``verified="tests"``) only if the tests still pass;
- a mutant becomes a repair pair only if a test fails, and the failing tests are recorded (with
  ``-x``, the first one); one that passes every test is dropped as ``mutant_survived``.

Units without tests keep what passed the checks as ``verified="parse_only"``. Each
``augment:<reason>`` in ``drops`` counts one thing made and thrown away (or, for
``language_not_supported`` and ``unit_not_parseable``, one unit that yields nothing).

Everything carries its unit's id, and a repair pair becomes a sample of its unit's file (see
:func:`repair_sample`), so augmented samples land in the unit's split and never cross it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from repotune.augment.code import Rewrite, draw, parse_unit
from repotune.augment.docstring import docstring_variant, normalised, reformat
from repotune.augment.mutations import Mutant, mutants
from repotune.augment.rename import rename_locals
from repotune.augment.verify import PytestRun, matches, run_tests, spliced
from repotune.config import AugmentConfig
from repotune.records import CodeUnit, Sample

Verified = Literal["tests", "parse_only"]
VariantKind = Literal["rename", "docstring", "reformat"]


@dataclass(frozen=True)
class Variant:
    """The unit's code rewritten without changing what it does."""

    unit_id: str
    kind: VariantKind
    code: str
    verified: Verified


@dataclass(frozen=True)
class RepairPair:
    """A mutant (``buggy``) and the normalised original (``fixed``): they differ by the bug
    alone, as both are written by ``ast.unparse``."""

    unit_id: str
    operator: str
    buggy: str
    fixed: str
    failing_tests: tuple[str, ...]
    verified: Verified
    site_line: int


@dataclass
class AugmentResult:
    """What :func:`augment_units` made and threw away, and what its test runs cost."""

    variants: list[Variant] = field(default_factory=list)
    repair_pairs: list[RepairPair] = field(default_factory=list)
    drops: Counter[str] = field(default_factory=Counter)
    unverified: Counter[str] = field(default_factory=Counter)
    """Units with tests whose products fell back to ``parse_only``, by reason."""
    test_runs: int = 0
    test_seconds: float = 0.0


def _variants(unit: CodeUnit, cfg: AugmentConfig, drops: Counter[str]) -> list[Variant]:
    makers: list[tuple[VariantKind, Callable[[CodeUnit], Rewrite | str], bool]] = [
        ("rename", rename_locals, cfg.renames),
        ("docstring", docstring_variant, cfg.docstring_variants),
        ("reformat", reformat, cfg.reformat),
    ]
    made = []
    for kind, make, wanted in makers:
        if wanted:
            result = make(unit)
            if isinstance(result, Rewrite):
                made.append(Variant(unit.id, kind, result.code, "parse_only"))
            else:
                drops[f"augment:{result}"] += 1
    return made


def _pair(mutant: Mutant, fixed: str, failing: tuple[str, ...], verified: Verified) -> RepairPair:
    return RepairPair(
        mutant.unit_id, mutant.operator, mutant.code, fixed, failing, verified, mutant.site_line
    )


def _verifiable(units: Iterable[CodeUnit], checkout: Path | None, cfg: AugmentConfig) -> set[str]:
    """Ids of the units whose tests run: at most ``max_verified_units``, drawn by id so the
    sample spreads over the repository whatever order the units come in."""
    if checkout is None or not cfg.verify_with_tests:
        return set()
    tested = sorted(
        (unit.id for unit in units if unit.related_tests and unit.language == "python"),
        key=lambda unit_id: draw(unit_id, "verify", 1 << 30),
    )
    return set(tested[: cfg.max_verified_units])


def _verify(
    unit: CodeUnit,
    variants: list[Variant],
    bugs: list[Mutant],
    fixed: str,
    root: Path,
    cfg: AugmentConfig,
    result: AugmentResult,
) -> bool:
    """Test the unit's variants and mutants; False when the original itself cannot be tested
    (the reason is counted in ``result.unverified``)."""

    def run(code: str | None) -> PytestRun:
        if code is None:
            outcome = run_tests(root, unit.related_tests, cfg.test_timeout_s)
        else:
            with spliced(root, unit, code):
                outcome = run_tests(root, unit.related_tests, cfg.test_timeout_s)
        result.test_runs += 1
        result.test_seconds += outcome.seconds
        return outcome

    if not matches(root, unit):
        result.unverified["augment:checkout_mismatch"] += 1
        return False
    original = run(None)
    if original.outcome != "passed":
        reason = "tests_timeout" if original.outcome == "timeout" else "tests_fail_on_original"
        result.unverified[f"augment:{reason}"] += 1
        return False
    for variant in variants:
        outcome = run(variant.code)
        if outcome.outcome == "passed":
            result.variants.append(replace(variant, verified="tests"))
        else:
            reason = "tests_timeout" if outcome.outcome == "timeout" else "tests_fail_on_variant"
            result.drops[f"augment:{reason}"] += 1
    for mutant in bugs:
        outcome = run(mutant.code)
        if outcome.outcome == "failed":
            result.repair_pairs.append(_pair(mutant, fixed, outcome.failed, "tests"))
        else:
            reason = {"passed": "mutant_survived", "timeout": "tests_timeout"}
            result.drops[f"augment:{reason.get(outcome.outcome, 'tests_error')}"] += 1
    return True


def augment_units(
    units: Iterable[CodeUnit], checkout: Path | None, cfg: AugmentConfig
) -> AugmentResult:
    """Variants and repair pairs of the Python units, test-verified where the unit has tests
    and ``checkout`` (the repository's files at the units' commit, see
    :func:`~repotune.augment.verify.checkout`) is given."""
    result = AugmentResult()
    if not cfg.enabled:
        return result
    units = list(units)
    to_verify = _verifiable(units, checkout, cfg)
    testing = checkout is not None and cfg.verify_with_tests
    for unit in units:
        if unit.language != "python":
            result.drops["augment:language_not_supported"] += 1
            continue
        try:
            parse_unit(unit.code)
        except (SyntaxError, ValueError):
            result.drops["augment:unit_not_parseable"] += 1
            continue
        variants = _variants(unit, cfg, result.drops)
        bugs = mutants(unit, list(cfg.operators), cfg.mutants_per_unit, result.drops)
        fixed = normalised(unit)
        if not variants and not bugs:
            continue
        within_budget = result.test_seconds < cfg.verify_budget_s
        if unit.id in to_verify and checkout is not None and within_budget:
            if _verify(unit, variants, bugs, fixed, checkout, cfg, result):
                continue
        elif unit.id in to_verify and testing:
            result.unverified["augment:verify_budget"] += 1
        elif unit.related_tests and testing:
            result.unverified["augment:verify_limit"] += 1
        result.variants.extend(variants)
        result.repair_pairs.extend(_pair(bug, fixed, (), "parse_only") for bug in bugs)
    return result


def repair_sample(pair: RepairPair, unit: CodeUnit, split: str) -> Sample:
    """The repair pair as a training sample of its unit: same prompt as a repair mined from
    history, sourced to the unit and placed in the unit's ``split`` (the caller's split of the
    unit's file), so it never crosses into another split than its original."""
    prompt = f"Fix the bug in this {unit.language} function.\n{pair.buggy}"
    labels = {
        "origin": "mutation",
        "operator": pair.operator,
        "verified": pair.verified,
        "failing_tests": "\n".join(pair.failing_tests),
        "language": unit.language,
    }
    return Sample("repair", prompt, pair.fixed, unit.id, unit.path, split, labels)
