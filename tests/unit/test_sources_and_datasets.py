from pathlib import Path

import pytest

from repotune.config import BaseModelConfig, DatasetConfig, SourceConfig
from repotune.datasets.build import (
    build_completion_dataset,
    build_units_dataset,
    pretraining_corpus,
    split_rows,
)
from repotune.datasets.completion import split_files
from repotune.errors import SourceError
from repotune.parsing.extract import extract_snapshot
from repotune.sources.git import list_tracked_files, resolve_snapshot
from repotune.workspace import Workspace
from tests.conftest import git

FUNC = 'def {name}(a, b):\n    """Add {name}."""\n    total = a + b\n    return total * {k}\n'


def repo_files(n: int) -> dict[str, str]:
    return {f"pkg/m{i}.py": FUNC.format(name=f"f{i}", k=i) for i in range(n)}


def test_snapshot_errors_are_one_sentence(tmp_path: Path):
    with pytest.raises(SourceError, match="does not exist"):
        resolve_snapshot(str(tmp_path / "missing"))
    with pytest.raises(SourceError, match="not a git repository"):
        resolve_snapshot(str(tmp_path))


def test_only_tracked_files_at_the_ref_are_read(repo_factory):
    repo = repo_factory({"a.py": FUNC.format(name="a", k=1), "notes.txt": "x"})
    first = resolve_snapshot(str(repo))
    (repo / "untracked.py").write_text(FUNC.format(name="u", k=2))
    (repo / "a.py").write_text("uncommitted = True\n")
    files = list_tracked_files(first, ["*.py"])
    assert [f.path for f in files] == ["a.py"]
    extraction = extract_snapshot(first, SourceConfig(repo=str(repo)))
    assert [u.qualname for u in extraction.units] == ["a"]
    git(repo, "add", "untracked.py")
    git(repo, "commit", "-qm", "add u")
    assert resolve_snapshot(str(repo), "HEAD~1").commit == first.commit
    assert resolve_snapshot(str(repo)).commit != first.commit


def test_bad_files_are_dropped_with_reasons(repo_factory):
    repo = repo_factory(
        {
            "good.py": FUNC.format(name="g", k=1),
            "latin1.py": "s = 'caf\xe9'\n".encode("latin-1"),
            "broken.py": "def oops(:\n",
            "blob.py": b"\x00\x01binary",
            "big.py": "x = 1\n" * 5000,
            "vendor/skip.py": FUNC.format(name="v", k=3),
        }
    )
    cfg = SourceConfig(repo=str(repo), max_file_bytes=20_000, exclude=["vendor/*"])
    extraction = extract_snapshot(resolve_snapshot(str(repo)), cfg)
    assert [u.qualname for u in extraction.units] == ["g"]
    assert extraction.files_seen == 5
    assert dict(extraction.drops) == {
        "file_non_utf8": 1,
        "file_syntax_error": 1,
        "file_binary": 1,
        "file_too_large": 1,
    }


def test_repository_without_functions_is_a_clear_error(repo_factory):
    repo = repo_factory({"README.md": "# hi\n", "c.py": "X = 1\n"})
    with pytest.raises(SourceError, match="no Python functions"):
        extract_snapshot(resolve_snapshot(str(repo)), SourceConfig(repo=str(repo)))


def test_file_split_is_deterministic_disjoint_and_never_empty():
    paths = [f"f{i}.py" for i in range(50)]
    splits = split_files(paths, 0.2, "s")
    assert splits == split_files(list(reversed(paths)), 0.2, "s")
    assert 3 <= list(splits.values()).count("test") <= 20
    more = split_files([*paths, "new.py"], 0.2, "s")
    assert all(more[p] == splits[p] for p in paths)
    assert set(split_files(["a.py", "b.py"], 0.01, "s").values()) == {"train", "test"}
    assert set(split_files(["a.py", "b.py"], 0.99, "s").values()) == {"train", "test"}


def test_datasets_are_content_addressed_and_split_by_file(repo_factory, tmp_path):
    repo = repo_factory(repo_files(10))
    ws = Workspace.at(tmp_path / "ws")
    snapshot = resolve_snapshot(str(repo))
    units = build_units_dataset(snapshot, SourceConfig(repo=str(repo)), ws)
    assert units.manifest["units"] == 10 and units.manifest["files_parsed"] == 10
    again = build_units_dataset(snapshot, SourceConfig(repo=str(repo)), ws)
    assert again == units
    completion = build_completion_dataset(units, DatasetConfig(), ws)
    manifest = completion.manifest
    assert manifest["rows"]["train"] + manifest["rows"]["test"] == 10
    assert manifest["rows"]["test"] >= 1
    train, test = split_rows(completion, "train"), split_rows(completion, "test")
    assert {r["path"] for r in train}.isdisjoint({r["path"] for r in test})
    corpus = pretraining_corpus(units, completion, BaseModelConfig(corpus="train_files"))
    assert len(corpus) == len({r["path"] for r in train})
    assert not any(r["completion"] in text for r in test for text in corpus)
    other = build_completion_dataset(units, DatasetConfig(split_salt="other"), ws)
    assert other.fingerprint != completion.fingerprint


def test_stdlib_corpus_never_holds_a_test_file(repo_factory, tmp_path, monkeypatch):
    repo = repo_factory(repo_files(6))
    ws = Workspace.at(tmp_path / "ws")
    units = build_units_dataset(resolve_snapshot(str(repo)), SourceConfig(repo=str(repo)), ws)
    completion = build_completion_dataset(units, DatasetConfig(), ws)
    test_path = next(r["path"] for r in completion.read("files") if r["split"] == "test")
    train_path = next(r["path"] for r in completion.read("files") if r["split"] == "train")
    text_of = {r["path"]: r["text"] for r in units.read("files")}
    vendored = [text_of[test_path], text_of[train_path], "def stdlib_only():\n    pass\n"]
    monkeypatch.setattr("repotune.datasets.build.stdlib_corpus", lambda max_bytes: vendored)
    corpus = pretraining_corpus(units, completion, BaseModelConfig())
    assert corpus == vendored[1:]
