"""Augmentation: mutation operators, renaming, docstring/format variants, test verification."""

from __future__ import annotations

import ast
import textwrap
from collections import Counter
from dataclasses import replace

import pytest

from repotune.augment import (
    OPERATORS,
    augment_units,
    checkout,
    materialize,
    mutate,
    repair_sample,
)
from repotune.augment.code import parse_unit, shape
from repotune.augment.docstring import docstring_variant, normalised, reformat
from repotune.augment.mutations import Mutant, mutants
from repotune.augment.rename import Renamed, rename_locals
from repotune.augment.verify import matches, reported_failures, run_tests
from repotune.config import MUTATION_OPERATORS, AugmentConfig, SourceConfig, config_from_dict
from repotune.errors import ConfigError, RepotuneError
from repotune.parsing.extract import extract_snapshot
from repotune.records import CodeUnit
from repotune.sources.git import resolve_snapshot
from tests.conftest import git, make_repo


def unit(code: str, *, kind: str = "function", language: str = "python", uid: str = "") -> CodeUnit:
    code = textwrap.dedent(code).lstrip("\n") if kind == "function" else code
    return CodeUnit(
        repo="r", commit="c", path="pkg/m.py", language=language, kind=kind,  # type: ignore[arg-type]
        qualname="f", signature="", docstring="", header="", body="", code=code, imports="",
        enclosing="", start_line=10, end_line=10 + code.count("\n"), id=uid,
    )  # fmt: skip


SUITABLE = {
    "off_by_one": (
        "def f(xs):\n    return xs[1:] if len(xs) > 2 else xs\n",
        ("xs[0:]", "xs[2:]", "> 1", "> 3"),
    ),
    "flip_comparison": ("def f(a, b):\n    return a < b\n", ("a <= b",)),
    "swap_operator": ("def f(a, b):\n    return a + b\n", ("a - b",)),
    "swap_arguments": ("def f(a, b):\n    return pow(a, b)\n", ("pow(b, a)",)),
    "drop_statement": ("def f(a):\n    a.sort()\n    return a\n", ("def f(a):\n    return a",)),
    "wrong_return": (
        "def f(a, b):\n    return a == b\n",
        ("return None", "return not", "return a"),
    ),
}


@pytest.mark.parametrize("operator", list(OPERATORS))
def test_each_operator_makes_a_parsing_different_mutant(operator):
    code, expected = SUITABLE[operator]
    original = unit(code)
    mutant = mutate(original, operator)
    assert isinstance(mutant, Mutant), mutant
    assert shape(parse_unit(mutant.code)) != shape(parse_unit(original.code))
    assert any(text in mutant.code for text in expected), mutant.code
    assert mutant.site_line == 11  # the body's line in the file, not the signature's
    assert mutate(original, operator) == mutant  # deterministic


def test_operators_find_no_site_in_an_unsuitable_unit_and_count_it():
    plain = unit('def f():\n    """Return 5, a literal."""\n    print("x = 5 [3]")\n')
    drops: Counter[str] = Counter()
    assert mutants(plain, list(OPERATORS), 2, drops) == []
    assert drops == Counter({"augment:no_site": len(OPERATORS)})


def test_a_no_op_mutation_is_discarded_with_its_reason():
    assert mutate(unit("def f(a):\n    return g(a, a)\n"), "swap_arguments") == "no_op"


def test_mutations_stay_out_of_the_docstring_decorators_and_nested_returns():
    code = '''
    @cache(1, 2)
    def f(a):
        """Uses 3 < 4."""
        def inner():
            return 1
        return inner
    '''
    original = unit(code)
    assert mutate(original, "flip_comparison") == "no_site"
    assert mutate(original, "swap_arguments") == "no_site"
    wrong = mutate(original, "wrong_return")
    assert isinstance(wrong, Mutant) and "return 1" in wrong.code
    assert "return inner" not in wrong.code


def test_methods_keep_their_indentation_and_never_return_self():
    method = unit(
        "    def size(self, items):\n        return len(items) - 1\n", kind="method", uid="m1"
    )
    wrong = mutate(method, "wrong_return")
    assert isinstance(wrong, Mutant)
    assert wrong.code.startswith("    def size(self, items):\n        return ")
    assert "return self" not in wrong.code


def test_configured_operators_are_the_implemented_ones():
    assert tuple(OPERATORS) == MUTATION_OPERATORS
    with pytest.raises(ValueError, match="more than once"):
        AugmentConfig(operators=["off_by_one", "off_by_one"])
    with pytest.raises(ConfigError, match="augment.operators"):
        config_from_dict({"augment": {"operators": ["delete_everything"]}})


RENAMABLE = '''
    def total(self, items, limit=3):
        """Sum the items up to a limit."""
        acc = 0  # running total
        for i, item in enumerate(items):
            if i >= limit:
                break
            acc += item * self.scale + OFFSET
        squares = [x * x for x in items]
        return acc + len(squares)
'''


