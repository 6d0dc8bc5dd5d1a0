"""What a unit imports and uses: each language's import lines parsed into specs, packages and the
names they bind, kept for a unit when its code names one of them.

A unit only carries its file's import lines (``CodeUnit.imports``), so "uses" is textual: an
import is *referenced* when a name it binds appears as a word in the unit's code (strings and
comments included: a cheap over-approximation). A Rust crate also counts when the code names
it in a path (``diesel::insert_into``), as Rust needs no ``use`` for that. Star imports (Python
``*``, Java ``.*``, Rust ``::*``, Go ``.``), blank Go imports (``_``) and bare JS side-effect
imports count for no unit: which names they bring is unknown, and counting them for every unit
of the file would label all of it (a ``use diesel::prelude::*`` line is not a sign that a file
helper reads a database). Python imports inside the unit's own body always count.

Per language, the *spec* is the imported path as written (rules in :mod:`.category` match its
prefixes) and the *package* (a technology) is:

- Python: the top-level module (``sqlalchemy`` for ``from sqlalchemy.orm import Session``);
  none for relative imports and ``sys.stdlib_module_names``.
- JavaScript/TypeScript: the npm package (``react``, ``@nestjs/common`` for
  ``@nestjs/common/x``); none for relative paths, ``@/``/``~/``/``#`` aliases, URLs and Node
  built-ins (``fs``, ``node:path``, ...).
- Go: the repository for ``github.com``/``gitlab.com``/``bitbucket.org`` paths
  (``github.com/gin-gonic/gin/binding`` is ``gin``), ``x/<name>`` under ``golang.org/x``, the
  segment after the host elsewhere (``gopkg.in/yaml.v3`` is ``yaml``); none for the standard
  library (a first segment without a dot: ``fmt``, ``net/http``).
- Java: the first segment after a domain prefix (``org.springframework.web`` is
  ``springframework``), the next one under umbrella organisations (``com.fasterxml.jackson`` is
  ``jackson``); none for ``java.``, ``javax.``, ``jdk.``, ``sun.`` and ``com.sun.``.
- Rust: the crate (``use serde::Serialize`` is ``serde``); none for ``std``, ``core``, ``alloc``,
  ``crate``, ``self`` and ``super``.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from functools import lru_cache

EVERYTHING = "*"
"""The bound name of a star import, which no unit is known to reference."""
_cache = lru_cache(maxsize=1 << 14)  # per file's import text: bounded for long-lived workers


@dataclass(frozen=True)
class Imported:
    """One imported path: ``spec`` as written, its ``package`` ("" when it is not a
    technology) and the ``names`` it binds in the file."""

    spec: str
    package: str
    names: tuple[str, ...]


def _python(text: str) -> list[Imported]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):  # one odd line must not hide the file's other imports
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return [entry for line in lines for entry in _python(line)] if len(lines) > 1 else []
    found: list[Imported] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.partition(".")[0]
                found.append(Imported(alias.name, _python_package(alias.name, 0), (name,)))
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            package = _python_package(base.lstrip("."), node.level)
            for alias in node.names:
                spec = f"{base}.{alias.name}" if alias.name != "*" else base
                found.append(Imported(spec, package, (alias.asname or alias.name,)))
    return found


def _python_package(module: str, level: int) -> str:
    top = module.partition(".")[0]
    return "" if level or top in sys.stdlib_module_names else top


_JS_IMPORT = re.compile(
    r"""\bimport\s+(?:type\s+)?(?:([\w$*{}\s,]+?)\s+from\s+)?['"]([^'"\n]+)['"]"""
    r"""|\bimport\s+([\w$]+)\s*=\s*require\(\s*['"]([^'"\n]+)['"]"""
)
_NODE_BUILTINS = frozenset(
    "assert async_hooks buffer child_process cluster console constants crypto dgram dns domain "
    "events fs http http2 https inspector module net os path perf_hooks process punycode "
    "querystring readline repl stream string_decoder timers tls trace_events tty url util v8 vm "
    "wasi worker_threads zlib".split()
)


def _javascript(text: str) -> list[Imported]:
    found = []
    for clause, spec, required, required_spec in _JS_IMPORT.findall(text):
        spec = (spec or required_spec).removeprefix("node:")
        names = [required] if required else []
        for part in clause.replace("{", ",").replace("}", ",").split(","):
            words = part.split()
            if words and words[0] == "type":
                words = words[1:]
            if words:
                names.append(words[-1])  # ``x``, ``a as b``, ``* as ns``
        found.append(Imported(spec, _js_package(spec), tuple(n for n in names if n != "*")))
    return found


def _js_package(spec: str) -> str:
    if spec.startswith((".", "/", "@/", "~/", "#")) or "://" in spec:
        return ""
    parts = spec.split("/")
    if spec.startswith("@"):
        return "/".join(parts[:2])
    return "" if parts[0] in _NODE_BUILTINS else parts[0]


_GO_IMPORT = re.compile(r'(?:([A-Za-z_]\w*|\.)\s+)?"([^"\n]+)"')
_GO_HOSTS = frozenset({"github.com", "gitlab.com", "bitbucket.org"})
_GO_MAJOR = re.compile(r"^v\d+$|\.v\d+$")


def _go(text: str) -> list[Imported]:
    found = []
    for alias, spec in _GO_IMPORT.findall(text):
        parts = [p for p in spec.split("/") if not re.fullmatch(r"v\d+", p)]
        default = re.sub(r"^go-|-go$", "", _GO_MAJOR.sub("", parts[-1]))
        names = {"": (default,), "import": (default,), "_": (), ".": (EVERYTHING,)}
        found.append(Imported(spec, _go_package(parts), names.get(alias, (alias,))))
    return found


def _go_package(parts: list[str]) -> str:
    if "." not in parts[0] or len(parts) < 2:
        return ""
    if parts[0] in _GO_HOSTS and len(parts) > 2:
        return _GO_MAJOR.sub("", parts[2])
    if parts[0] == "golang.org" and parts[1] == "x" and len(parts) > 2:
        return f"x/{parts[2]}"
    return _GO_MAJOR.sub("", parts[1])


_JAVA_IMPORT = re.compile(r"^\s*import\s+(?:static\s+)?([\w.]+?)(\.\*)?\s*;", re.M)
_JAVA_STD = ("java.", "javax.", "jdk.", "sun.", "com.sun.")
_JAVA_DOMAINS = frozenset("org com net io edu gov me dev co ai app".split())
_JAVA_UMBRELLAS = frozenset("apache google fasterxml eclipse jetbrains github squareup".split())


def _java(text: str) -> list[Imported]:
    found = []
    for spec, star in _JAVA_IMPORT.findall(text):
        names = (EVERYTHING,) if star else (spec.rpartition(".")[2],)
        found.append(Imported(spec, _java_package(spec), names))
    return found


def _java_package(spec: str) -> str:
    if spec.startswith(_JAVA_STD):
        return ""
    parts = spec.split(".")
    if parts[0] in _JAVA_DOMAINS and len(parts) > 1:
        parts = parts[1:]
        if parts[0] in _JAVA_UMBRELLAS and len(parts) > 1:
            parts = parts[1:]
    return parts[0]


_RUST_USE = re.compile(r"\buse\s+([^;]+);")
_RUST_STD = frozenset({"std", "core", "alloc", "crate", "self", "super"})


def _rust(text: str) -> list[Imported]:
    found = []
    for tree in _RUST_USE.findall(text):
        for spec, name in _use_leaves(" ".join(tree.split()).removeprefix("::")):
            root = spec.partition("::")[0]
            if root in _RUST_STD:
                found.append(Imported(spec, "", (name,)))
            else:  # ``serde::Serialize`` needs no ``use`` to name the crate
                found.append(Imported(spec, root, (name, root) if name != root else (name,)))
    return found


def _use_leaves(tree: str) -> list[tuple[str, str]]:
    """(path, bound name) of each leaf of a Rust use tree: ``a::{b, c::{self, D as E}}`` is
    ``a::b``/``b``, ``a::c``/``c`` and ``a::c::D``/``E``."""
    brace = tree.find("{")
    if brace < 0:
        path, _, alias = tree.partition(" as ")
        parts = [p for p in path.strip().split("::") if p and p != "self"]
        return [("::".join(parts), alias.strip() or parts[-1])] if parts else []
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    leaves, depth, start = [], 0, 0
    for i, char in enumerate(inner + ","):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            if inner[start:i].strip():
                leaves += _use_leaves(prefix + inner[start:i].strip())
            start = i + 1
    return leaves


_PARSERS = {
    "python": _python,
    "javascript": _javascript,
    "typescript": _javascript,
    "go": _go,
    "java": _java,
    "rust": _rust,
}


@dataclass(frozen=True)
class FileImports:
    """One file's imports: all of them, and those that bind each name (star imports none)."""

    entries: tuple[Imported, ...]
    by_name: dict[str, tuple[Imported, ...]]


@_cache
def file_imports(language: str, text: str) -> FileImports:
    """The imports of one file, cached: every unit of a file shares its import text."""
    parser = _PARSERS.get(language)
    entries = tuple(parser(text)) if parser else ()
    by_name: dict[str, list[Imported]] = {}
    for entry in entries:
        for name in entry.names:
            by_name.setdefault(name, []).append(entry)
    by_name.pop(EVERYTHING, None)
    return FileImports(entries, {name: tuple(found) for name, found in by_name.items()})


def _has_word(code: str, name: str) -> bool:
    """Whether ``name`` occurs in ``code`` as a whole word (``$`` is a word character in JS);
    ``str.find`` first, as most names are absent: 5x cheaper than a regex per name."""
    start = code.find(name)
    while start >= 0:
        end = start + len(name)
        before = code[start - 1] if start else " "
        after = code[end] if end < len(code) else " "
        if not (before.isalnum() or before in "_$" or after.isalnum() or after in "_$"):
            return True
        start = code.find(name, start + 1)
    return False


_PY_LOCAL_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import\b|import\b).*$", re.M)
_RUST_STD_PATH = re.compile(r"\b(?:std|core)::[a-z_]\w*")


def referenced(language: str, imports: str, code: str) -> list[Imported]:
    """The imports ``code`` uses (see the module doc), with Python imports inside the unit and
    Rust ``std::x`` paths written out in full."""
    imported = file_imports(language, imports)
    found: list[Imported] = []
    for name, entries in imported.by_name.items():
        if _has_word(code, name):
            found += entries
    if language == "python" and "import" in code:
        for line in _PY_LOCAL_IMPORT.findall(code):
            found += file_imports("python", line.strip()).entries
    elif language == "rust" and "::" in code:
        found += [Imported(spec, "", ()) for spec in set(_RUST_STD_PATH.findall(code))]
    return found
