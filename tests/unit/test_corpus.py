from pathlib import Path

from repotune.modeling.corpus import stdlib_corpus, stdlib_root


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_sorted_capped_and_skipping_test_suites(tmp_path):
    write(tmp_path, "b.py", "B = 2\n" * 10)
    write(tmp_path, "a.py", "A = 1\n" * 10)
    write(tmp_path, "test/test_a.py", "T = 0\n")
    write(tmp_path, "pkg/c.py", "C = 3\n" * 10)
    write(tmp_path, "empty.py", "\n")
    (tmp_path / "latin.py").write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    assert stdlib_corpus(10**6, tmp_path) == ["A = 1\n" * 10, "B = 2\n" * 10, "C = 3\n" * 10]
    assert stdlib_corpus(70, tmp_path) == ["A = 1\n" * 10, "B = 2\n" * 10]


def test_real_stdlib_is_a_usable_deterministic_corpus():
    texts = stdlib_corpus(200_000)
    assert 200_000 <= sum(map(len, texts)) < 200_000 + 150_000
    assert texts == stdlib_corpus(200_000)
    assert (stdlib_root() / "json" / "__init__.py").is_file()
