"""Renaming a unit's local variables: the same program under other names.

Only names the function itself binds are renamed: variables assigned (or loop targets) in its own
scope, and comprehension targets that never escape their comprehension. Parameters are never
renamed (a caller may pass them by keyword), nor anything that could reach outside the function:
globals, builtins, attributes, names declared ``global``/``nonlocal`` anywhere in the unit,
names a nested class body assigns (they become class attributes), and names bound by imports,
``def``/``class``, ``except ... as`` or ``match`` patterns (ast gives no position to rewrite).
A unit that calls ``locals``, ``vars``, ``globals``, ``eval`` or ``exec`` is not renamed at all.

The rewrite is textual, at the exact positions ``ast`` reports, so comments and formatting are
kept; it is accepted only if renaming the result back gives the original tree.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from dataclasses import dataclass, field

from repotune.augment.code import (
    FunctionNode,
    Rewrite,
    code_shape,
    draw,
    function_of,
    parse_unit,
    replace_spans,
    shape,
    unit_indent,
)
from repotune.records import CodeUnit

WORDS = (
    "acc", "alpha", "beta", "bucket", "chunk", "current", "cursor", "delta", "elem", "entry",
    "frame", "gamma", "holder", "item", "marker", "node", "part", "piece", "pivot", "probe",
    "record", "sample", "slot", "stash", "tally", "temp", "token", "value", "widget", "work",
)  # fmt: skip
"""Fresh names, drawn in an order fixed by the unit's id."""
_INTROSPECTION = frozenset({"locals", "vars", "globals", "eval", "exec"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _own_stores(node: ast.AST) -> set[str]:
    """Names stored in this function's own scope (not in nested scopes or comprehensions)."""
    names: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        if not isinstance(child, _SCOPES + _COMPREHENSIONS):
            names |= _own_stores(child)
    return names


def _comprehension_names(node: ast.AST, bound: frozenset[str], escaped: set[str]) -> set[str]:
    """Comprehension targets in ``node``; a name used outside every comprehension binding it
    (including in the first iterable, evaluated outside) is added to ``escaped``."""
    if isinstance(node, ast.Name):
        if node.id not in bound:
            escaped.add(node.id)
        return set()
    if not isinstance(node, _COMPREHENSIONS):
        targets: set[str] = set()
        for child in ast.iter_child_nodes(node):
            targets |= _comprehension_names(child, bound, escaped)
        return targets
    targets = {
        name.id
        for gen in node.generators
        for name in ast.walk(gen.target)
        if isinstance(name, ast.Name)
    }
    inner = bound | targets
    found = set(targets) | _comprehension_names(node.generators[0].iter, bound, escaped)
    for gen in node.generators:
        if gen is not node.generators[0]:
            found |= _comprehension_names(gen.iter, inner, escaped)
        for part in (gen.target, *gen.ifs):
            found |= _comprehension_names(part, inner, escaped)
    elements = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
    for element in elements:
        found |= _comprehension_names(element, inner, escaped)
    return found


def _unrenamable(func: FunctionNode) -> set[str]:
    """Names the unit binds in ways a rename must not touch, or that reach outside it."""
    names: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        if isinstance(node, ast.ClassDef):
            names |= _own_stores(node)
    return names


def local_names(func: FunctionNode) -> list[str]:
    """The names that may be renamed, in the order ``ast.walk`` first meets them."""
    if any(isinstance(n, ast.Name) and n.id in _INTROSPECTION for n in ast.walk(func)):
        return []
    escaped: set[str] = set()
    comprehended = set()
    for stmt in func.body:
        comprehended |= _comprehension_names(stmt, frozenset(), escaped)
    stores = _own_stores(func)
    allowed = (stores | (comprehended - escaped)) - _unrenamable(func)
    seen = [n.id for n in ast.walk(func) if isinstance(n, ast.Name) and n.id in allowed]
    return list(dict.fromkeys(seen))


def fresh_names(names: list[str], taken: set[str], unit_id: str) -> dict[str, str]:
    """A new name for each of ``names``, none in ``taken``, from :data:`WORDS` in an order
    drawn from the unit's id (numbered once the words run out)."""
    order = sorted(WORDS, key=lambda word: draw(unit_id, f"word:{word}", 1 << 30))
    candidates = [*order, *(f"{word}_{n}" for n in range(2, 100) for word in order)]
    free = (word for word in candidates if word not in taken)
    return {name: next(free) for name in names}


@dataclass(frozen=True)
class Renamed(Rewrite):
    """The renamed code and the renaming (old name -> new name)."""

    mapping: dict[str, str] = field(default_factory=dict)


def _in_fstrings(func: FunctionNode) -> set[str]:
    """Names used inside f-strings: Python 3.11 misplaces them in f-strings split over lines,
    and ``f"{name=}"`` prints the name itself, so renaming them may not keep the program."""
    return {
        node.id
        for fstring in ast.walk(func)
        if isinstance(fstring, ast.JoinedStr)
        for node in ast.walk(fstring)
        if isinstance(node, ast.Name)
    }


def _renamed(unit: CodeUnit, tree: ast.Module, mapping: dict[str, str]) -> Renamed | None:
    """The rewrite under ``mapping``, if renaming it back gives the original tree."""
    edits = [
        (node.lineno, node.col_offset, node.end_lineno or node.lineno, node.end_col_offset or 0,
         mapping[node.id])
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id in mapping
    ]  # fmt: skip
    code = replace_spans(unit.code, unit_indent(unit.code), edits)
    try:
        renamed = parse_unit(code)
    except (SyntaxError, ValueError):
        return None
    back = {new: old for old, new in mapping.items()}
    for node in ast.walk(renamed):
        if isinstance(node, ast.Name):
            node.id = back.get(node.id, node.id)
    return Renamed(code, mapping) if shape(renamed) == code_shape(unit.code) else None


def rename_locals(unit: CodeUnit) -> Renamed | str:
    """The unit's code with its local variables renamed, or why not: ``no_site`` (nothing may
    be renamed) or ``rename_mismatch`` (the result is not the same program).

    When renaming every local does not give the same program (names in f-strings, see
    :func:`_in_fstrings`), the names used in f-strings are kept and the rest renamed.
    """
    tree = parse_unit(unit.code)
    names = local_names(function_of(tree))
    if not names:
        return "no_site"
    taken = set(_IDENTIFIER.findall(unit.code)) | set(dir(builtins)) | set(keyword.kwlist)
    fstring_names = _in_fstrings(function_of(tree))
    outside = [name for name in names if name not in fstring_names]
    for attempt in (names, outside) if outside != names else (names,):
        renamed = _renamed(unit, tree, fresh_names(attempt, taken, unit.id)) if attempt else None
        if renamed is not None:
            return renamed
    return "rename_mismatch"
