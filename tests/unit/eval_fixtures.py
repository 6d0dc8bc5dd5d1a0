"""A quickly built model and a tiny tested repository, for the pass@k evaluation tests.

The pass@k tests check mechanics (shapes, names, verdicts), not quality, so their model is the
tiny offline base pretrained for a single step: ~2 s to build instead of the ~45 s of the
pretrained ``tiny_base``. Built once per session and shared by the modules that import it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_fixtures import TINY_MODULE, base_cfg, function_rows

from tests.conftest import make_repo

_BUILT: dict[str, str] = {}

MATH_MODULE = '''\
def add(a, b):
    """Sum of a and b."""
    return a + b


def double(a):
    """Twice a, but the team's code is wrong."""
    return a * 3


class Box:
    """Holds things."""

    def size(self, n):
        """Twice n."""
        return n * 2
'''
MATH_TESTS = """\
from pkg.mathx import Box, add, double


def test_add():
    assert add(2, 3) == 5


def test_double():
    assert double(2) == 4


class TestBox:
    def test_size(self):
        assert Box().size(2) == 4
"""
TESTED_FILES = {
    "pkg/__init__.py": "",
    "pkg/mathx.py": MATH_MODULE,
    "tests/test_mathx.py": MATH_TESTS,
}
"""``add`` and ``Box.size`` pass their tests; ``double`` fails its own."""


@pytest.fixture(name="quick_base")
def fixture_quick_base(tmp_path_factory) -> str:
    """Path of an offline base pretrained for one step, built once per session."""
    if "base" not in _BUILT:
        from repotune.modeling.base import build_offline_base

        out = tmp_path_factory.mktemp("quick-base")
        corpus = [TINY_MODULE] + [r["prompt"] + r["completion"] for r in function_rows(TINY_MODULE)]
        build_offline_base(corpus, base_cfg(pretrain_steps=1), Path(out))
        _BUILT["base"] = str(out)
    return _BUILT["base"]


@pytest.fixture(name="tested_repo")
def fixture_tested_repo(tmp_path) -> Path:
    """A git repository whose module's functions have related tests."""
    return make_repo(tmp_path / "repo", TESTED_FILES)
