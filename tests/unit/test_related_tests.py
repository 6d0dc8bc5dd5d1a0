from dataclasses import replace
from textwrap import dedent

from repotune.parsing.python_units import FileOrigin, extract_units
from repotune.parsing.related_tests import calls, is_test, link_related_tests
from repotune.parsing.treesitter_units import extract_ts_units
from repotune.records import CodeUnit


def units_of(files: dict[str, str]) -> list[CodeUnit]:
    """Units of inline files, in order, extracted as ``extract_snapshot`` would."""
    units: list[CodeUnit] = []
    for path, source in files.items():
        origin, text = FileOrigin(repo="r", commit="c" * 40, path=path), dedent(source)
        if path.endswith(".py"):
            units += extract_units(text, origin)
        else:
            units += extract_ts_units(text, path, origin)
    return units


def linked(files: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """``path::qualname`` -> related tests, for every unit of ``files``."""
    return {f"{u.path}::{u.qualname}": u.related_tests for u in link_related_tests(units_of(files))}


PY_FILES = {
    "src/pkg/mod.py": """
        def add(a, b):
            return a + b


        class Store:
            def __init__(self):
                self.items = []

            def put(self, item):
                self.items.append(item)
        """,
    "src/pkg/other.py": """
        def add(a, b):
            return a - b


        def put(item):
            return item
        """,
    "src/pkg/__init__.py": """
        def version():
            return "1"
        """,
    "tests/helpers.py": """
        def make_store():
            return []
        """,
    "tests/test_mod.py": """
        from helpers import make_store
        from pkg.mod import Store, add


        def test_add():
            assert add(1, 2) == 3


        def test_store():
            store = Store()
            store.put(make_store())


        def test_calls_another_test():
            test_add()
        """,
    "tests/test_aliases.py": """
        import pkg
        import pkg.mod as m


        def test_alias():
            assert m.add(1, 2) == 3 and pkg.version() == "1"


        def helper_not_a_test():
            return m.add(0, 0)
        """,
    "tests/test_other.py": """
        from pkg import other


        def test_module_attribute():
            assert other.put(2) == 2
        """,
    "tests/test_local.py": """
        def test_local_import():
            from pkg.other import add

            assert add(3, 1) == 2
        """,
}


def test_src_layout_function_is_linked_from_tests_that_import_and_call_it():
    links = linked(PY_FILES)
    assert links["src/pkg/mod.py::add"] == (
        "tests/test_aliases.py::test_alias",
        "tests/test_mod.py::test_add",
    )


def test_same_name_in_a_module_the_test_does_not_import_is_not_linked():
    links = linked(PY_FILES)
    # test_add calls add( but imports pkg.mod; only test_local_import imports pkg.other.add
    assert links["src/pkg/other.py::add"] == ("tests/test_local.py::test_local_import",)
    assert links["src/pkg/other.py::put"] == ("tests/test_other.py::test_module_attribute",)
    assert links["src/pkg/__init__.py::version"] == ("tests/test_aliases.py::test_alias",)


def test_methods_need_a_dotted_call_and_a_class_call_links_its_constructor():
    links = linked(PY_FILES)
    assert links["src/pkg/mod.py::Store.put"] == ("tests/test_mod.py::test_store",)
    assert links["src/pkg/mod.py::Store.__init__"] == ("tests/test_mod.py::test_store",)
    only_bare = {
        **PY_FILES,
        "tests/test_mod.py": "from pkg.mod import put\n\ndef test_x():\n    put(1)\n",
    }
    assert linked(only_bare)["src/pkg/mod.py::Store.put"] == ()


def test_tests_and_test_helpers_are_never_linked_to():
    links = linked(PY_FILES)
    assert all(v == () for k, v in links.items() if k.startswith("tests/"))
    assert not any("helper_not_a_test" in t for v in links.values() for t in v)


def test_order_and_ids_are_unchanged_and_links_round_trip():
    units = units_of(PY_FILES)
    out = link_related_tests(units)
    assert [u.id for u in out] == [u.id for u in units]
    assert [(u.path, u.qualname) for u in out] == [(u.path, u.qualname) for u in units]
    add = next(u for u in out if u.qualname == "add" and u.path == "src/pkg/mod.py")
    assert add.related_tests and CodeUnit.from_dict(add.to_dict()) == add
    assert add.id == CodeUnit.from_dict({**add.to_dict(), "id": ""}).id
    stale = [replace(u, related_tests=("gone.py::test_old",)) for u in units]
    assert link_related_tests(stale) == out


def test_go_tests_link_same_package_without_an_import():
    links = linked(
        {
            "foo/foo.go": "package foo\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n",
            "bar/bar.go": "package bar\n\nfunc Add(a, b int) int {\n\treturn a - b\n}\n",
            "foo/foo_test.go": (
                'package foo\n\nimport "testing"\n\n'
                "func TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal()\n\t}\n}\n"
            ),
            "baz/baz_test.go": (
                'package baz\n\nimport (\n\t"testing"\n\t"example.com/m/bar"\n)\n\n'
                "func TestBar(t *testing.T) {\n\t_ = bar.Add(1, 2)\n}\n"
            ),
        }
    )
    assert links["foo/foo.go::Add"] == ("foo/foo_test.go::TestAdd",)
    assert links["bar/bar.go::Add"] == ("baz/baz_test.go::TestBar",)


JS_MOD = "export function add(a, b) {\n  return a + b;\n}\n"


def test_js_relative_import_resolves_with_or_without_extension_and_index():
    links = linked(
        {
            "src/mod.ts": JS_MOD,
            "src/other.ts": JS_MOD,
            "src/lib/index.js": JS_MOD,
            "src/__tests__/mod.test.ts": (
                "import { add } from '../mod.js';\n\n"
                "function checkAdd() {\n  expect(add(1, 2)).toBe(3);\n}\n"
            ),
            "test/lib.spec.js": (
                "function checkLib() {\n  const lib = require('../src/lib');\n  lib.add(1, 2);\n}\n"
            ),
        }
    )
    assert links["src/mod.ts::add"] == ("src/__tests__/mod.test.ts::checkAdd",)
    assert links["src/lib/index.js::add"] == ("test/lib.spec.js::checkLib",)
    assert links["src/other.ts::add"] == ()


def test_rust_mod_tests_link_their_own_file_only():
    lib = (
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests {\n"
        "    use super::*;\n\n    #[test]\n    fn adds() {\n        assert_eq!(add(1, 2), 3);\n"
        "    }\n}\n"
    )
    units = units_of({"src/lib.rs": lib, "src/other.rs": "fn add(a: i32) -> i32 {\n    a\n}\n"})
    assert [is_test(u) for u in units] == [False, True, False]
    links = {f"{u.path}::{u.qualname}": u.related_tests for u in link_related_tests(units)}
    assert links == {
        "src/lib.rs::add": ("src/lib.rs::tests.adds",),
        "src/lib.rs::tests.adds": (),
        "src/other.rs::add": (),
    }


def test_java_test_links_its_package_and_constructor():
    links = linked(
        {
            "src/main/java/com/x/Calc.java": (
                "package com.x;\n\npublic class Calc {\n"
                "    public Calc() {\n        n = 0;\n    }\n\n"
                "    public int add(int a, int b) {\n        return a + b;\n    }\n}\n"
            ),
            "src/main/java/com/y/Calc.java": (
                "package com.y;\n\npublic class Calc {\n"
                "    public int add(int a, int b) {\n        return a - b;\n    }\n}\n"
            ),
            "src/test/java/com/x/CalcTest.java": (
                "package com.x;\n\nimport org.junit.Test;\n\npublic class CalcTest {\n"
                "    @Test\n    public void adds() {\n"
                "        assertEquals(3, new Calc().add(1, 2));\n    }\n}\n"
            ),
        }
    )
    expected = ("src/test/java/com/x/CalcTest.java::CalcTest.adds",)
    assert links["src/main/java/com/x/Calc.java::Calc.add"] == expected
    assert links["src/main/java/com/x/Calc.java::Calc.Calc"] == expected
    assert links["src/main/java/com/y/Calc.java::Calc.add"] == ()


def test_calls_split_bare_and_dotted_and_skip_definitions():
    bare, dotted = calls("def test_x(self):\n    def inner(y):\n        return f(y) + m.g (1)\n")
    assert bare == {"f"} and dotted == {"g"}
    assert calls("let s = Stack::new();\nfn helper() {}\n") == (set(), {"new"})


def test_relative_imports_resolve_from_the_test_package():
    add = "def add(a, b):\n    return a + b\n"
    links = linked(
        {
            "a/mod.py": add,
            "b/mod.py": add,
            "a/tests/test_mod.py": "from ..mod import add\n\ndef test_add():\n    add(1, 2)\n",
        }
    )
    assert links["a/mod.py::add"] == ("a/tests/test_mod.py::test_add",)
    assert links["b/mod.py::add"] == ()


def test_rust_integration_tests_link_public_items_of_their_crate():
    links = linked(
        {
            "src/lib.rs": (
                "pub fn add(a: i32) -> i32 {\n    a\n}\n\nfn sub(a: i32) -> i32 {\n    a\n}\n"
            ),
            "tests/api.rs": (
                "use mycrate::add;\n\n#[test]\nfn adds() {\n    add(1);\n    sub(1);\n}\n"
            ),
        }
    )
    assert links == {
        "src/lib.rs::add": ("tests/api.rs::adds",),
        "src/lib.rs::sub": (),
        "tests/api.rs::adds": (),
    }
