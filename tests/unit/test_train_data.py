"""Train rows: checked, EOS-terminated, and split into train/eval by file, deterministically."""

from __future__ import annotations

import pytest

from repotune.errors import RepotuneError
from repotune.training.data import prepare_rows, split_train_eval

EOS = "<|eos|>"


def rows_in_files(files: dict[str, int]) -> list[dict]:
    return [
        {"prompt": f"def f{i}():\n", "completion": "    pass\n", "path": path}
        for path, count in files.items()
        for i in range(count)
    ]


def test_completions_end_with_eos_once():
    rows = prepare_rows(
        [{"prompt": "a", "completion": "b"}, {"prompt": "c", "completion": "d" + EOS}], EOS
    )
    assert [row["completion"] for row in rows] == ["b" + EOS, "d" + EOS]


def test_rows_without_fields_or_no_rows_are_clear_errors():
    with pytest.raises(RepotuneError, match="train split is empty"):
        prepare_rows([], EOS)
    with pytest.raises(RepotuneError, match=r"train rows \[1\] lack"):
        prepare_rows([{"prompt": "a", "completion": "b"}, {"prompt": "a"}], EOS)


def test_eval_split_takes_whole_files_and_is_deterministic():
    rows = rows_in_files({f"mod{k}.py": 5 for k in range(10)})
    split = split_train_eval(rows, list(range(len(rows))), 0.1, seed=3)
    assert split.by == "path"
    held_files = {rows[i]["path"] for i in split.eval}
    train_files = {rows[i]["path"] for i in split.train}
    assert len(split.eval) == 5 and len(held_files) == 1  # 10 % of 50 rows: one whole file
    assert not held_files & train_files
    assert sorted(split.train + split.eval) == list(range(len(rows)))
    assert split_train_eval(rows, list(range(len(rows))), 0.1, seed=3) == split


def test_files_too_big_for_the_eval_share_stay_in_training():
    rows = rows_in_files({"big.py": 40, "small.py": 2})
    split = split_train_eval(rows, list(range(len(rows))), 0.1, seed=0)
    # big.py (40 rows) exceeds twice the 5-row share; small.py fits and is held out whole.
    assert split.by == "path" and {rows[i]["path"] for i in split.eval} == {"small.py"}
    one_file = split_train_eval(rows[:40], list(range(40)), 0.1, seed=0)
    assert one_file.by == "row" and len(one_file.eval) == 4


def test_rows_without_paths_are_drawn_one_by_one():
    no_paths = [{"prompt": "p", "completion": "c"} for _ in range(10)]
    by_row = split_train_eval(no_paths, list(range(10)), 0.2, seed=0)
    assert by_row.by == "row" and len(by_row.eval) == 2 and len(by_row.train) == 8


def test_only_usable_rows_are_split():
    rows = rows_in_files({"a.py": 3, "b.py": 3})
    split = split_train_eval(rows, [0, 1, 3, 4], 0.5, seed=0)
    assert sorted(split.train + split.eval) == [0, 1, 3, 4]


@pytest.mark.parametrize("usable", [[], [0]])
def test_too_few_rows_to_split_is_a_clear_error(usable):
    rows = rows_in_files({"a.py": 1})
    with pytest.raises(RepotuneError, match="too few to hold out an eval split") as err:
        split_train_eval(rows, usable, 0.1, seed=0)
    assert "train.eval_fraction" in str(err.value)
