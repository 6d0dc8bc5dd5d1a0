"""pass@k on the team's own tests: does the generated body make the repository's tests pass?

For each held-out function that has related tests (test-split files only, so the model never
trained on it), the body is masked, ``n`` bodies are generated from the completion task's prompt
(class headers, signature, docstring), and each is spliced into a checkout of the unit's commit
in place of the real body; the unit's related tests then run inside the sandbox
(:mod:`repotune.evaluation.sandbox_pytest`). pass@k is the unbiased estimate over those units.

A unit counts only if its tests pass with the body the team wrote, in the same sandbox: tests
that fail on the original (or need what the sandbox refuses: the network, a subprocess) would
score every model 0 there, and measure the environment rather than the model. Those units are
excluded and counted by reason, with the reason's detail in ``excluded_units``.

Each commit is materialized once (``git archive``); each run gets its own copy of it in its work
dir, so candidates run in parallel and none sees another's files.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from repotune.augment.verify import matches, materialize, node_id
from repotune.datasets.completion import TASK, TRAINED_LANGUAGES, completion_sample
from repotune.datasets.store import DatasetRef
from repotune.evaluation.sampling import Generate, check_ks, model_generator, pass_at_k_scores
from repotune.evaluation.sandbox import Sandbox, SandboxLimits, Verdict, WorkTree
from repotune.evaluation.sandbox_pytest import installed_packages, pytest_program
from repotune.parsing.python_units import source_lines
from repotune.records import CodeUnit

METRIC_PREFIX = "pass_at_"
TEAM_TEST_LIMITS = SandboxLimits(cpu_s=20, wall_s=60.0, memory_mb=2048, file_mb=64)
"""Room for a test session: pytest's own start-up (~0.3 s) plus the repository's imports."""


@dataclass
class TeamTestResult:
    """Metrics (``pass_at_<k>``; empty when no unit could be evaluated), how many units were,
    the excluded ones counted by reason (and listed with the detail in ``excluded_units``), one
    entry per evaluated unit, and each metric's per-unit scores (``per_sample``, in
    ``per_unit`` order: what bootstrap intervals resample)."""

    metrics: dict[str, float]
    units_evaluated: int
    excluded: Counter[str] = field(default_factory=Counter)
    per_unit: list[dict] = field(default_factory=list)
    per_sample: dict[str, list[float]] = field(default_factory=dict)
    excluded_units: list[dict] = field(default_factory=list)


def held_out_units(units_ref: DatasetRef, completion_ref: DatasetRef) -> list[CodeUnit]:
    """The units behind the completion dataset's test-split samples (the completion task's own
    filters, e.g. too-short bodies, already applied)."""
    test_ids = {
        row["source_id"]
        for row in completion_ref.read("samples")
        if row["split"] == "test" and row["task"] == TASK
    }
    return [CodeUnit.from_dict(row) for row in units_ref.read("units") if row["id"] in test_ids]


def select_units(units: Iterable[CodeUnit], max_units: int) -> tuple[list[CodeUnit], Counter[str]]:
    """The units with related tests, at most ``max_units``, in an order fixed by their ids (so
    the cap spreads over the repository whatever order they come in), and the rest by reason."""
    if max_units < 1:
        raise ValueError(f"`max_units` must be >= 1 (got {max_units})")
    excluded: Counter[str] = Counter()
    eligible = []
    for unit in units:
        if unit.language not in TRAINED_LANGUAGES:
            excluded["language_not_trained"] += 1
        elif not unit.related_tests:
            excluded["no_related_tests"] += 1
        else:
            eligible.append(unit)
    eligible.sort(key=lambda unit: hashlib.sha256(f"team-tests\0{unit.id}".encode()).digest())
    if len(eligible) > max_units:
        excluded["over_max_units"] += len(eligible) - max_units
    return eligible[:max_units], excluded


@dataclass(frozen=True)
class _Ready:
    """A unit whose checkout holds its code: the file around it, and the test driver."""

    unit: CodeUnit
    root: Path
    before: str
    after: str
    driver: str

    def tree(self, body: str | None = None) -> WorkTree:
        """The checkout as is (``body`` None), or with the unit's body replaced."""
        if body is None:
            return WorkTree(self.root)
        code = self.unit.header + body
        code += "" if code.endswith("\n") else "\n"
        return WorkTree(self.root, {self.unit.path: self.before + code + self.after})


