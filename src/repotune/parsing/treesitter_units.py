"""Functions and methods of JavaScript, TypeScript, Go, Java and Rust files as CodeUnit records.

The contract is the Python extractor's (:mod:`repotune.parsing.python_units`): a unit is cut into a
``header`` (doc comment, decorators/annotations/attributes and signature, up to and including the
line that opens the body) and a ``body`` (the rest, down to the line with the closing brace), so
``header + body == code``. The prompt is ``enclosing + header`` (``enclosing`` being the headers of
the classes, impls, traits, namespaces or modules around the unit) and the completion is ``body``.

Those braces that close the enclosing blocks are in neither part; a caller that needs a parseable
snippet (to score a generated body) appends them::

    closer = close_enclosing(unit.language, unit.enclosing)
    syntax_ok(unit.language, join_snippet(prompt, completion, closer))

A scorer that holds only a sample's prompt and reference completion gets the same closer from
``close_enclosing(language, prompt + reference)``: a unit's own code is balanced.

Lines, not byte ranges, are sliced: a cut never splits a multi-byte character, and whole lines keep
the indentation a model must reproduce.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from types import ModuleType

from tree_sitter import Node

from repotune.parsing import treesitter_go, treesitter_java, treesitter_js, treesitter_rust
from repotune.parsing.python_units import FileOrigin
from repotune.parsing.treesitter_base import Candidate, SourceText, Style, build_unit
from repotune.parsing.treesitter_grammars import (
    LANGUAGE_BY_EXTENSION,
    close_enclosing,
    grammar_for_path,
    join_snippet,
    language_for_path,
    parse_strict,
    syntax_ok,
)
from repotune.records import CodeUnit

__all__ = [
    "EXTRACTOR_VERSION",
    "LANGUAGE_BY_EXTENSION",
    "close_enclosing",
    "extract_ts_units",
    "grammar_for_path",
    "join_snippet",
    "language_for_path",
    "syntax_ok",
]

EXTRACTOR_VERSION = "treesitter-1"

_WALKERS: dict[str, ModuleType] = {
    "javascript": treesitter_js,
    "typescript": treesitter_js,
    "go": treesitter_go,
    "java": treesitter_java,
    "rust": treesitter_rust,
}


def _walker(language: str) -> tuple[Callable[[Node], Iterator[Candidate]], Style]:
    module = _WALKERS[language]
    return module.candidates, module.STYLE


def extract_ts_units(
    source: str, path: str, origin: FileOrigin, drops: Counter[str] | None = None
) -> list[CodeUnit]:
    """Code units of one file, its language chosen by ``path``; skipped ones are counted in
    ``drops`` (``no_body``, ``inline_body``, ``shared_line``).

    Raises ``SyntaxError`` when the tree has ERROR or MISSING nodes (the caller counts the file,
    as for ``ast.parse``) and ``ValueError`` for a path no grammar covers: route files with
    :func:`language_for_path` first.
    """
    drops = drops if drops is not None else Counter()
    language, grammar = language_for_path(path), grammar_for_path(path)
    if language is None or grammar is None:
        raise ValueError(f"no tree-sitter grammar for {path!r}")
    root = parse_strict(grammar, source).root_node
    text = SourceText(source)
    find, style = _walker(language)
    context = (language, origin, _WALKERS[language].imports(root, text))
    units = []
    for found in find(root):
        unit = build_unit(found, text, style, context, drops)
        if unit is not None:
            units.append(unit)
    return units
