"""pass@k on a repository's own tests: unit selection, originals first, spliced candidates run
by the sandbox, and the end-to-end path from the datasets with a real (tiny) model."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eval_fixtures import (  # noqa: F401 - fixtures are used by name
    fixture_quick_base,
    fixture_tested_repo,
)

from repotune.config import DatasetConfig, SourceConfig
from repotune.datasets.build import build_completion_dataset
from repotune.datasets.units import build_units_dataset
from repotune.evaluation.sandbox import SandboxLimits
from repotune.evaluation.team_tests import (
    held_out_units,
    score_team_tests,
    select_units,
    team_tests_pass_at_k,
)
from repotune.records import CodeUnit
from repotune.sources.git import resolve_snapshot
from repotune.workspace import Workspace

LIMITS = SandboxLimits(cpu_s=10, wall_s=30.0, memory_mb=1024)


@pytest.fixture(name="datasets")
def fixture_datasets(tested_repo, tmp_path):
    """The units dataset of ``tested_repo`` and a completion dataset that holds out
    ``pkg/mathx.py`` alone: its salted hash score is 0.40, the other files' above 0.9, and no
    time holdout moves the (single-commit) files to the test split."""
    ws = Workspace.at(tmp_path / "ws")
    units = build_units_dataset([resolve_snapshot(str(tested_repo))], SourceConfig(), ws)
    cfg = DatasetConfig(min_completion_chars=4, test_fraction=0.5, holdout_commits=0)
    return units, build_completion_dataset(units, cfg, ws)


@pytest.fixture(name="module_units")
def fixture_module_units(datasets):
    """The three units of ``pkg/mathx.py``, each with its related test."""
    units_ref, _ = datasets
    rows = [CodeUnit.from_dict(row) for row in units_ref.read("units")]
    return {unit.qualname: unit for unit in rows if unit.path == "pkg/mathx.py"}


def bodies_by_prompt(units: dict[str, CodeUnit], *make) -> object:
    """A generator giving, per prompt, ``make[i](unit)`` for each sample i."""
    by_prompt = {unit.enclosing + unit.header: unit for unit in units.values()}

    def generate(prompts: list[str], n: int) -> list[list[str]]:
        assert n == len(make)
        return [[body(by_prompt[prompt]) for body in make] for prompt in prompts]

    return generate


def wrong(unit: CodeUnit) -> str:
    return unit.body.replace("return", "return -1 +")


def test_reference_bodies_pass_wrong_ones_fail_and_a_broken_original_is_excluded(
    datasets, module_units
):
    units_ref, _ = datasets
    assert {u: len(module_units[u].related_tests) for u in module_units} == {
        "add": 1, "double": 1, "Box.size": 1
    }  # fmt: skip
    sources = units_ref.manifest["sources"]
    generate = bodies_by_prompt(module_units, lambda unit: unit.body, wrong)
    result = score_team_tests(
        list(module_units.values()), sources, generate, n=2, ks=[1, 2], limits=LIMITS
    )
    assert result.metrics == {"pass_at_1": 0.5, "pass_at_2": 1.0}
    assert result.units_evaluated == 2
    assert result.excluded == {"tests_fail_on_original": 1}
    assert [(e["qualname"], e["reason"]) for e in result.excluded_units] == [
        ("double", "tests_fail_on_original")
    ]
    assert "tests/test_mathx.py::test_double" in result.excluded_units[0]["detail"]
    assert sorted(u["qualname"] for u in result.per_unit) == ["Box.size", "add"]
    assert all(u["statuses"] == ["passed", "failed"] for u in result.per_unit)
    assert result.per_sample == {"pass_at_1": [0.5, 0.5], "pass_at_2": [1.0, 1.0]}

    all_wrong = bodies_by_prompt(module_units, wrong)
    units = [module_units["add"], module_units["Box.size"]]
    scored = score_team_tests(units, sources, all_wrong, n=1, ks=[1], limits=LIMITS)
    assert scored.metrics == {"pass_at_1": 0.0} and scored.units_evaluated == 2


def test_units_the_checkout_cannot_hold_are_excluded_and_none_left_means_no_metrics(
    datasets, module_units
):
    units_ref, _ = datasets
    add = module_units["add"]
    moved = replace(add, start_line=add.start_line + 1, end_line=add.end_line + 1, id="moved")
    elsewhere = replace(add, repo="/nowhere", id="elsewhere")

    def never(prompts: list[str], n: int) -> list[list[str]]:
        raise AssertionError("nothing is left to generate for")

    result = score_team_tests(
        [moved, elsewhere], units_ref.manifest["sources"], never, n=1, ks=[1], limits=LIMITS
    )
    assert result.metrics == {} and result.units_evaluated == 0
    assert result.excluded == {"checkout_mismatch": 1, "no_source": 1}


def test_selection_keeps_tested_python_units_in_a_fixed_order_up_to_the_cap(module_units):
    units = list(module_units.values())
    untested = replace(units[0], related_tests=(), id="untested")
    other = replace(units[1], language="go", id="go")
    chosen, excluded = select_units([*units, untested, other], max_units=2)
    again, _ = select_units([other, untested, *reversed(units)], max_units=2)
    assert [u.id for u in chosen] == [u.id for u in again] and len(chosen) == 2
    assert excluded == {"no_related_tests": 1, "language_not_trained": 1, "over_max_units": 1}
    with pytest.raises(ValueError, match="`max_units` must be >= 1"):
        select_units(units, max_units=0)


def test_held_out_units_are_the_completion_test_split(datasets):
    units_ref, completion_ref = datasets
    held = held_out_units(units_ref, completion_ref)
    test_ids = {
        row["source_id"] for row in completion_ref.read("samples") if row["split"] == "test"
    }
    assert held and {unit.id for unit in held} == test_ids
    assert {unit.path for unit in held} == {"pkg/mathx.py"}


def test_a_real_model_gives_bounded_named_metrics(datasets, quick_base):
    units_ref, completion_ref = datasets
    result = team_tests_pass_at_k(
        quick_base,
        units_ref=units_ref,
        completion_ref=completion_ref,
        max_units=5,
        n=2,
        ks=[1, 2],
        temperature=0.8,
        limits=LIMITS,
        max_new_tokens=12,
    )
    assert set(result.metrics) == {"pass_at_1", "pass_at_2"}
    assert all(0.0 <= value <= 1.0 for value in result.metrics.values())
    assert result.units_evaluated == 2 and result.excluded == {"tests_fail_on_original": 1}
    assert [len(u["statuses"]) for u in result.per_unit] == [2, 2]
