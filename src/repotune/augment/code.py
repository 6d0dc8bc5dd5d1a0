"""Parsing one unit's code on its own, and putting a rewritten tree back where it came from.

A unit's ``code`` is lines cut out of a file: a method keeps its class indentation, so it is
dedented before parsing and every rewrite is indented back by the same prefix. That keeps one
coordinate rule for all augmentations (a node at column ``c`` of the dedented code is at column
``c + len(indent)`` of the unit's own lines) and lets a variant be spliced into the file in place
of the original lines.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import textwrap
from dataclasses import dataclass

from repotune.parsing.python_units import source_lines

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Rewrite:
    """A unit's code rewritten by one augmentation; augmentations return this or, when they
    make nothing, the reason as a plain ``str``."""

    code: str


def unit_indent(code: str) -> str:
    """The prefix that ``textwrap.dedent`` strips from every non-blank line of ``code``."""
    for line, dedented in zip(source_lines(code), source_lines(textwrap.dedent(code)), strict=True):
        if line.strip():
            return line[: len(line) - len(dedented)]
    return ""


def parse_unit(code: str) -> ast.Module:
    """The dedented code as a module whose only statement is the unit's function.

    Raises ``SyntaxError`` when it does not parse standalone (e.g. a method holding a multi-line
    string whose lines start at column 0, which blocks dedenting) and ``ValueError`` when it is
    not a single function.
    """
    tree = ast.parse(textwrap.dedent(code))
    if len(tree.body) != 1 or not isinstance(tree.body[0], FunctionNode):
        raise ValueError("not a single function")
    return tree


def function_of(tree: ast.Module) -> FunctionNode:
    node = tree.body[0]
    assert isinstance(node, FunctionNode)
    return node


def render(tree: ast.Module, indent: str) -> str:
    """``ast.unparse`` of the tree, indented back to the unit's column, newline-terminated."""
    return textwrap.indent(ast.unparse(tree), indent) + "\n"


def shape(tree: ast.AST) -> str:
    """What two trees must share to be the same program: the dump without positions."""
    return ast.dump(tree)


@functools.lru_cache(maxsize=64)
def code_shape(code: str) -> str:
    """:func:`shape` of the unit's parsed code, cached: each augmentation of a unit compares
    its result with it, and ``ast.dump`` is the largest cost of augmenting."""
    return shape(parse_unit(code))


def docstring_expr(func: FunctionNode) -> ast.Expr | None:
    """The statement holding the function's docstring, if it has one."""
    first = func.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def draw(unit_id: str, salt: str, choices: int) -> int:
    """An index in ``range(choices)`` fixed by the unit's id and a salt: the same unit always
    gets the same site or word, different units spread over all of them."""
    digest = hashlib.sha256(f"augment\0{salt}\0{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % choices


def span_text(code: str, indent: str, span: tuple[int, int, int, int]) -> str:
    """The text of a node's span ``(line, col, end_line, end_col)`` (dedented coordinates, as
    ``ast`` reports them) in the unit's own ``code``."""
    line, col, end_line, end_col = span
    shift = len(indent.encode("utf-8"))
    lines = [text.encode("utf-8") for text in source_lines(code)[line - 1 : end_line]]
    lines[-1] = lines[-1][: end_col + shift]
    lines[0] = lines[0][col + shift :]
    return b"".join(lines).decode("utf-8")


def replace_spans(code: str, indent: str, edits: list[tuple[int, int, int, int, str]]) -> str:
    """``code`` with each span replaced by its text.

    A span is ``(line, col, end_line, end_col, text)`` in the coordinates of the dedented code
    as ``ast`` reports them (1-based lines, UTF-8 byte columns); spans must not overlap.
    """
    lines = [line.encode("utf-8") for line in source_lines(code)]
    shift = len(indent.encode("utf-8"))
    for line, col, end_line, end_col, text in sorted(edits, reverse=True):
        head = lines[line - 1][: col + shift]
        tail = lines[end_line - 1][end_col + shift :]
        lines[line - 1 : end_line] = [head + text.encode("utf-8") + tail]
    return b"".join(lines).decode("utf-8")
