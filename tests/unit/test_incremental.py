"""Incremental extraction: results are reused by blob hash, and only changed files are parsed."""

from repotune.config import SourceConfig
from repotune.parsing import extract
from repotune.parsing.blob_cache import BlobCache
from repotune.parsing.extract import extract_snapshot
from repotune.sources.git import resolve_snapshot
from tests.conftest import git, make_repo

FUNC = 'def f{i}(a):\n    """Double {i}."""\n    return a * {i}\n'


def snapshot_units(extraction):
    return sorted((u.path, u.qualname, u.code, u.id) for u in extraction.units)


def test_second_commit_reparses_only_the_changed_file(tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "repo", {f"m{i}.py": FUNC.format(i=i) for i in range(20)})
    cache = BlobCache(tmp_path / "cache.sqlite")
    source = SourceConfig()
    first = extract_snapshot(resolve_snapshot(str(repo)), source, cache)
    assert first.files_cached == 0

    make_repo(repo, {"m3.py": FUNC.format(i=3) + "\n\ndef g(b):\n    return -b\n"}, "edit m3")
    parsed = []
    real = extract.process_blob
    monkeypatch.setattr(
        extract, "process_blob", lambda raw, path: parsed.append(path) or real(raw, path)
    )
    second = extract_snapshot(resolve_snapshot(str(repo)), source, cache)
    assert second.files_cached == 19 and len(parsed) == 1
    uncached = extract_snapshot(resolve_snapshot(str(repo)), source, None)
    assert snapshot_units(second) == snapshot_units(uncached)
    assert {u.commit for u in second.units} == {git(repo, "rev-parse", "HEAD")}


def test_a_renamed_file_reuses_its_result_under_its_new_path(tmp_path):
    repo = make_repo(tmp_path / "repo", {"old.py": FUNC.format(i=1), "b.py": FUNC.format(i=2)})
    cache = BlobCache(tmp_path / "cache.sqlite")
    extract_snapshot(resolve_snapshot(str(repo)), SourceConfig(), cache)
    git(repo, "mv", "old.py", "new.py")
    git(repo, "commit", "-qm", "rename")
    moved = extract_snapshot(resolve_snapshot(str(repo)), SourceConfig(), cache)
    assert moved.files_cached == 2
    assert sorted(u.path for u in moved.units) == ["b.py", "new.py"]


def test_dropped_files_are_cached_with_their_reason(tmp_path):
    repo = make_repo(tmp_path / "repo", {"ok.py": FUNC.format(i=1), "bad.py": "def (:\n"})
    cache = BlobCache(tmp_path / "cache.sqlite")
    cold = extract_snapshot(resolve_snapshot(str(repo)), SourceConfig(), cache)
    warm = extract_snapshot(resolve_snapshot(str(repo)), SourceConfig(), cache)
    assert warm.files_cached == 2
    assert cold.drops == warm.drops and warm.drops["file_syntax_error"] == 1


def test_a_new_extractor_version_does_not_read_old_results(tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "repo", {"a.py": FUNC.format(i=1)})
    cache = BlobCache(tmp_path / "cache.sqlite")
    extract_snapshot(resolve_snapshot(str(repo)), SourceConfig(), cache)
    monkeypatch.setitem(extract.EXTRACTOR_VERSIONS, "python", "py-next")
    again = extract_snapshot(resolve_snapshot(str(repo)), SourceConfig(), cache)
    assert again.files_cached == 0