def test_rename_keeps_the_program_modulo_local_names():
    method = unit(textwrap.indent(textwrap.dedent(RENAMABLE), "    "), kind="method", uid="u1")
    renamed = rename_locals(method)
    assert isinstance(renamed, Renamed)
    assert set(renamed.mapping) == {"acc", "i", "item", "squares", "x"}
    assert "# running total" in renamed.code  # comments and layout kept
    for kept in ("self", "items", "limit", "scale", "OFFSET", "enumerate", "total"):
        assert kept in renamed.code
    tree = parse_unit(renamed.code)
    back = {new: old for old, new in renamed.mapping.items()}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            node.id = back.get(node.id, node.id)
    assert shape(tree) == shape(parse_unit(method.code))
    assert rename_locals(method) == renamed  # deterministic per unit id


def test_rename_leaves_escaping_shared_and_introspected_names_alone():
    escaping = unit("def f(ys):\n    found = [x for x in ys]\n    return x, found\n")
    renamed = rename_locals(escaping)
    assert isinstance(renamed, Renamed) and set(renamed.mapping) == {"found"}
    shared = unit(
        "def f():\n    n = 0\n    def bump():\n        nonlocal n\n        n += 1\n"
        "    class K:\n        size = 2\n    size = K.size\n    bump()\n    return n + size\n"
    )
    assert rename_locals(shared) == "no_site"
    assert rename_locals(unit("def f():\n    a = 1\n    return locals()\n")) == "no_site"
    debug = unit('def f(a):\n    size = len(a)\n    extra = 2\n    return f"{size=}", extra\n')
    renamed = rename_locals(debug)  # renaming `size` would change what the f-string prints
    assert isinstance(renamed, Renamed) and set(renamed.mapping) == {"extra"}
    assert 'f"{size=}"' in renamed.code


def test_docstring_variant_rewords_only_the_docstring():
    original = unit(
        'def f(a):\n    """Return the double of a."""\n    return a * 2  # doubled\n', uid="d"
    )
    seen = set()
    for uid in "abcdefgh":
        variant = docstring_variant(unit(original.code, uid=uid))
        assert not isinstance(variant, str), variant
        first, docstring, rest = variant.code.split("\n", 2)
        assert docstring != '    """Return the double of a."""'
        assert first == "def f(a):" and variant.code.endswith("\n    return a * 2  # doubled\n")
        seen.add(docstring.strip())
    assert seen == {
        '"""Returns the double of a."""',
        '"""Return the double of a"""',
        '"""Return the double of a.',  # closing quotes wrapped onto their own line
    }
    assert docstring_variant(unit("def f():\n    return 1\n")) == "no_docstring"
    quoted = unit('def f():\n    """Check it is "sane"."""\n    return 1\n', uid="q")
    for uid in "abcdef":  # never drops the period into the closing quotes: `"sane""""`
        assert not isinstance(docstring_variant(replace(quoted, id=uid)), str)


def test_reformat_normalises_layout_and_keeps_the_tree():
    messy = unit("def f( a,b ):\n    # sum\n    return (a+b)\n")
    variant = reformat(messy)
    assert not isinstance(variant, str)
    assert variant.code == "def f(a, b):\n    return a + b\n"
    assert shape(parse_unit(variant.code)) == shape(parse_unit(messy.code))
    assert reformat(unit(variant.code)) == "no_op"


def test_pytest_summary_lines_become_related_test_names():
    output = (
        "F\n=== short test summary info ===\n"
        "FAILED tests/test_a.py::TestA::test_x[1-2] - assert 1 == 2\n"
        "FAILED tests/test_a.py::TestA::test_x[3-4] - assert 3 == 4\n"
        "ERROR tests/test_b.py::test_y - fixture 'db' not found\n"
    )
    assert reported_failures(output) == ("tests/test_a.py::TestA.test_x", "tests/test_b.py::test_y")


def test_units_without_tests_are_kept_parse_only_and_other_languages_counted():
    go = unit("func f() int {\n\treturn 1\n}\n", language="go")
    py = unit('def f(a, b):\n    """Return the sum."""\n    return a + b\n', uid="p")
    result = augment_units([go, py], None, AugmentConfig(mutants_per_unit=1))
    assert result.drops["augment:language_not_supported"] == 1
    assert {v.kind for v in result.variants} == {"docstring"}  # no locals; already normalised
    assert [p.verified for p in result.repair_pairs] == ["parse_only"]
    assert result.test_runs == 0
    assert augment_units([py], None, AugmentConfig(enabled=False)).variants == []


