"""History mining: scripted git repositories in; classified change pairs and counted drops out.

Fake credentials are assembled at run time (prefix + seeded random body) so that this file holds
no string a secret scanner would flag.
"""

from __future__ import annotations

import os
import random
import string
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from repotune.config import HistoryConfig, SourceConfig
from repotune.errors import SourceError
from repotune.history import HistoryStore, mine_history
from repotune.history import mine as mine_module
from repotune.history.classify import (
    adds_structure,
    classify,
    docstring_only,
    formatting_only,
    message_intent,
    rename_only,
)
from repotune.parsing.blob_cache import BlobCache
from repotune.parsing.extract import extract_snapshot
from repotune.sources.git import resolve_snapshot
from tests.conftest import git

AWS_KEY = "AKIA" + "".join(random.Random(3).choices(string.ascii_uppercase + string.digits, k=16))

CALC = '''def in_range(x, n):
    """True when x is a valid index."""
    return x < n


def double(v):
    return v * 2
'''


def commit(
    repo: Path,
    files: dict[str, str | None],
    message: str,
    day: int,
    author: tuple[str, str] = ("Dev", "dev@example.com"),
) -> str:
    """Write (or with None delete) ``files`` and commit them on 2025-01-``day`` at noon UTC."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q", "-b", "main")
    for name, content in files.items():
        path = repo / name
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    date = f"2025-01-{day:02d}T12:00:00Z"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": author[0],
        "GIT_COMMITTER_EMAIL": author[1],
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    for args in (["add", "-A"], ["commit", "-q", "--allow-empty", "-m", message]):
        subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True)
    return git(repo, "rev-parse", "HEAD")


def mine(repo: Path, store: HistoryStore | None = None, cache=None, **history):
    return mine_history(
        resolve_snapshot(str(repo)),
        SourceConfig(),
        HistoryConfig(**history),
        cache,
        store,
    )


def test_a_fix_commit_yields_one_bugfix_pair_with_both_sides_and_the_message(tmp_path):
    repo = tmp_path / "repo"
    base = commit(repo, {"calc.py": CALC, "README.md": "calc\n"}, "initial", day=1)
    fix = commit(repo, {"calc.py": CALC.replace("x < n", "x <= n")}, "fix: off by one", day=2)
    result = mine(repo)
    assert result.commits_walked == 2 and result.last_commit == fix and not result.shallow
    assert result.drops["commit_root"] == 1
    [pair] = result.pairs
    assert (pair.kind, pair.qualname, pair.path, pair.language) == (
        "bugfix",
        "in_range",
        "calc.py",
        "python",
    )
    assert "return x < n" in pair.before and "return x <= n" in pair.after
    assert pair.before.startswith("def in_range(x, n):") and "<=" not in pair.before
    assert (pair.commit, pair.parent, pair.message) == (fix, base, "fix: off by one")
    assert pair.committed_at == "2025-01-02T12:00:00Z" and pair.repo == str(repo.resolve())


TOTAL = "def total(items):\n    acc = 0\n    for i in items:\n        acc += i\n    return acc\n"


def test_a_local_rename_is_a_refactor_even_when_the_message_says_update(tmp_path):
    repo = tmp_path / "repo"
    commit(repo, {"m.py": TOTAL}, "init", 1)
    commit(
        repo,
        {"m.py": TOTAL.replace("acc", "s").replace("i ", "it ").replace("= i", "= it")},
        "update",
        2,
    )
    [pair] = mine(repo).pairs
    assert pair.kind == "refactor" and "s += it" in pair.after


def test_reindenting_and_commenting_is_dropped_as_formatting_only(tmp_path):
    repo = tmp_path / "repo"
    commit(repo, {"calc.py": CALC}, "init", 1)
    reformatted = CALC.replace("    return v * 2", "    # doubles\n    return (v *\n            2)")
    commit(repo, {"calc.py": reformatted}, "fix style", 2)
    result = mine(repo)
    assert result.pairs == []
    assert result.drops["pair_formatting_only"] == 1
    assert result.drops["commit_no_function_change"] == 1


def test_merges_reverts_and_bot_commits_are_dropped_with_their_reasons(tmp_path):
    repo = tmp_path / "repo"
    commit(repo, {"calc.py": CALC}, "init", 1)
    git(repo, "checkout", "-q", "-b", "side")
    side = commit(repo, {"calc.py": CALC.replace("v * 2", "v * 3")}, "fix: triple", 2)
    git(repo, "checkout", "-q", "main")
    commit(repo, {"other.py": "def g(a):\n    return a\n"}, "add g", 3)
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge branch side", "side")
    commit(repo, {"calc.py": CALC}, 'Revert "fix: triple"\n\nThis reverts commit ' + side, 4)
    bot = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
    commit(repo, {"calc.py": CALC.replace("x < n", "x != n")}, "fix: bump", 5, author=bot)
    result = mine(repo)
    assert result.drops["commit_merge"] == 1
    assert result.drops["commit_revert"] == 1
    assert result.drops["commit_bot_author"] == 1
    assert result.pairs == [] and result.commits_walked == 5  # the side commit is not first-parent
    commit_reasons = sum(n for reason, n in result.drops.items() if reason.startswith("commit_"))
    assert commit_reasons == result.commits_walked


def test_a_commit_changing_more_lines_than_max_diff_lines_is_oversized(tmp_path):
    repo = tmp_path / "repo"
    body = "".join(f"    x{i} = a + {i}\n" for i in range(12))
    commit(repo, {"m.py": f"def f(a):\n{body}    return a\n"}, "init", 1)
    commit(repo, {"m.py": f"def f(a):\n{body.replace('+', '-')}    return a\n"}, "fix sign", 2)
    assert mine(repo, max_diff_lines=20).drops["commit_oversized"] == 1
    [pair] = mine(repo, max_diff_lines=30).pairs
    assert pair.kind == "bugfix"


@pytest.fixture
def five_days(tmp_path) -> tuple[Path, list[str]]:
    repo = tmp_path / "repo"
    shas = [
        commit(repo, {"calc.py": CALC.replace("* 2", f"* {day}")}, f"fix {day}", day)
        for day in range(1, 6)
    ]
    return repo, shas


def test_max_commits_since_and_stop_at_bound_the_walk(five_days):
    repo, shas = five_days
    assert mine(repo).commits_walked == 5
    capped = mine(repo, max_commits=2)
    assert capped.commits_walked == 2 and [p.commit for p in capped.pairs] == shas[:2:-1]
    recent = mine(repo, since="2025-01-04")
    assert recent.commits_walked == 2 and {p.commit for p in recent.pairs} == set(shas[3:])
    after = mine(repo, stop_at=shas[2])
    assert after.commits_walked == 2 and {p.commit for p in after.pairs} == set(shas[3:])
    empty = mine(repo, stop_at="HEAD")
    assert (empty.commits_walked, empty.pairs, empty.last_commit) == (0, [], None)


def test_bad_bounds_name_the_field(five_days):
    repo, _ = five_days
    with pytest.raises(SourceError, match="`history.stop_at`"):
        mine(repo, stop_at="no-such-branch")
    with pytest.raises(ValidationError, match="`since`"):
        HistoryConfig(since="last tuesday")


def test_a_secret_in_a_changed_function_never_reaches_a_pair(tmp_path):
    repo = tmp_path / "repo"
    commit(repo, {"conn.py": 'def connect(c):\n    return c.open("x")\n'}, "init", 1)
    leaked = f'def connect(c):\n    return c.open("x", key="{AWS_KEY}")\n'
    commit(repo, {"conn.py": leaked}, f"fix: pass key {AWS_KEY}", 2)
    [pair] = mine(repo).pairs
    assert "<SECRET:aws_access_key>" in pair.after and "<SECRET:aws_access_key>" in pair.message
    assert all(AWS_KEY not in str(value) for value in pair.to_dict().values())


def test_a_second_run_reads_mined_commits_from_the_store_and_diffs_only_new_ones(
    tmp_path, monkeypatch
):
    repo = tmp_path / "repo"
    commit(repo, {"calc.py": CALC}, "init", 1)
    commit(repo, {"calc.py": CALC.replace("x < n", "x <= n")}, "fix: off by one", 2)
    commit(repo, {"calc.py": CALC.replace("x < n", "x <= n").replace("* 2", "* 4")}, "fix: x4", 3)
    store = HistoryStore(tmp_path / "cache" / "history.sqlite")
    first = mine(repo, store)
    assert (first.commits_walked, first.commits_from_store, len(first.pairs)) == (3, 0, 2)

    text = CALC.replace("x < n", "x <= n").replace("* 2", "* 4")
    new = [
        commit(repo, {"calc.py": text.replace("* 4", "* 5")}, "fix: x5", 4),
        commit(repo, {"calc.py": text.replace("* 4", "* 6")}, "fix: x6", 5),
    ]
    diffed = []
    real = mine_module.changed_files
    monkeypatch.setattr(
        mine_module, "changed_files", lambda r, shas: diffed.extend(shas) or real(r, shas)
    )
    second = mine(repo, store)
    assert second.commits_from_store == first.commits_walked and sorted(diffed) == sorted(new)
    fresh = mine(repo)
    assert second.pairs == fresh.pairs and second.drops == fresh.drops
    assert [p.commit for p in second.pairs[:2]] == new[::-1]


def test_a_killed_run_keeps_the_batches_it_finished(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    commit(repo, {"calc.py": CALC}, "init", 1)
    for day in (2, 3, 4):
        commit(repo, {"calc.py": CALC.replace("* 2", f"* {day}")}, f"fix {day}", day)
    store = HistoryStore(tmp_path / "history.sqlite")
    monkeypatch.setattr(mine_module, "BATCH_COMMITS", 2)
    real = mine_module._mine_batch
    calls = []

    def dies_on_second_batch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(mine_module, "_mine_batch", dies_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        mine(repo, store)
    monkeypatch.setattr(mine_module, "_mine_batch", real)
    resumed = mine(repo, store)
    assert resumed.commits_from_store == 2 and resumed.pairs == mine(repo).pairs


def test_a_shallow_clone_counts_its_boundary_commit(five_days, tmp_path):
    repo, shas = five_days
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "2", f"file://{repo}", str(clone)],
        check=True,
        capture_output=True,
    )
    result = mine(clone)
    assert result.shallow and result.commits_walked == 2
    assert result.drops["commit_shallow_boundary"] == 1 and "commit_root" not in result.drops
    assert [p.commit for p in result.pairs] == [shas[-1]]


@pytest.mark.parametrize(
    ("path", "before", "after", "language"),
    [
        (
            "src/util.js",
            "function clamp(v, hi) {\n  return v > hi ? hi : v;\n}\n",
            "function clamp(v, hi) {\n  return v >= hi ? hi : v;\n}\n",
            "javascript",
        ),
        (
            "util.go",
            "package util\n\nfunc Clamp(v int, hi int) int {\n\tif v > hi {\n\t\treturn hi\n\t}\n"
            "\treturn v\n}\n",
            "package util\n\nfunc Clamp(v int, hi int) int {\n\tif v >= hi {\n\t\treturn hi\n\t}\n"
            "\treturn v\n}\n",
            "go",
        ),
    ],
)
def test_other_languages_yield_pairs_in_their_language(tmp_path, path, before, after, language):
    repo = tmp_path / "repo"
    commit(repo, {path: before}, "init", 1)
    commit(repo, {path: after}, "fix boundary", 2)
    [pair] = mine(repo).pairs
    assert (pair.language, pair.kind, pair.path) == (language, "bugfix", path)
    assert ">=" in pair.after and ">=" not in pair.before


def test_blobs_parsed_by_extraction_are_not_parsed_again(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    commit(repo, {"calc.py": CALC}, "init", 1)
    commit(repo, {"calc.py": CALC.replace("x < n", "x <= n")}, "fix: off by one", 2)
    cache = BlobCache(tmp_path / "blobs.sqlite")
    extract_snapshot(resolve_snapshot(str(repo)), SourceConfig(), cache)
    parsed = []
    real = mine_module.process_blob
    monkeypatch.setattr(
        mine_module, "process_blob", lambda raw, path: parsed.append(raw) or real(raw, path)
    )
    assert len(mine(repo, cache=cache).pairs) == 1
    assert parsed == [CALC.encode()]  # only the old side; HEAD's blob came from the cache
    assert len(mine(repo, cache=cache).pairs) == 1 and len(parsed) == 1


def test_a_renamed_and_edited_file_pairs_under_its_new_path(tmp_path):
    repo = tmp_path / "repo"
    commit(repo, {"old.py": CALC}, "init", 1)
    commit(repo, {"old.py": None, "new.py": CALC.replace("x < n", "x <= n")}, "fix: move", 2)
    [pair] = mine(repo).pairs
    assert (pair.path, pair.kind) == ("new.py", "bugfix")


# ---- classify on snippets -------------------------------------------------------------------

LT = "def f(a, b):\n    return a < b\n"
METHOD = "    def m(self, x):\n        y = x + 1\n        return y\n"


@pytest.mark.parametrize(
    ("before", "after", "language", "expected"),
    [
        (LT, "def f(a, b):\n    # compare\n    return (a <\n            b)\n", "python", True),
        (
            METHOD,
            METHOD.replace("        y = x + 1\n", "        y = x + 1  # inc\n"),
            "python",
            True,
        ),
        (LT, LT.replace("<", "<="), "python", False),
        (LT, LT.replace("):\n", '):\n    """Doc."""\n'), "python", False),
        ("f(a) {\n  return a+1; // x\n}", "f(a) {\n  /* y */ return a + 1;\n}", "javascript", True),
        ('f() {\n  return "a b";\n}', 'f() {\n  return "a  b";\n}', "javascript", False),
    ],
)
def test_formatting_only(before, after, language, expected):
    assert formatting_only(before, after, language) is expected


@pytest.mark.parametrize(
    ("before", "after", "language", "expected"),
    [
        (METHOD, METHOD.replace("y", "result"), "python", True),
        (LT, "def f(lo, hi):\n    return lo < hi\n", "python", True),
        (LT, "def f(a, b):\n    return b < a\n", "python", False),  # swapped operands
        (
            "def f(x):\n    return sorted(x)\n",
            "def f(x):\n    return reversed(x)\n",
            "python",
            False,
        ),
        ("def f(x):\n    return x.lower()\n", "def f(x):\n    return x.upper()\n", "python", False),
        (
            "def f():\n    return totl\n",
            "def f():\n    total = 0\n    return total\n",
            "python",
            False,
        ),
        (
            "func f(n int) int {\n\tv := n\n\treturn v\n}",
            "func f(n int) int {\n\tw := n\n\treturn w\n}",
            "go",
            True,
        ),
        ("func f(n int) int {\n\treturn n\n}", "func f(n int64) int {\n\treturn n\n}", "go", False),
        (
            "function f(x) { return foo(x); }",
            "function f(x) { return bar(x); }",
            "javascript",
            False,
        ),
        ("function f(x) { return x.a; }", "function f(x) { return x.b; }", "javascript", False),
    ],
)
def test_rename_only(before, after, language, expected):
    assert rename_only(before, after, language) is expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("fix: off by one", "bugfix"),
        ("Add a guard to fix the crash on empty input", "bugfix"),
        ("feat(api)!: new endpoint", "feature"),
        ("docs: fix typo", None),
        ("Clean up the parser", "refactor"),
        ("Rename helpers", "refactor"),
        ("Implement retries", "feature"),
        ("update", None),
        ("Remove prefix handling\n\nfixes nothing", None),  # subject only; no 'move' in 'remove'
    ],
)
def test_message_intent(message, expected):
    assert message_intent(message) == expected


RETRY = "def get(url):\n    return fetch(url)\n"
RETRY_MORE = (
    "def get(url):\n    r = fetch(url)\n    if r is None:\n        r = fetch(url)\n    return r\n"
)


@pytest.mark.parametrize(
    ("before", "after", "message", "expected"),
    [
        (LT, LT.replace("<", "<="), "fix: off by one", "bugfix"),
        (LT, LT.replace("<", "<="), "update", "other"),
        (METHOD, METHOD.replace("y", "z"), "feat: add a new option", "refactor"),  # code wins
        (METHOD, METHOD.replace("y", "z"), "fix: naming", "refactor"),
        (LT, LT.replace("):\n", '):\n    """Compare."""\n'), "fix typo", "other"),  # docstring
        (RETRY, RETRY_MORE, "Add retry support", "feature"),
        (LT, LT.replace("<", ">"), "Add support for descending", "other"),  # no new structure
        (LT, LT.replace("<", ">"), "refactor comparison", "refactor"),
    ],
)
def test_classify_precedence(before, after, message, expected):
    assert classify(before, after, "python", message) == expected


def test_docstring_only_and_adds_structure():
    assert docstring_only(
        LT.replace("):\n", '):\n    """A."""\n'), LT.replace("):\n", '):\n    """B."""\n'), "python"
    )
    assert not docstring_only(LT, LT.replace("<", "<="), "python")
    assert adds_structure(RETRY, RETRY_MORE, "python")
    assert not adds_structure(RETRY_MORE, RETRY, "python")
    js_before = "function f(x) {\n  return g(x);\n}"
    js_after = "function f(x) {\n  if (!x) {\n    return null;\n  }\n  return g(x);\n}"
    assert adds_structure(js_before, js_after, "javascript")
