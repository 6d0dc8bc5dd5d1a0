"""Mutation operators that inject one small bug into a unit, for (buggy, fixed) repair pairs.

Each operator lists the *sites* where it applies in the function's body (never its decorators,
signature or docstring) and one site is chosen from the unit's id, so a rebuild makes the same
mutant. The mutant is ``ast.unparse`` of the mutated tree: formatting is normalised and comments
are gone, which is why a repair pair's fixed side is the normalised original (see ``api``) — the
pair then differs by the bug alone. A mutant must parse and must differ from the original as a
tree; anything else is a reason, never a sample.

Operators and their sites:

- ``off_by_one``: an integer literal compared with, passed to ``range``, or used as a slice bound
  or index, moved up or down by one (each direction is a site of its own).
- ``flip_comparison``: ``<``/``<=``, ``>``/``>=``, ``==``/``!=``, ``in``/``not in``,
  ``is``/``is not`` swapped.
- ``swap_operator``: ``+``/``-``, ``*``/``/`` (also in augmented assignments), ``and``/``or``.
- ``swap_arguments``: the first two positional arguments of a call with at least two (neither
  starred). Swapping equal arguments is not filtered out: the tree check discards it as a no-op.
- ``drop_statement``: one statement removed from a block holding at least two that are not bare
  constants (docstrings, ``...``); ``pass``, ``def``, ``class``, ``global`` and ``nonlocal`` are
  never the one removed (removing them is a no-op or a scoping change, not a plausible bug).
- ``wrong_return``: a ``return`` of the function itself (not of a nested one) returning ``None``,
  the negated value (when it is boolean-looking) or the first parameter (not ``self``/``cls``).
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeGuard

from repotune.augment.code import (
    FunctionNode,
    code_shape,
    docstring_expr,
    draw,
    function_of,
    parse_unit,
    render,
    shape,
    unit_indent,
)
from repotune.records import CodeUnit

Site = tuple[int, Callable[[], None]]
"""A place an operator can mutate: its line (in the dedented code) and the in-place edit."""

FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
SWAPS: dict[type[ast.AST], type[ast.AST]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.And: ast.Or,
    ast.Or: ast.And,
}
_BOOLEAN_CALLS = frozenset(
    {"all", "any", "bool", "callable", "hasattr", "isinstance", "issubclass"}
)
_NOT_DROPPED = (
    ast.Pass,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Global,
    ast.Nonlocal,
)
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


@dataclass(frozen=True)
class Mutant:
    """A unit's code with one injected bug; ``site_line`` is the file line that was mutated."""

    unit_id: str
    operator: str
    code: str
    site_line: int


def _body_nodes(func: FunctionNode) -> Iterator[ast.AST]:
    """Every node of the function's body, without its docstring."""
    doc = docstring_expr(func)
    for stmt in func.body:
        if stmt is not doc:
            yield from ast.walk(stmt)


def _is_int(node: ast.AST | None) -> TypeGuard[ast.Constant]:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _off_by_one(func: FunctionNode) -> list[Site]:
    literals: list[ast.Constant] = []
    for node in _body_nodes(func):
        if isinstance(node, ast.Compare):
            literals += [n for n in (node.left, *node.comparators) if _is_int(n)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "range":
                literals += [n for n in node.args if _is_int(n)]
        elif isinstance(node, ast.Slice):
            literals += [n for n in (node.lower, node.upper, node.step) if _is_int(n)]
        elif isinstance(node, ast.Subscript) and _is_int(node.slice):
            literals.append(node.slice)

    def bump(literal: ast.Constant, delta: int) -> Callable[[], None]:
        return lambda: setattr(literal, "value", literal.value + delta)

    return [(lit.lineno, bump(lit, delta)) for lit in literals for delta in (1, -1)]


def _flip_comparison(func: FunctionNode) -> list[Site]:
    sites: list[Site] = []
    for node in _body_nodes(func):
        if isinstance(node, ast.Compare):
            for index, op in enumerate(node.ops):
                if type(op) in FLIPS:
                    flipped = FLIPS[type(op)]()
                    sites.append(
                        (node.lineno, lambda n=node, i=index, f=flipped: n.ops.__setitem__(i, f))
                    )
    return sites


def _swap_operator(func: FunctionNode) -> list[Site]:
    sites: list[Site] = []
    for node in _body_nodes(func):
        if isinstance(node, ast.BinOp | ast.AugAssign | ast.BoolOp) and type(node.op) in SWAPS:
            swapped = SWAPS[type(node.op)]()
            sites.append((node.lineno, lambda n=node, s=swapped: setattr(n, "op", s)))
    return sites


def _swap_arguments(func: FunctionNode) -> list[Site]:
    sites: list[Site] = []
    for node in _body_nodes(func):
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            if not any(isinstance(arg, ast.Starred) for arg in node.args[:2]):
                args = node.args
                sites.append((node.lineno, lambda a=args: a.__setitem__(slice(0, 2), a[1::-1])))
    return sites


def _real(stmt: ast.stmt) -> bool:
    return not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))


