"""Link each code unit to the tests that exercise it: test functions that call it by name, in files
that import its module.

A unit's tests are the best context a model can get for what the unit must do (and a way to score
a generated body later), so every unit carries ``related_tests``: ``"<path>::<qualname>"`` of each
test unit. The rule is textual, not a type-checked call graph: it must run on 50k units in
well under a second, and a name that is called *and* imported is a good enough witness.

Per language, a *test* is (units in test files are never linked to, tests never to each other):

- Python: a ``test*`` function or method in ``test_*.py``, ``*_test.py``, ``conftest.py`` or a
  file under ``tests/``/``test/``. It imports a unit's module when an import (module level, or
  inside the test) names a dotted path the unit's file path ends with (``src/pkg/mod.py`` is
  ``pkg.mod``, ``pkg/__init__.py`` is ``pkg``; ``from pkg import mod`` counts for ``pkg.mod``;
  relative imports are resolved from the test's directory).
- JavaScript/TypeScript: any function in ``*.test.*``/``*.spec.*`` or under ``__tests__/``,
  ``test/``, ``tests/``: the cases themselves are anonymous ``it(...)`` callbacks the extractor
  does not make units of. ``import``/``require`` specifiers are resolved against the test's
  directory, with or without extension or ``/index``; non-relative ones with a ``/`` (aliases such
  as ``@/lib/x``) match a file path ending in them. Top-level ``require`` lines are not in a unit's
  ``imports``, so only those inside a test are seen.
- Go: a ``Test``/``Benchmark``/``Fuzz``/``Example`` function or method in ``*_test.go``; units in
  the same directory (package) need no import, others are linked by an import path ending in
  their directory.
- Java: a method annotated ``@...Test`` or named ``test*`` in a file under ``src/test/`` or named
  ``*Test(s)``/``Test*``/``*IT``; it sees its own package (the directory below ``src/*/java``) and
  the classes and packages it imports.
- Rust: a function with a ``#[test]``-like attribute or inside a ``mod tests``/``mod test``; it
  sees its own file (``use super::*``), the parent module of a ``tests.rs`` file, and, from an
  integration test under ``<crate>/tests/``, the ``pub`` items under ``<crate>/src/``.

A call is ``name(`` or ``x.name(`` for functions (``x`` is not checked: a test that imports two
modules defining ``name`` links both), ``.name(``/``::name(`` for methods; calling a class
(``Thing(``, ``new Thing(``) links its constructor."""

from __future__ import annotations

import ast
import posixpath
import re
from collections import defaultdict
from dataclasses import replace
from functools import lru_cache

from repotune.records import CodeUnit

FAMILY = {"typescript": "javascript"}
_cache = lru_cache(maxsize=1 << 16)  # per file or per import text: bounded for long-lived workers
_CALL_REVERSED = re.compile(r"\(\s*(\w+)(\s*(?:\.|::)|\s+(?:fed|nf|cnuf|noitcnuf)\b)?")
"""A call ``name(``, matched in the *reversed* code: a pattern that starts with a literal ``(`` is
searched for ``(`` alone, 10x faster than one starting with ``\\w+`` (1.2 s on the stdlib's 15 MB
of tests). The second group is a ``.``/``::`` before the name, or ``def``/``fn``/``func``/
``function`` (a definition, not a call)."""
_PY_LOCAL_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import\b|import\b).*$", re.M)
_JS_SPECIFIER = re.compile(r"(?:\bfrom|\bimport|\brequire)\s*\(?\s*['\"]([^'\"\n]+)['\"]")
_JS_EXT = re.compile(r"\.(?:[cm]?[jt]sx?)$")
_GO_TEST = re.compile(r"^(?:Test|Benchmark|Fuzz|Example)")
_JAVA_ROOT = re.compile(r"^(?:.*/)?src/[^/]+/java/")
_JAVA_IMPORT = re.compile(r"^\s*import\s+(static\s+)?([\w.]+?)(\.\*)?\s*;", re.M)
_JAVA_TEST_FILE = re.compile(r"(?:^|/)src/test/|(?:^|/)(?:\w+Tests?|Test\w+|\w+IT)\.java$")
_JAVA_TEST_ANNOTATION = re.compile(r"@(?:\w+\.)*(?:\w*Test|TestFactory|TestTemplate)\b")
_RUST_TEST_ATTR = re.compile(r"#\[\s*(?:\w+::)*r?test\w*\b")
_RUST_PUB = re.compile(r"\s*pub\s")
_CONSTRUCTORS = frozenset({"__init__", "constructor"})
Links = dict[str, list[tuple[int, bool]]]
"""Called name, reversed -> (index of a unit it may call, whether only ``.name(`` reaches it)."""


def _dirs(path: str) -> list[str]:
    return path.split("/")[:-1]


