"""An incremental units dataset (unchanged files carried over) equals a full rebuild."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq

from repotune.config import SourceConfig
from repotune.datasets.units import build_units_dataset, plan_units
from repotune.parsing import extract
from repotune.sources.git import resolve_snapshot
from repotune.workspace import Workspace
from tests.conftest import git, make_repo

CORE = '''"""Core helpers."""


def scale(values, factor):
    """Multiply each value."""
    return [value * factor for value in values]


def shift(values, offset):
    """Add an offset."""
    return [value + offset for value in values]


class Stack:
    def push(self, item):
        self.items = getattr(self, "items", []) + [item]
        return len(self.items)
'''
TESTS = """from pkg.core import scale, shift


def test_scale():
    assert scale([1], 2) == [2]


def test_shift():
    assert shift([1], 1) == [2]
"""
MORE_TESTS = """from pkg import core
from pkg.util import helper, other


def test_push():
    stack = core.Stack()
    assert stack.push(1) == helper()
"""
CLAMP = "\n\ndef clamp(values, low):\n    '''Clamp.'''\n    return [max(v, low) for v in values]\n"
UTIL = (
    "def helper():\n    '''One.'''\n    return 1\n\n\ndef other():\n    '''Two.'''\n    return 2\n"
)


def _rows(ref, table: str, key: str) -> list[dict]:
    return sorted(pq.read_table(ref.table_path(table)).to_pylist(), key=lambda row: row[key])


def _same(incremental, full) -> None:
    assert _rows(incremental, "units", "id") == _rows(full, "units", "id")
    assert _rows(incremental, "files", "path") == _rows(full, "files", "path")
    assert _rows(incremental, "skipped", "path") == _rows(full, "skipped", "path")
    for field in ("units", "units_by_kind", "units_with_tests", "drops", "secrets_scrubbed"):
        assert incremental.manifest[field] == full.manifest[field], field
    assert incremental.manifest["carried_from"] and full.manifest["carried_from"] is None


def _full(repo, tmp_path, name: str):
    return build_units_dataset(
        [resolve_snapshot(str(repo))], SourceConfig(), Workspace.at(tmp_path / name)
    )


def test_edits_renames_and_deletions_match_a_full_rebuild(tmp_path):
    repo = make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/core.py": CORE,
            "pkg/util.py": UTIL,
            "pkg/extra.py": "def extra(x):\n    '''Extra.'''\n    return scale(x, 3)\n",
            "pkg/old.py": "def old(x):\n    '''Old.'''\n    return x - 1\n",
            "tests/test_core.py": TESTS,
            "tests/test_more.py": MORE_TESTS,
            "pkg/bad.py": "def broken(:\n",
        },
    )
    ws = Workspace.at(tmp_path / "ws")
    first = build_units_dataset([resolve_snapshot(str(repo))], SourceConfig(), ws)
    assert first.manifest["carried_from"] is None
    before = {row["qualname"]: row["related_tests"] for row in _rows(first, "units", "id")}
    assert (before["helper"], before["other"]) == (["tests/test_more.py::test_push"], [])

    # A new function an existing test calls, a test that now calls another function,
    # a deletion, a rename, a file that stops parsing and one that starts to.
    (repo / "pkg/core.py").write_text(CORE + CLAMP)
    (repo / "tests/test_core.py").write_text(
        TESTS.replace("shift([1], 1) == [2]", "clamp([1], 2) == [2]").replace(
            "import scale, shift", "import clamp, scale, shift"
        )
    )
    (repo / "tests/test_more.py").write_text(
        MORE_TESTS.replace("== helper()", "== other() - 1")
        + "\n\ndef test_clamp():\n    clamp([0], 1)\n"
    )
    (repo / "pkg/old.py").unlink()
    git(repo, "mv", "pkg/extra.py", "pkg/renamed.py")
    (repo / "pkg/bad.py").write_text("def fixed(x):\n    '''Fixed.'''\n    return x * 2\n")
    make_repo(repo, {"pkg/worse.py": "def worse(:\n"}, "edits")

    snapshot = resolve_snapshot(str(repo))
    plan = plan_units([snapshot], SourceConfig(), ws)
    assert plan.previous == first
    assert {item.path for item in plan.plans[0].wanted} == {
        "pkg/core.py",
        "tests/test_core.py",
        "tests/test_more.py",
        "pkg/renamed.py",
        "pkg/bad.py",
        "pkg/worse.py",
    }
    second = build_units_dataset([snapshot], SourceConfig(), ws)
    full = _full(repo, tmp_path, "full")
    _same(second, full)
    links = {row["qualname"]: row["related_tests"] for row in _rows(second, "units", "id")}
    assert links["clamp"] == ["tests/test_core.py::test_shift", "tests/test_more.py::test_clamp"]
    assert links["shift"] == []
    assert links["Stack.push"] == ["tests/test_more.py::test_push"]
    # pkg/util.py is carried over unchanged, yet its links follow the edited test.
    assert (links["helper"], links["other"]) == ([], ["tests/test_more.py::test_push"])
    assert {row["commit"] for row in _rows(second, "units", "id")} == {snapshot.commit}

    # A third commit carries from the second, itself carried.
    (repo / "tests/test_more.py").write_text(MORE_TESTS)
    make_repo(repo, {}, "drop a test")
    third = build_units_dataset([resolve_snapshot(str(repo))], SourceConfig(), ws)
    assert third.manifest["carried_from"] == second.fingerprint
    _same(third, _full(repo, tmp_path, "full3"))


def test_only_changed_files_are_parsed(tmp_path, monkeypatch):
    files = {f"pkg/m{i}.py": f"def f{i}(x):\n    '''F.'''\n    return x + {i}\n" for i in range(8)}
    repo = make_repo(tmp_path / "repo", files)
    ws = Workspace.at(tmp_path / "ws")
    build_units_dataset([resolve_snapshot(str(repo))], SourceConfig(), ws)
    shutil.rmtree(ws.root / "cache")  # carried files need neither git nor the blob cache
    parsed = []
    real = extract.process_blob
    monkeypatch.setattr(
        extract, "process_blob", lambda raw, path: parsed.append(path) or real(raw, path)
    )
    make_repo(repo, {"pkg/m3.py": "def f3(x):\n    '''F.'''\n    return x * 3\n"}, "edit")
    again = build_units_dataset([resolve_snapshot(str(repo))], SourceConfig(), ws)
    assert parsed == ["pkg/m3.py"]
    assert again.manifest["files_from_cache"] == 7 and again.manifest["units"] == 8