def _drop_statement(func: FunctionNode) -> list[Site]:
    sites: list[Site] = []
    for node in _body_nodes(func):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                sites += _drops_in(block)
    return _drops_in(func.body) + sites


def _drops_in(block: list[ast.stmt]) -> list[Site]:
    if sum(_real(stmt) for stmt in block) < 2:
        return []
    return [
        (stmt.lineno, lambda b=block, s=stmt: b.remove(s))
        for stmt in block
        if _real(stmt) and not isinstance(stmt, _NOT_DROPPED)
    ]


def _own_returns(node: ast.AST) -> Iterator[ast.Return]:
    """``return`` statements of this function, not of functions or classes nested in it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Return):
            yield child
        if not isinstance(child, _NESTED_SCOPES):
            yield from _own_returns(child)


def _boolean(node: ast.expr) -> bool:
    if isinstance(node, ast.Compare | ast.BoolOp):
        return True
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.Not)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bool)
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) in _BOOLEAN_CALLS


def _negated(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return node.operand
    if isinstance(node, ast.Constant):
        return ast.Constant(not node.value)
    return ast.UnaryOp(ast.Not(), node)


def _wrong_return(func: FunctionNode) -> list[Site]:
    params = [arg.arg for arg in (*func.args.posonlyargs, *func.args.args)]
    first = next((name for name in params if name not in {"self", "cls"}), None)
    sites: list[Site] = []
    for ret in _own_returns(func):
        value = ret.value
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
            sites.append((ret.lineno, lambda r=ret: setattr(r, "value", ast.Constant(None))))
            if _boolean(value):
                sites.append((ret.lineno, lambda r=ret, v=value: setattr(r, "value", _negated(v))))
        if first is not None and not (isinstance(value, ast.Name) and value.id == first):
            first_arg = ast.Name(first, ast.Load())
            sites.append((ret.lineno, lambda r=ret, a=first_arg: setattr(r, "value", a)))
    return sites


OPERATORS: dict[str, Callable[[FunctionNode], list[Site]]] = {
    "off_by_one": _off_by_one,
    "flip_comparison": _flip_comparison,
    "swap_operator": _swap_operator,
    "swap_arguments": _swap_arguments,
    "drop_statement": _drop_statement,
    "wrong_return": _wrong_return,
}
"""The operators by name, in the order the configuration lists them."""


def mutate(unit: CodeUnit, operator: str) -> Mutant | str:
    """The unit's mutant under ``operator``, or why there is none: ``no_site`` (nowhere to
    apply it), ``syntax_error`` (the mutant does not parse), ``no_op`` (same tree).

    The unit's own code must parse (see :func:`~repotune.augment.code.parse_unit`).
    """
    tree = parse_unit(unit.code)
    sites = OPERATORS[operator](function_of(tree))
    if not sites:
        return "no_site"
    line, apply = sites[draw(unit.id, operator, len(sites))]
    apply()
    code = render(tree, unit_indent(unit.code))
    try:
        mutated = shape(parse_unit(code))
    except (SyntaxError, ValueError):
        return "syntax_error"
    if mutated == code_shape(unit.code):
        return "no_op"
    return Mutant(unit.id, operator, code, unit.start_line + line - 1)


def mutants(unit: CodeUnit, operators: list[str], count: int, drops: Counter[str]) -> list[Mutant]:
    """Up to ``count`` mutants of the unit, trying the operators in an order drawn from its id
    (so units spread over all operators); each operator that yields none is counted in
    ``drops`` as ``augment:<reason>``."""
    order = sorted(operators, key=lambda op: draw(unit.id, f"order:{op}", 1 << 30))
    made: list[Mutant] = []
    for operator in order:
        if len(made) == count:
            break
        result = mutate(unit, operator)
        if isinstance(result, Mutant):
            made.append(result)
        else:
            drops[f"augment:{result}"] += 1
    return made
