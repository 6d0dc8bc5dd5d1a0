"""Python functions and methods as :class:`CodeUnit` records, extracted with ``ast``.

A unit's source is split at the end of its docstring (or its header when it has none): the part
above is what a developer writes first (decorators, signature, docstring — plus the enclosing class
headers for methods), the part below is the body a model learns to complete. Nested functions stay
inside their parent's body: they are not units of their own.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from repotune.records import CodeUnit

EXTRACTOR_VERSION = "py-ast-2"


@dataclass(frozen=True)
class FileOrigin:
    repo: str
    commit: str
    path: str


def _segment(lines: list[str], start: int, end: int) -> str:
    """Lines ``start..end`` (1-based, inclusive) joined back into source."""
    return "".join(lines[start - 1 : end])


def _module_imports(tree: ast.Module, lines: list[str]) -> str:
    imports = [
        _segment(lines, node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    return "".join(imports)


def _header_end(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int | None:
    """Last line of the prompt part: the docstring's end, else the line before the body."""
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first.end_lineno
    if first.lineno == node.lineno:
        return None
    return first.lineno - 1


def _walk(
    body: list[ast.stmt], classes: list[ast.ClassDef]
) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[ast.ClassDef]]]:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node, classes
        elif isinstance(node, ast.ClassDef):
            yield from _walk(node.body, [*classes, node])


_NOT_AST_BREAKS = re.compile("[\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_AST_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def source_lines(text: str) -> list[str]:
    """The lines of ``text`` as ``ast`` numbers them (breaks at ``\\n``, ``\\r\\n`` and ``\\r``),
    with their ends. ``str.splitlines`` also breaks at form feeds and other separators, which
    shifts every line after them; it is used only when ``text`` holds none (it is much faster)."""
    if _NOT_AST_BREAKS.search(text) is None:
        return text.splitlines(keepends=True)
    return _AST_LINE.findall(text)


def extract_units(
    source: str, origin: FileOrigin, drops: Counter[str] | None = None
) -> list[CodeUnit]:
    """Code units of one parsed Python file; skipped functions are counted in ``drops``.

    Raises ``SyntaxError`` when the file does not parse: the caller counts it per file.
    """
    drops = drops if drops is not None else Counter()
    tree = ast.parse(source)
    lines = source_lines(source)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    imports = _module_imports(tree, lines)
    units = []
    for node, classes in _walk(tree.body, []):
        split_at = _header_end(node)
        if split_at is None:
            drops["inline_body"] += 1
            continue
        start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        end = node.end_lineno or node.lineno
        body = _segment(lines, split_at + 1, end)
        if not body.strip():
            drops["no_body"] += 1
            continue
        class_headers = "".join(
            _segment(lines, cls.lineno, cls.body[0].lineno - 1) or lines[cls.lineno - 1]
            for cls in classes
        )
        first_stmt = node.body[0]
        header_last = node.lineno if first_stmt.lineno == node.lineno else first_stmt.lineno - 1
        signature = _segment(lines, node.lineno, header_last).rstrip() + "\n"
        qualname = ".".join([*(cls.name for cls in classes), node.name])
        units.append(
            CodeUnit(
                repo=origin.repo,
                commit=origin.commit,
                path=origin.path,
                language="python",
                kind="method" if classes else "function",
                qualname=qualname,
                signature=signature,
                docstring=ast.get_docstring(node) or "",
                header=_segment(lines, start, split_at),
                body=body,
                code=_segment(lines, start, end),
                imports=imports,
                enclosing=class_headers,
                start_line=start,
                end_line=end,
            )
        )
    return units
