"""The GX completion gate: a clean frame passes; each kind of breakage fails the right check."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"

from repotune.config import DatasetConfig, GateConfig
from repotune.quality.gate import MAX_EXAMPLE_CHARS, run_completion_gate


def _clean() -> pd.DataFrame:
    rows = []
    for index, (path, split) in enumerate(
        [
            ("a.py", "train"),
            ("a.py", "train"),
            ("b.py", "train"),
            ("c.py", "test"),
            ("d.py", "test"),
        ]
    ):
        rows.append(
            {
                "id": f"id{index}",
                "task": "completion",
                "prompt": f"def f{index}(x):\n",
                "completion": f"    return x + {index}  # long enough\n",
                "source_id": f"src{index}",
                "path": path,
                "split": split,
                "labels": json.dumps({"lang": "python"}),
            }
        )
    return pd.DataFrame(rows)


def _duplicate_id(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[1, "id"] = "id0"
    return df


def _null_prompt(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[2, "prompt"] = None
    return df


def _short_completion(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "completion"] = "pass"
    return df


def _long_prompt(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[0, "prompt"] = "x" * 5000
    return df


def _leaked_file(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[4, "path"] = "a.py"
    return df


def _empty_test_split(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["split"] == "train"].reset_index(drop=True)


def _unknown_split(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[4, "split"] = "valid"
    return df


def _gate(df: pd.DataFrame, tmp_path: Path):
    return run_completion_gate(df, GateConfig(), DatasetConfig(), tmp_path / "reports")


def test_clean_frame_passes_and_writes_reports(tmp_path: Path) -> None:
    result = _gate(_clean(), tmp_path)
    assert result.passed, result.summary()
    assert len(result.outcomes) == 11
    assert "❌" not in result.report_markdown
    assert result.report_path.read_text(encoding="utf-8") == result.report_markdown
    gx_json = json.loads(result.report_path.with_suffix(".json").read_text(encoding="utf-8"))
    assert set(gx_json) == {"samples", "files", "splits"}
    assert all(part["success"] for part in gx_json.values())
    assert _gate(_clean(), tmp_path).report_path == result.report_path


@pytest.mark.parametrize(
    ("breakage", "column", "name", "example"),
    [
        (_duplicate_id, "id", "unique", "id='id0'"),
        (_null_prompt, "prompt", "not null", "id='id2'"),
        (_short_completion, "completion", "length in [16, 2000]", "'pass'"),
        (_long_prompt, "prompt", "length <= 2000", "(5000 chars)"),
        (_leaked_file, "n_splits", "each file in exactly one split", "path='a.py'"),
        (_empty_test_split, "n_samples", ">= 1 samples per split", "split='test'"),
        (_unknown_split, "split", "in {train, test}", "'valid'"),
    ],
)
def test_broken_frame_fails_the_right_expectation(
    tmp_path: Path,
    breakage: Callable[[pd.DataFrame], pd.DataFrame],
    column: str,
    name: str,
    example: str,
) -> None:
    result = _gate(breakage(_clean()), tmp_path)
    assert not result.passed
    assert [(o.name, o.column) for o in result.failed] == [(name, column)]
    failed = result.failed[0]
    assert any(example in text for text in failed.examples), failed.examples
    assert all(len(text) <= MAX_EXAMPLE_CHARS for text in failed.examples)
    assert f"| ❌ | {name.replace('|', '')} | `{column}`" in result.report_markdown
    assert "### Failing examples" in result.report_markdown
    assert name in result.summary()
