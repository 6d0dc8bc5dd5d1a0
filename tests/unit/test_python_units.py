import ast
from collections import Counter

import pytest

from repotune.parsing.python_units import FileOrigin, extract_units

ORIGIN = FileOrigin(repo="r", commit="c" * 40, path="pkg/mod.py")

SOURCE = '''import os
from typing import Any


class Store(Base):
    """A store."""

    limit = 3

    @property
    def size(self,
             extra: int = 0) -> int:
        """How many."""
        # count them
        return len(self.items) + extra

    def inline(self): return 1

    def only_doc(self):
        """Nothing else."""

    class Inner:
        async def fetch(self):
            def helper():
                return 2
            return await helper()


def top(x):
    y = x * 2
    return y
'''


def units_by_name(source=SOURCE):
    drops = Counter()
    return {u.qualname: u for u in extract_units(source, ORIGIN, drops)}, drops


def test_functions_and_methods_with_classes_as_context():
    units, drops = units_by_name()
    assert set(units) == {"Store.size", "Store.Inner.fetch", "top"}
    assert drops == Counter({"inline_body": 1, "no_body": 1})
    size = units["Store.size"]
    assert size.kind == "method" and units["top"].kind == "function"
    assert size.enclosing == "class Store(Base):\n"
    assert size.header.startswith("    @property\n    def size(self,\n")
    assert size.header.endswith('"""How many."""\n')
    assert size.body == "        # count them\n        return len(self.items) + extra\n"
    assert size.docstring == "How many."
    assert (size.start_line, size.end_line) == (10, 15)
    assert size.imports == "import os\nfrom typing import Any\n"


def test_nested_functions_stay_in_their_parent_and_headers_nest():
    units, _ = units_by_name()
    fetch = units["Store.Inner.fetch"]
    assert "def helper" in fetch.body
    assert fetch.enclosing == "class Store(Base):\n    class Inner:\n"


@pytest.mark.parametrize("name", ["Store.size", "Store.Inner.fetch", "top"])
def test_prompt_plus_body_is_valid_python(name):
    units, _ = units_by_name()
    unit = units[name]
    ast.parse(unit.enclosing + unit.header + unit.body)
    assert unit.header + unit.body == unit.code


def test_ids_are_stable_and_content_addressed():
    first, _ = units_by_name()
    second, _ = units_by_name()
    assert first["top"].id == second["top"].id
    changed, _ = units_by_name(SOURCE.replace("x * 2", "x * 3"))
    assert changed["top"].id != first["top"].id
    assert changed["Store.size"].id == first["Store.size"].id


def test_syntax_error_propagates_for_the_caller_to_count():
    with pytest.raises(SyntaxError):
        extract_units("def broken(:\n    pass\n", ORIGIN)


def test_file_without_trailing_newline():
    units, _ = units_by_name("def f():\n    return 1")
    assert units["f"].body == "    return 1\n"


@pytest.mark.parametrize("separator", ["\f", "\x85", "\u2028"])
def test_unit_lines_follow_ast_numbering_across_form_feeds_and_separators(separator):
    source = (
        f"def first(a):\n    return a  # {separator} in a comment\n\n\f\n"
        f"def second(b):\n    total = b + len('{separator}')\n    return total\n"
    )
    units = {unit.qualname: unit for unit in extract_units(source, ORIGIN)}
    second = units["second"]
    assert (second.start_line, second.end_line) == (5, 7)
    lines = source.split("\n")
    assert second.code == "\n".join(lines[4:7]) + "\n"
    assert second.body == f"    total = b + len('{separator}')\n    return total\n"


def test_source_lines_break_where_ast_does():
    from repotune.parsing.python_units import source_lines

    text = "a = 1\r\nb = 2\rc = 3\n\fd = 4"
    assert source_lines(text) == ["a = 1\r\n", "b = 2\r", "c = 3\n", "\fd = 4"]
    assert "".join(source_lines(text)) == text
    assert len(source_lines(text)) == len(ast.parse(text.replace("\f", "")).body)