@_cache
def is_test_file(path: str, language: str) -> bool:
    """Whether ``path`` holds tests (its units are never linked to)."""
    name, dirs = posixpath.basename(path), _dirs(path)
    family = FAMILY.get(language, language)
    if family == "python":
        named = name.startswith("test_") or name.endswith(("_test.py", "_test.pyi"))
        return named or name == "conftest.py" or bool({"tests", "test"} & set(dirs))
    if family == "javascript":
        stem = _JS_EXT.sub("", name)
        return stem.endswith((".test", ".spec")) or bool({"__tests__", "tests", "test"} & set(dirs))
    if family == "go":
        return name.endswith("_test.go")
    if family == "java":
        return bool(_JAVA_TEST_FILE.search(path))
    if family == "rust":
        return name == "tests.rs" or "tests" in dirs
    return False


def is_test(unit: CodeUnit) -> bool:
    """Whether ``unit`` is a test function or method of its language (see the module doc)."""
    if unit.kind == "class":
        return False
    family, name = FAMILY.get(unit.language, unit.language), unit.qualname.rpartition(".")[2]
    if family == "rust":
        owners = unit.qualname.split(".")[:-1]
        return bool(_RUST_TEST_ATTR.search(unit.header)) or bool({"tests", "test"} & set(owners))
    if not is_test_file(unit.path, unit.language):
        return False
    if family == "python":
        return name.startswith("test")
    if family == "go":
        return bool(_GO_TEST.match(name))
    if family == "java":
        return name.startswith("test") or bool(_JAVA_TEST_ANNOTATION.search(unit.header))
    return family == "javascript"


def _suffixes(parts: list[str], prefix: str, sep: str = ".", least: int = 1) -> set[str]:
    """``prefix`` + each ending of ``parts`` of ``least`` or more parts, joined by ``sep``."""
    return {prefix + sep.join(parts[i:]) for i in range(len(parts) - least + 1)}


@_cache
def provided_keys(path: str, language: str, public: bool) -> frozenset[str]:
    """Keys under which a test reaches the units of ``path``: a test links to a unit only if
    its own keys (:func:`_file_keys` and :func:`_local_keys`) share one with them."""
    family = FAMILY.get(language, language)
    dirs = _dirs(path)
    if family == "python":
        parts = [*dirs, posixpath.basename(path).rsplit(".", 1)[0]]
        return frozenset(_suffixes(parts[:-1] if parts[-1] == "__init__" else parts, ""))
    if family == "javascript":
        key = _JS_EXT.sub("", path)
        keys = {key, key.removesuffix("/index")} if key.endswith("/index") else {key}
        for k in list(keys):
            keys |= _suffixes(k.split("/"), "bare:", "/", least=2)
        return frozenset(keys)
    if family == "go":
        return frozenset({f"dir:{'/'.join(dirs)}"} | ({f"imp:{'/'.join(dirs)}"} if dirs else set()))
    if family == "java":
        parts = _JAVA_ROOT.sub("", path).removesuffix(".java").split("/")
        return frozenset(_suffixes(parts, "cls:") | _suffixes(parts[:-1], "pkg:"))
    keys = {f"file:{path}"}
    if public and "src" in dirs:
        keys.add(f"crate:{'/'.join(dirs[: dirs.index('src')])}")
    return frozenset(keys)


def _python_imports(text: str, path: str) -> set[str]:
    """Dotted module names imported by ``text`` (import statements; unparsable ones are skipped)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _dirs(path)[: len(_dirs(path)) - node.level + 1]
                base = ".".join([*package, *([base] if base else [])])
            names.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
            names.add(base)
    names.discard("")
    return names


@_cache
def _file_keys(path: str, language: str, imports: str) -> frozenset[str]:
    """What every test of one file reaches, from the file's location and its import lines."""
    family = FAMILY.get(language, language)
    dirs = _dirs(path)
    if family == "python":
        return frozenset(_python_imports(imports, path))
    if family == "javascript":
        return frozenset(_js_keys(imports, path))
    if family == "go":
        keys = {f"dir:{'/'.join(dirs)}"}
        for imported in re.findall(r'"([^"\n]+)"', imports):
            keys |= _suffixes(imported.split("/"), "imp:", "/")
        return frozenset(keys)
    if family == "java":
        package = _JAVA_ROOT.sub("", "/".join([*dirs, ""])).strip("/").replace("/", ".")
        keys = {f"pkg:{package}"} if package else set()
        for static, name, star in _JAVA_IMPORT.findall(imports):
            owner = name.rsplit(".", 1)[0] if static and not star else name
            keys.update({f"cls:{owner}", f"pkg:{owner}"} if star else {f"cls:{owner}"})
        return frozenset(keys)
    keys = {f"file:{path}"}
    if posixpath.basename(path) == "tests.rs":
        parent = "/".join(dirs)
        keys |= {f"file:{parent}{end}" for end in ("/mod.rs", "/lib.rs", "/main.rs", ".rs")}
    if "tests" in dirs:
        keys.add(f"crate:{'/'.join(dirs[: dirs.index('tests')])}")
    return frozenset(keys)