def _prepare(
    units: Sequence[CodeUnit], git_dirs: Mapping[str, str], tmp: Path, excluded: Counter[str]
) -> tuple[list[_Ready], list[dict]]:
    """Materialize each (repository, commit) once and keep the units found at their lines."""
    roots: dict[tuple[str, str], Path] = {}
    ready, dropped = [], []
    for unit in units:
        root = None
        if unit.repo in git_dirs:
            key = (git_dirs[unit.repo], unit.commit)
            if key not in roots:
                roots[key] = materialize(key[0], key[1], tmp / f"checkout-{len(roots)}")
            root = roots[key]
        if root is None or not matches(root, unit):
            reason = "no_source" if root is None else "checkout_mismatch"
            excluded[reason] += 1
            dropped.append({"unit_id": unit.id, "qualname": unit.qualname, "reason": reason})
            continue
        lines = source_lines((root / unit.path).read_bytes().decode("utf-8"))
        before = "".join(lines[: unit.start_line - 1])
        after = "".join(lines[unit.end_line :])
        driver = pytest_program([node_id(test) for test in unit.related_tests])
        ready.append(_Ready(unit, root, before, after, driver))
    return ready, dropped


def _original_failure(verdict: Verdict) -> str:
    if verdict.passed:
        return ""
    return "tests_timeout_on_original" if verdict.status == "timeout" else "tests_fail_on_original"


def score_team_tests(
    units: Sequence[CodeUnit],
    sources: Sequence[Mapping[str, str]],
    generate: Generate,
    *,
    n: int,
    ks: Sequence[int],
    limits: SandboxLimits = TEAM_TEST_LIMITS,
    workers: int = 2,
    excluded: Counter[str] | None = None,
) -> TeamTestResult:
    """pass@k of ``generate``'s bodies on ``units``' related tests; ``sources`` are the units
    dataset's sources (``repo`` and its ``git_dir``), ``excluded`` counts carried over from the
    selection (see :func:`select_units`)."""
    ks = check_ks(ks, n)
    if workers < 1:
        raise ValueError(f"`workers` must be >= 1 (got {workers}); use the number of CPU cores")
    excluded = Counter(excluded or {})
    git_dirs = {source["repo"]: source["git_dir"] for source in sources}
    with (
        tempfile.TemporaryDirectory(prefix="repotune-team-tests-") as tmp,
        Sandbox(limits, installed_packages()) as sandbox,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        ready, dropped = _prepare(units, git_dirs, Path(tmp), excluded)
        originals = list(pool.map(lambda r: sandbox.run(r.driver, r.tree()), ready))
        kept = []
        for item, verdict in zip(ready, originals, strict=True):
            reason = _original_failure(verdict)
            if reason:
                excluded[reason] += 1
                unit = item.unit
                dropped.append(
                    {"unit_id": unit.id, "qualname": unit.qualname, "reason": reason,
                     "detail": f"{verdict.status}: {verdict.detail}"}
                )  # fmt: skip
            else:
                kept.append(item)
        prompts = [completion_sample(item.unit, "test", item.unit.path).prompt for item in kept]
        bodies = generate(prompts, n) if kept else []
        if len(bodies) != len(kept) or any(len(samples) != n for samples in bodies):
            raise ValueError(f"`generate` must return {n} bodies for each of {len(kept)} prompts")
        jobs = [
            (item, body) for item, samples in zip(kept, bodies, strict=True) for body in samples
        ]
        verdicts = list(pool.map(lambda job: sandbox.run(job[0].driver, job[0].tree(job[1])), jobs))
    statuses = [[v.status for v in verdicts[i * n : (i + 1) * n]] for i in range(len(kept))]
    passed = [[status == "passed" for status in row] for row in statuses]
    metrics, per_sample = pass_at_k_scores(passed, ks, METRIC_PREFIX)
    per_unit = [
        {
            "unit_id": item.unit.id,
            "repo": item.unit.repo,
            "path": item.unit.path,
            "qualname": item.unit.qualname,
            "n": n,
            "passed": sum(passed[i]),
            "statuses": statuses[i],
            **{name: scores[i] for name, scores in per_sample.items()},
        }
        for i, item in enumerate(kept)
    ]
    return TeamTestResult(metrics, len(kept), excluded, per_unit, per_sample, dropped)


def team_tests_pass_at_k(
    model_path: str,
    adapter_dir: str | None = None,
    *,
    units_ref: DatasetRef,
    completion_ref: DatasetRef,
    max_units: int,
    n: int,
    ks: Sequence[int],
    temperature: float,
    top_p: float = 0.95,
    limits: SandboxLimits = TEAM_TEST_LIMITS,
    workers: int = 2,
    max_new_tokens: int = 256,
    batch_size: int = 8,
    seed: int = 0,
) -> TeamTestResult:
    """pass@k of the model at ``model_path`` (plus a LoRA adapter) on the held-out units of the
    completion dataset that have related tests (at most ``max_units``)."""
    check_ks(ks, n)
    units, excluded = select_units(held_out_units(units_ref, completion_ref), max_units)
    generate = model_generator(
        model_path,
        adapter_dir,
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        seed=seed,
    )
    sources = units_ref.manifest["sources"]
    return score_team_tests(
        units, sources, generate, n=n, ks=ks, limits=limits, workers=workers, excluded=excluded
    )
