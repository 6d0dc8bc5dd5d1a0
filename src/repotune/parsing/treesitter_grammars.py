"""Tree-sitter grammars for the languages repotune learns besides Python, and syntax checks on them.

Grammars come from the per-language wheels (never from a downloading language pack), so parsing
works offline and is pinned by the lockfile. A parser is built once per grammar and reused: building
one costs far more than parsing a typical file.

A *language* is what a :class:`~repotune.records.CodeUnit` records ("typescript" for ``.ts`` and
``.tsx`` alike); a *grammar* is what parses it ("tsx" for ``.tsx``, since the TypeScript grammar
rejects JSX and the TSX grammar rejects ``<T>value`` casts).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import PurePosixPath

import tree_sitter
import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_rust
import tree_sitter_typescript

LANGUAGE_BY_EXTENSION: dict[str, str] = {
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".go": "go",
    ".java": "java",
    ".rs": "rust",
}

_LANGUAGE_FACTORIES = {
    "javascript": tree_sitter_javascript.language,
    "typescript": tree_sitter_typescript.language_typescript,
    "tsx": tree_sitter_typescript.language_tsx,
    "go": tree_sitter_go.language,
    "java": tree_sitter_java.language,
    "rust": tree_sitter_rust.language,
}

GRAMMARS: frozenset[str] = frozenset(_LANGUAGE_FACTORIES)


def _suffix(path: str) -> str:
    return PurePosixPath(path).suffix.lower()


def language_for_path(path: str) -> str | None:
    """The unit language of a file, or ``None`` when no tree-sitter grammar covers it."""
    return LANGUAGE_BY_EXTENSION.get(_suffix(path))


def grammar_for_path(path: str) -> str | None:
    """The grammar that parses a file: its language, except ``tsx`` for ``.tsx`` files."""
    if _suffix(path) == ".tsx":
        return "tsx"
    return language_for_path(path)


@cache
def parser(grammar: str) -> tree_sitter.Parser:
    """A parser for ``grammar``, built on first use and shared afterwards."""
    if grammar not in _LANGUAGE_FACTORIES:
        raise ValueError(f"no tree-sitter grammar named {grammar!r}; known: {sorted(GRAMMARS)}")
    return tree_sitter.Parser(tree_sitter.Language(_LANGUAGE_FACTORIES[grammar]()))


def _first_error(node: tree_sitter.Node) -> tree_sitter.Node:
    """The first ERROR or MISSING node, descending only into subtrees that contain one."""
    while not (node.is_error or node.is_missing):
        node = next(child for child in node.children if child.has_error)
    return node


def parse_strict(grammar: str, source: str) -> tree_sitter.Tree:
    """Parse ``source``, raising ``SyntaxError`` where tree-sitter had to recover from an error.

    Tree-sitter never fails: it wraps what it cannot parse in ERROR nodes and invents MISSING ones.
    Units cut from such a tree could be half a function, so a damaged file is refused whole, the
    way ``ast.parse`` refuses a Python file.
    """
    tree = parser(grammar).parse(source.encode("utf-8", "surrogatepass"))
    if tree.root_node.has_error:
        bad = _first_error(tree.root_node)
        line, column = bad.start_point.row + 1, bad.start_point.column + 1
        what = f"missing {bad.type!r}" if bad.is_missing else "invalid syntax"
        raise SyntaxError(f"{what} ({grammar}) at line {line}, byte column {column}")
    return tree


def syntax_ok(language: str, source: str) -> bool:
    """Whether ``source`` parses without ERROR or MISSING nodes (``ast.parse`` for "python").

    "typescript" passes when either the TypeScript or the TSX grammar accepts the code: a unit's
    language does not say which file type it came from, and scoring must not fail JSX bodies.
    """
    if language == "python":
        try:
            ast.parse(source)
        except (SyntaxError, ValueError):
            return False
        return True
    grammars = ("typescript", "tsx") if language == "typescript" else (language,)
    data = source.encode("utf-8", "surrogatepass")
    return any(not parser(grammar).parse(data).root_node.has_error for grammar in grammars)


def _leaves(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Tokens in source order, without recursion (error-recovered trees can be deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.child_count == 0:
            yield current
        else:
            stack.extend(reversed(current.children))


def _closers(grammar: str, text: str) -> str:
    """One ``}`` line per block that ``text`` leaves open under ``grammar``, innermost first.

    A closer is indented like the least indented line of its block's header (the lines after the
    previous open block), so a header wrapped over several lines still closes at its own margin.
    """
    tree = parser(grammar).parse(text.encode("utf-8", "surrogatepass"))
    open_rows: list[int] = []
    for leaf in _leaves(tree.root_node):
        if leaf.is_missing:
            continue
        if leaf.type in ("{", "${"):
            open_rows.append(leaf.start_point.row)
        elif leaf.type == "}" and open_rows:
            open_rows.pop()
    lines = text.split("\n")
    closers = []
    for index, row in enumerate(open_rows):
        first = open_rows[index - 1] + 1 if index else 0
        header = [line for line in lines[first : row + 1] if line.strip()]
        margin = min((line[: len(line) - len(line.lstrip())] for line in header), key=len)
        closers.append(margin + "}\n")
    return "".join(reversed(closers))


def close_enclosing(language: str, enclosing: str) -> str:
    """Closing lines for the blocks ``enclosing`` leaves open, innermost first.

    A unit's prompt is ``enclosing + header`` and its completion the ``body``; neither holds the
    braces that close the enclosing class, impl or namespace, so a caller rebuilds a parseable
    snippet as ``join_snippet(prompt, completion, close_enclosing(language, enclosing))``.
    Because a unit's ``code`` is balanced, ``enclosing + code`` gives the same closers, so a scorer
    holding only a prompt and its reference completion can pass their concatenation instead.

    Braces are counted on the grammar's own tokens, so braces inside strings, comments and
    template literals (``${`` opens, its ``}`` closes) do not count. For "typescript" the TSX
    grammar is used when the closers it gives are the ones that make the text parse (JSX).
    Python needs none: its blocks close by indentation.
    """
    if language == "python" or not enclosing.strip():
        return ""
    grammars = ("typescript", "tsx") if language == "typescript" else (language,)
    for grammar in grammars:
        closers = _closers(grammar, enclosing)
        closed = join_snippet("", enclosing, closers).encode("utf-8", "surrogatepass")
        if not parser(grammar).parse(closed).root_node.has_error:
            return closers
    return _closers(grammars[0], enclosing)


def join_snippet(prompt: str, completion: str, closer: str) -> str:
    """``prompt + completion + closer``, with a line break before the closer when it lacks one.

    A completion that ends mid-line (possibly in a ``//`` comment) would otherwise swallow the
    first closing brace.
    """
    separator = "\n" if closer and completion and not completion.endswith("\n") else ""
    return prompt + completion + separator + closer