MATHX = '''"""Small numeric helpers."""


def clamp(v, lo, hi):
    """Return v limited to the closed range [lo, hi]."""
    if lo > hi:
        raise ValueError(hi, lo)
    ordered = sorted((lo, v, hi))  # the median is the clamped value
    return ordered[1]


def triple(x):
    """Return three times x."""
    return x * 2
'''
TESTS = """from pkg.mathx import clamp, triple


def test_clamp_inside():
    assert clamp(5, 0, 10) == 5


def test_clamp_edges():
    assert clamp(-3, 0, 10) == 0
    assert clamp(2, 2, 2) == 2


def test_triple():
    assert triple(2) == 6
"""


@pytest.fixture
def mathx_repo(tmp_path):
    files = {"pkg/__init__.py": "", "pkg/mathx.py": MATHX, "tests/test_mathx.py": TESTS}
    repo = make_repo(tmp_path / "repo", files)
    snapshot = resolve_snapshot(str(repo))
    units = {u.qualname: u for u in extract_snapshot(snapshot, SourceConfig()).units}
    return repo, snapshot.commit, units


def test_related_tests_decide_what_is_kept(mathx_repo):
    repo, commit, units = mathx_repo
    clamp, triple = units["clamp"], units["triple"]
    assert set(clamp.related_tests) == {
        "tests/test_mathx.py::test_clamp_edges",
        "tests/test_mathx.py::test_clamp_inside",
    }
    cfg = AugmentConfig(operators=["flip_comparison", "swap_arguments"], mutants_per_unit=2)
    with checkout(repo, commit) as root:
        original = (root / "pkg/mathx.py").read_bytes()
        result = augment_units([clamp, triple], root, cfg)
        assert (root / "pkg/mathx.py").read_bytes() == original
        assert run_tests(root, clamp.related_tests, 60).outcome == "passed"
        assert matches(root, clamp)

    [pair] = result.repair_pairs  # the flipped comparison; the swapped arguments survived
    assert pair.unit_id == clamp.id and pair.operator == "flip_comparison"
    assert pair.failing_tests == ("tests/test_mathx.py::test_clamp_edges",)
    assert pair.verified == "tests" and pair.site_line == 6
    assert "if lo >= hi:" in pair.buggy and pair.fixed == normalised(clamp)
    assert result.drops["augment:mutant_survived"] == 1

    by_unit = {(v.unit_id, v.kind): v for v in result.variants}
    for kind in ("rename", "docstring", "reformat"):
        assert by_unit[(clamp.id, kind)].verified == "tests"
    assert "ordered" not in by_unit[(clamp.id, "rename")].code
    # triple's own test fails in the checkout: nothing can be verified, its variants fall back
    assert result.unverified == Counter({"augment:tests_fail_on_original": 1})
    assert by_unit[(triple.id, "docstring")].verified == "parse_only"
    assert result.test_runs == 1 + 3 + 2 + 1

    sample = repair_sample(pair, clamp, "train")
    assert sample.prompt == f"Fix the bug in this python function.\n{pair.buggy}"
    assert (sample.source_id, sample.path, sample.split) == (clamp.id, "pkg/mathx.py", "train")
    assert sample.labels["failing_tests"] == "tests/test_mathx.py::test_clamp_edges"


def test_verification_is_bounded_and_leaves_the_repository_alone(mathx_repo, tmp_path):
    repo, commit, units = mathx_repo
    worktrees = git(repo, "worktree", "list")
    with checkout(repo, commit) as root:
        result = augment_units(units.values(), root, AugmentConfig(max_verified_units=0))
    assert result.test_runs == 0
    assert result.unverified == Counter({"augment:verify_limit": 2})
    assert {p.verified for p in result.repair_pairs} == {"parse_only"}
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "worktree", "list") == worktrees
    with pytest.raises(RepotuneError, match="cannot write commit"):
        materialize(repo, "0" * 40, tmp_path / "nowhere")


def test_a_test_run_past_its_timeout_counts_as_tests_timeout(tmp_path):
    files = {
        "slow.py": "import time\n\n\ndef nap(s):\n    time.sleep(s)\n    return s\n",
        "tests/test_slow.py": "from slow import nap\n\n\ndef test_nap():\n    nap(30)\n",
    }
    repo = make_repo(tmp_path / "slow", files)
    snapshot = resolve_snapshot(str(repo))
    [nap] = [u for u in extract_snapshot(snapshot, SourceConfig()).units if u.qualname == "nap"]
    with checkout(repo, snapshot.commit) as root:
        result = augment_units([nap], root, AugmentConfig(test_timeout_s=1))
    assert result.unverified == Counter({"augment:tests_timeout": 1})
    assert result.test_seconds < 10


def test_a_spent_time_budget_leaves_the_remaining_units_parse_only(mathx_repo):
    repo, commit, units = mathx_repo
    with checkout(repo, commit) as root:
        result = augment_units(units.values(), root, AugmentConfig(verify_budget_s=0))
    assert result.test_runs == 0
    assert result.unverified == Counter({"augment:verify_budget": 2})