def _js_keys(text: str, path: str) -> set[str]:
    keys = set()
    for spec in _JS_SPECIFIER.findall(text):
        if spec.startswith("."):
            resolved = posixpath.normpath(posixpath.join(*_dirs(path), spec))
            keys.add(_JS_EXT.sub("", resolved))
        elif "/" in spec:
            keys.add("bare:" + _JS_EXT.sub("", re.sub(r"^[@~]/", "", spec)))
    return keys


@_cache
def _python_local_keys(lines: tuple[str, ...], path: str) -> frozenset[str]:
    keys = _python_imports("\n".join(lines), path)
    if not keys:  # one unparsable line (a wrapped import) must not hide the others
        keys = set().union(*(_python_imports(line, path) for line in lines))
    return frozenset(keys)


def _local_keys(test: CodeUnit) -> frozenset[str]:
    """What ``test`` imports inside its own body (Python imports, JS ``require``/``import()``)."""
    family = FAMILY.get(test.language, test.language)
    if family == "python" and "import" in test.body:
        lines = tuple(line.strip() for line in _PY_LOCAL_IMPORT.findall(test.body))
        return _python_local_keys(lines, test.path) if lines else frozenset()
    if family == "javascript" and ("require" in test.body or "import" in test.body):
        return frozenset(_js_keys(test.body, test.path))
    return frozenset()


def calls(code: str) -> tuple[set[str], set[str]]:
    """Names ``code`` calls bare (``name(``) and after a dot or ``::`` (``.name(``)."""
    bare, dotted = _reversed_calls(code)
    return {name[::-1] for name in bare}, {name[::-1] for name in dotted}


def _reversed_calls(code: str) -> tuple[set[str], set[str]]:
    """:func:`calls` with each name spelled backwards, as the index in
    :func:`link_related_tests` keys them: turning each one around costs a third of the scan."""
    bare: set[str] = set()
    dotted: set[str] = set()
    for name, before in _CALL_REVERSED.findall(code[::-1]):
        if not before:
            bare.add(name)
        elif before[-1] in ".:":
            dotted.add(name)
    return bare, dotted


def call_name(qualname: str, kind: str) -> tuple[str, bool]:
    """The name a call of a unit uses, and whether only a dotted call (``.name(``) reaches it."""
    owners, _, name = qualname.rpartition(".")
    owner = owners.rpartition(".")[2]
    if kind != "method":
        return name, False
    if name in _CONSTRUCTORS or name == owner:  # Python, JS and Java constructors
        return owner, False
    return name, True


def link_related_tests(units: list[CodeUnit]) -> list[CodeUnit]:
    """``units`` in the same order, each with ``related_tests`` filled (ids unchanged).

    Costs one scan of each test's code plus a set lookup per called name (0.5 s for the CPython
    stdlib's 49k units); call it with the garbage collector paused, as ``extract_snapshot`` does.
    """
    by_key: dict[tuple[str, str], Links] = defaultdict(lambda: defaultdict(list))
    tests: list[CodeUnit] = []
    for index, unit in enumerate(units):
        if is_test(unit):
            tests.append(unit)
        elif not is_test_file(unit.path, unit.language):
            family = FAMILY.get(unit.language, unit.language)
            public = bool(_RUST_PUB.match(unit.signature))
            name, dotted_only = call_name(unit.qualname, unit.kind)
            for key in provided_keys(unit.path, unit.language, public):
                by_key[(family, key)][name[::-1]].append((index, dotted_only))
    reached: dict[tuple[str, frozenset[str]], list[Links]] = {}  # per test file: what it imports
    related: dict[int, set[str]] = defaultdict(set)
    for test in tests:
        family = FAMILY.get(test.language, test.language)
        keys = _file_keys(test.path, test.language, test.imports)
        tables = reached.get((family, keys))
        if tables is None:
            tables = reached[(family, keys)] = [
                by_key[(family, k)] for k in keys if (family, k) in by_key
            ]
        local = _local_keys(test) - keys
        tables = tables + [by_key[(family, k)] for k in local if (family, k) in by_key]
        if not tables:
            continue
        bare, dotted = _reversed_calls(test.code)
        label = f"{test.path}::{test.qualname}"
        names = bare | dotted
        for table in tables:
            for name in table.keys() & names:  # set operations iterate the smaller side
                for index, dotted_only in table[name]:
                    if not dotted_only or name in dotted:
                        related[index].add(label)
    return [  # links from an earlier run are replaced, not kept
        replace(unit, related_tests=tuple(sorted(related.get(i, ()))))
        if i in related or unit.related_tests
        else unit
        for i, unit in enumerate(units)
    ]
