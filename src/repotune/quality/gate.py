"""Great Expectations gate that the completion dataset must pass before any training starts.

Training on a broken dataset wastes hours and, worse, produces numbers that look fine: a file in
both splits makes held-out metrics a lie, an empty test split makes them meaningless. The gate runs
real GX expectations (so the JSON result is in the standard GX format) over three frames:

* ``samples``: the samples themselves (non-null columns, length bounds, unique ids, split names);
* ``files``: one row per file with its number of distinct splits (must be exactly 1);
* ``splits``: one row per expected split with its sample count (must reach the configured minimum).

It never raises on a failing dataset: the caller decides (it raises ``GateFailed`` unless
``gate.accept_failure``). ``great_expectations`` is imported inside :func:`run_completion_gate`
because its import costs ~3.5 s and ``import repotune`` must stay fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from repotune.config import DatasetConfig, GateConfig

SPLITS = ("train", "test")
NON_NULL_COLUMNS = ("id", "prompt", "completion", "path", "split")
MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 200
_VALUE_PREVIEW_CHARS = 60
_UNITS = {"samples": "rows", "files": "files", "splits": "splits"}


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, short enough for a table cell and an MLflow tag."""

    name: str
    column: str
    passed: bool
    observed: str
    examples: tuple[str, ...] = ()
    expectation_type: str = ""


@dataclass(frozen=True)
class GateResult:
    passed: bool
    outcomes: list[ExpectationOutcome]
    report_markdown: str
    report_path: Path
    docs_dir: Path

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.passed]

    def summary(self) -> str:
        """One sentence for ``GateFailed`` and logs, naming every failing expectation."""
        if self.passed:
            return f"all {len(self.outcomes)} expectations passed"
        failing = "; ".join(f"{o.name} on `{o.column}` ({o.observed})" for o in self.failed)
        return f"{len(self.failed)} of {len(self.outcomes)} expectations failed: {failing}"


@dataclass(frozen=True)
class _Check:
    name: str
    column: str
    frame: str
    expectation: Any


def run_completion_gate(
    df: pd.DataFrame, gate: GateConfig, dataset: DatasetConfig, report_dir: Path
) -> GateResult:
    """Validate the completion samples with GX and write a markdown + JSON report.

    The report is named by a fingerprint of the data and the thresholds, so re-validating the same
    dataset with the same config rewrites the same report instead of piling up copies.
    """
    import great_expectations.expectations as gxe

    checks = [
        *(
            _Check("not null", column, "samples", gxe.ExpectColumnValuesToNotBeNull(column=column))
            for column in NON_NULL_COLUMNS
        ),
        _Check(
            f"length in [{dataset.min_completion_chars}, {dataset.max_completion_chars}]",
            "completion",
            "samples",
            gxe.ExpectColumnValueLengthsToBeBetween(
                column="completion",
                min_value=dataset.min_completion_chars,
                max_value=dataset.max_completion_chars,
            ),
        ),
        _Check(
            f"length <= {dataset.max_prompt_chars}",
            "prompt",
            "samples",
            gxe.ExpectColumnValueLengthsToBeBetween(
                column="prompt", max_value=dataset.max_prompt_chars
            ),
        ),
        _Check("unique", "id", "samples", gxe.ExpectColumnValuesToBeUnique(column="id")),
        _Check(
            "in {" + ", ".join(SPLITS) + "}",
            "split",
            "samples",
            gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        ),
        _Check(
            "each file in exactly one split",
            "n_splits",
            "files",
            gxe.ExpectColumnValuesToBeBetween(column="n_splits", min_value=1, max_value=1),
        ),
        _Check(
            f">= {gate.min_samples_per_split} samples per split",
            "n_samples",
            "splits",
            gxe.ExpectColumnValuesToBeBetween(
                column="n_samples", min_value=gate.min_samples_per_split
            ),
        ),
    ]
    frames = {"samples": df, "files": _splits_per_file(df), "splits": _samples_per_split(df)}
    index_columns = {
        "samples": ["id"] if "id" in df.columns else [],
        "files": ["path"],
        "splits": ["split"],
    }
    fingerprint = _fingerprint(df, gate, dataset)
    docs_dir = report_dir / f"gx-docs-{fingerprint}"
    by_id, results = validate_frames("completion", frames, checks, index_columns, docs_dir)
    outcomes = [_outcome(check, by_id[check.expectation.id]) for check in checks]
    passed = all(outcome.passed for outcome in outcomes)
    report_dir.mkdir(parents=True, exist_ok=True)
    report_path = report_dir / f"gate-{fingerprint}.md"
    markdown = _markdown(passed, outcomes, df, report_path.with_suffix(".json").name)
    gx_json = {name: result.to_json_dict() for name, result in results.items()}
    _write_atomic(report_path.with_suffix(".json"), json.dumps(gx_json, indent=2, default=str))
    _write_atomic(report_path, markdown)
    return GateResult(passed, outcomes, markdown, report_path, docs_dir)


