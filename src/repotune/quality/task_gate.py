"""Great Expectations gates on the task datasets: one suite per task, thresholds from ``gate``.

Each task's samples must have every required field, stay within the length bounds, carry unique
ids and known split names, keep each file on one side of the split, reach the minimum rows per
split, hold code that parses at the configured rate (tasks whose completion is code: completion,
instruction, repair, refactor), and contain no secret when scanned again after scrubbing. A failing
task is reported with example rows (ids only: never a secret's value).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from repotune.config import DatasetConfig, GateConfig
from repotune.datasets.task_samples import HISTORY_TASKS
from repotune.parsing.treesitter_grammars import syntax_ok
from repotune.privacy import detect
from repotune.quality.gate import (
    NON_NULL_COLUMNS,
    SPLITS,
    ExpectationOutcome,
    _Check,
    _outcome,
    _samples_per_split,
    _splits_per_file,
    _write_atomic,
    validate_frames,
)

CODE_TASKS = {"completion", "instruction", "repair", "refactor"}
"""Tasks whose prompt + completion (completion) or completion alone (others) is a whole unit."""


@dataclass(frozen=True)
class TaskGateResult:
    passed: bool
    outcomes: dict[str, list[ExpectationOutcome]]
    report_markdown: str
    report_path: Path
    docs_dir: Path

    @property
    def failed(self) -> list[str]:
        return [
            f"{task}: {o.name} on `{o.column}` ({o.observed})"
            for task, outcomes in self.outcomes.items()
            for o in outcomes
            if not o.passed
        ]


def _code_of(task: str, prompt: str, completion: str) -> str | None:
    if task not in CODE_TASKS:
        return None
    return textwrap.dedent(prompt + completion if task == "completion" else completion)


def _derived(df: pd.DataFrame) -> pd.DataFrame:
    """Per sample: secrets found by a re-scan, and whether its code parses (None: not code)."""
    frame = df[["id", "task", "path", "split"]].copy()
    texts = list(zip(df["task"], df["prompt"], df["completion"], df["labels"], strict=True))
    frame["secrets"] = [
        len(detect(prompt)) + len(detect(completion)) for _, prompt, completion, _ in texts
    ]
    oks = []
    for task, prompt, completion, labels in texts:
        code = _code_of(task, prompt, completion)
        language = json.loads(labels).get("language", "python")
        oks.append(None if code is None else float(syntax_ok(language, code)))
    frame["code_ok"] = oks
    return frame


def _checks(task: str, gate: GateConfig, dataset: DatasetConfig, has_code: bool) -> list[_Check]:
    import great_expectations.expectations as gxe

    name = f"{task}-samples"
    checks = [
        *(
            _Check("not null", column, name, gxe.ExpectColumnValuesToNotBeNull(column=column))
            for column in (*NON_NULL_COLUMNS, "task")
        ),
        _Check(
            f"length <= {dataset.max_prompt_chars}",
            "prompt",
            name,
            gxe.ExpectColumnValueLengthsToBeBetween(
                column="prompt", max_value=dataset.max_prompt_chars
            ),
        ),
        _Check(
            f"length in [1, {dataset.max_completion_chars}]",
            "completion",
            name,
            gxe.ExpectColumnValueLengthsToBeBetween(
                column="completion", min_value=1, max_value=dataset.max_completion_chars
            ),
        ),
        _Check("unique", "id", name, gxe.ExpectColumnValuesToBeUnique(column="id")),
        _Check(
            "in {" + ", ".join(SPLITS) + "}",
            "split",
            name,
            gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        ),
        _Check(
            "no secret on a re-scan",
            "secrets",
            f"{task}-derived",
            gxe.ExpectColumnValuesToBeInSet(column="secrets", value_set=[0]),
        ),
        _Check(
            "each file in exactly one split",
            "n_splits",
            f"{task}-files",
            gxe.ExpectColumnValuesToBeBetween(column="n_splits", min_value=1, max_value=1),
        ),
    ]
    minimum = (
        gate.min_history_samples_per_split
        if task in HISTORY_TASKS
        else (gate.min_samples_per_split)
    )
    if minimum:
        checks.append(
            _Check(
                f">= {minimum} samples per split",
                "n_samples",
                f"{task}-splits",
                gxe.ExpectColumnValuesToBeBetween(column="n_samples", min_value=minimum),
            )
        )
    if has_code:
        checks.append(
            _Check(
                f"code parses in >= {gate.min_syntax_valid_rate:.0%} of samples",
                "code_ok",
                f"{task}-code",
                gxe.ExpectColumnMeanToBeBetween(
                    column="code_ok", min_value=gate.min_syntax_valid_rate
                ),
            )
        )
    return checks


def run_task_gates(
    df: pd.DataFrame,
    gate: GateConfig,
    dataset: DatasetConfig,
    report_dir: Path,
    name: str,
    near_duplicate_ratio: float = 0.0,
    drift: dict[str, float] | None = None,
    categories: dict[str, int] | None = None,
) -> TaskGateResult:
    """Validate every task of the task datasets as its own suite, plus the dataset-wide
    near-duplicate ratio found by dedup and the drift (PSI) from the previous version, when there
    is one; write one markdown report."""
    import great_expectations.expectations as gxe

    derived = _derived(df)
    frames: dict[str, pd.DataFrame] = {
        "all-dedup": pd.DataFrame({"near_duplicate_ratio": [near_duplicate_ratio]})
    }
    checks: list[_Check] = [
        _Check(
            f"near-duplicate ratio <= {gate.max_near_duplicate_ratio}",
            "near_duplicate_ratio",
            "all-dedup",
            gxe.ExpectColumnValuesToBeBetween(
                column="near_duplicate_ratio", max_value=gate.max_near_duplicate_ratio
            ),
        )
    ]
    index: dict[str, list[str]] = {}
    if categories:
        total = sum(categories.values())
        frames["all-categories"] = pd.DataFrame(
            {"category": list(categories), "share": [n / total for n in categories.values()]}
        )
        index["all-categories"] = ["category"]
        checks.append(
            _Check(
                f"no category above {gate.max_category_share:.0%} of units",
                "share",
                "all-categories",
                gxe.ExpectColumnValuesToBeBetween(
                    column="share", max_value=gate.max_category_share
                ),
            )
        )
    if drift:
        frames["all-drift"] = pd.DataFrame({"metric": list(drift), "psi": list(drift.values())})
        index["all-drift"] = ["metric"]
        checks.append(
            _Check(
                f"drift from the previous version: PSI <= {gate.max_drift_psi}",
                "psi",
                "all-drift",
                gxe.ExpectColumnValuesToBeBetween(column="psi", max_value=gate.max_drift_psi),
            )
        )
    for task, rows in df.groupby("task", sort=True):
        extra = derived[derived["task"] == task]
        code = extra.dropna(subset=["code_ok"])[["id", "code_ok"]]
        frames.update(
            {
                f"{task}-samples": rows,
                f"{task}-derived": extra[["id", "secrets"]],
                f"{task}-files": _splits_per_file(rows),
                f"{task}-splits": _samples_per_split(rows),
            }
        )
        if len(code):
            frames[f"{task}-code"] = code
        index.update({f"{task}-samples": ["id"], f"{task}-derived": ["id"]})
        index.update({f"{task}-files": ["path"], f"{task}-splits": ["split"]})
        checks += _checks(str(task), gate, dataset, bool(len(code)))
    docs_dir = report_dir / f"gx-docs-tasks-{name}"
    by_id, _ = validate_frames("tasks", frames, checks, index, docs_dir)
    outcomes: dict[str, list[ExpectationOutcome]] = {}
    for check in checks:
        task = check.frame.rsplit("-", 1)[0]
        outcomes.setdefault(task, []).append(_outcome(check, by_id[check.expectation.id]))
    passed = all(o.passed for task_outcomes in outcomes.values() for o in task_outcomes)
    report_dir.mkdir(parents=True, exist_ok=True)
    report_path = report_dir / f"task-gates-{name}.md"
    markdown = _markdown(passed, outcomes, df)
    _write_atomic(report_path, markdown)
    return TaskGateResult(passed, outcomes, markdown, report_path, docs_dir)


def _markdown(passed: bool, outcomes: dict[str, list[ExpectationOutcome]], df: pd.DataFrame) -> str:
    verdict = "✅ passed" if passed else "❌ failed"
    lines = [f"## Task dataset gates: {verdict}", ""]
    for task, task_outcomes in outcomes.items():
        rows = df[df["task"] == task]
        bad = [o for o in task_outcomes if not o.passed]
        mark = "✅" if not bad else f"❌ {len(bad)} of {len(task_outcomes)} failed"
        lines += [f"### `{task}` ({len(rows)} samples): {mark}", ""]
        lines += ["| | Expectation | Column | Observed |", "|---|---|---|---|"]
        for o in task_outcomes:
            lines.append(
                f"| {'✅' if o.passed else '❌'} | {o.name} | `{o.column}` | {o.observed} |"
            )
        for o in bad:
            lines += ["", f"Failing examples of **{o.name}**:"]
            lines += [f"- `{example}`" for example in o.examples] or ["- (none)"]
        lines.append("")
    return "\n".join(lines)