def validate_frames(
    suite: str,
    frames: dict[str, pd.DataFrame],
    checks: list[_Check],
    index_columns: dict[str, list[str]],
    docs_dir: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run each frame's checks as one GX suite (a checkpoint) in an ephemeral context, and render
    GX Data Docs (HTML, with the failing rows) into ``docs_dir``.

    Returns the expectation results by expectation id and the raw GX result per frame.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("repotune")
    results: dict[str, Any] = {}
    by_id: dict[str, Any] = {}
    for frame_name, frame in frames.items():
        batch = source.add_dataframe_asset(frame_name).add_batch_definition_whole_dataframe("all")
        gx_suite = context.suites.add(gx.ExpectationSuite(name=f"{suite}-{frame_name}"))
        for check in checks:
            if check.frame == frame_name:
                gx_suite.add_expectation(check.expectation)
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite}-{frame_name}", data=batch, suite=gx_suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{suite}-{frame_name}",
                validation_definitions=[validation],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data-docs")] if docs_dir else [],
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": MAX_EXAMPLES,
                    "unexpected_index_column_names": index_columns.get(frame_name, []),
                },
            )
        )
        run = checkpoint.run(batch_parameters={"dataframe": frame})
        result = next(iter(run.run_results.values()))
        results[frame_name] = result
        by_id.update({r.expectation_config.id: r for r in result.results})
    if docs_dir is not None:
        site = context.get_docs_sites_urls()[0]["site_url"].removeprefix("file://")
        shutil.rmtree(docs_dir, ignore_errors=True)
        shutil.copytree(Path(site).parent, docs_dir)
    return by_id, results


def _splits_per_file(df: pd.DataFrame) -> pd.DataFrame:
    """path -> number of distinct splits; more than one means test data leaks into training."""
    if not {"path", "split"} <= set(df.columns) or df.empty:
        return pd.DataFrame({"path": pd.Series(dtype=str), "n_splits": pd.Series(dtype=int)})
    counts = df.dropna(subset=["path"]).groupby("path")["split"].nunique(dropna=True)
    return counts.rename("n_splits").reset_index()


def _samples_per_split(df: pd.DataFrame) -> pd.DataFrame:
    """One row per expected split (zero-filled, so an empty split is a row that fails)."""
    counts = df["split"].value_counts() if "split" in df.columns else pd.Series(dtype=int)
    return pd.DataFrame(
        {"split": list(SPLITS), "n_samples": [int(counts.get(split, 0)) for split in SPLITS]}
    )


def _outcome(check: _Check, result: Any) -> ExpectationOutcome:
    expectation_type = result.expectation_config.type
    error = _exception_message(result.exception_info)
    if error is not None:
        return ExpectationOutcome(
            check.name, check.column, False, _clip(f"error: {error}"), (), expectation_type
        )
    info = result.result or {}
    if "unexpected_count" in info:
        unit = _UNITS.get(check.frame.rpartition("-")[2], "rows")
        observed = f"{info['unexpected_count']} of {info.get('element_count', 0)} {unit} unexpected"
    else:
        observed = _clip(f"observed {info.get('observed_value')!r}")
    rows = info.get("partial_unexpected_index_list") or [
        {check.column: value} for value in info.get("partial_unexpected_list") or []
    ]
    examples: list[str] = []
    for row in rows:
        text = _format_example(row if isinstance(row, dict) else {"row": row}, check.column)
        if text not in examples:
            examples.append(text)
    return ExpectationOutcome(
        check.name,
        check.column,
        bool(result.success),
        observed,
        tuple(examples[:MAX_EXAMPLES]),
        expectation_type,
    )


def _exception_message(info: dict[str, Any] | None) -> str | None:
    """GX reports errors flat (``raised_exception``) or keyed by metric id (a missing column)."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "unknown error")
    return None


def _format_example(row: dict[str, Any], checked_column: str) -> str:
    """``key=value`` pairs, identifying columns first, long strings cut to a preview."""
    ordered = sorted(row.items(), key=lambda item: item[0] == checked_column)
    parts = []
    for key, value in ordered:
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and value != value:
            value = None
        if isinstance(value, str) and len(value) > _VALUE_PREVIEW_CHARS:
            shown = f"{value[:_VALUE_PREVIEW_CHARS]!r}... ({len(value)} chars)"
        else:
            shown = repr(value)
        parts.append(f"{key}={shown}")
    return _clip(" ".join(parts))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[: MAX_EXAMPLE_CHARS - 3] + "..."


def _markdown(
    passed: bool, outcomes: list[ExpectationOutcome], df: pd.DataFrame, json_name: str
) -> str:
    failed = [outcome for outcome in outcomes if not outcome.passed]
    verdict = "✅ passed" if passed else f"❌ failed ({len(failed)} of {len(outcomes)})"
    counts = _samples_per_split(df)
    split_text = ", ".join(f"{row.split} {row.n_samples}" for row in counts.itertuples())
    n_files = df["path"].nunique() if "path" in df.columns else 0
    lines = [
        f"## Completion dataset gate: {verdict}",
        "",
        f"{len(df)} samples ({split_text}) from {n_files} files. "
        f"Great Expectations result: `{json_name}`.",
        "",
        "| | Expectation | Column | Observed | GX expectation |",
        "|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        mark = "✅" if outcome.passed else "❌"
        lines.append(
            f"| {mark} | {_cell(outcome.name)} | `{outcome.column}` | {_cell(outcome.observed)} "
            f"| `{outcome.expectation_type}` |"
        )
    if failed:
        lines += ["", "### Failing examples"]
        for outcome in failed:
            lines += ["", f"**{_cell(outcome.name)}** on `{outcome.column}`:"]
            lines += [f"- {_code(example)}" for example in outcome.examples] or ["- (no examples)"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Inline code span that survives backticks inside the value."""
    fence = "`"
    while fence in text:
        fence += "`"
    return f"{fence} {text} {fence}"


def _fingerprint(df: pd.DataFrame, gate: GateConfig, dataset: DatasetConfig) -> str:
    digest = hashlib.sha256()
    columns = [column for column in NON_NULL_COLUMNS if column in df.columns]
    digest.update(",".join(columns).encode())
    if columns and not df.empty:
        hashed = pd.util.hash_pandas_object(df[columns].astype("string"), index=False)
        digest.update(hashed.to_numpy().tobytes())
    digest.update(gate.model_dump_json().encode())
    digest.update(dataset.model_dump_json().encode())
    return digest.hexdigest()[:16]


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temp sibling + rename so a concurrent reader never sees half a report."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
