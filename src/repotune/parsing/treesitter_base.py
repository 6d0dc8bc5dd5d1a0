"""Language-neutral half of the tree-sitter extractors: from a found definition to a CodeUnit.

Each language module only finds definitions (:class:`Candidate`) and the blocks around them
(:class:`Scope`); cutting them into header and body, finding doc comments and deciding what to drop
happens here, once, so every language follows the same contract as the Python extractor.

Tree-sitter positions are (row, byte column). Only rows are used: lines are sliced from the text,
so multi-byte characters never shift a cut. Rows count ``\\n`` only, so the text is split on
``\\n`` only too (``str.splitlines`` also breaks on form feeds and Unicode separators).
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node

from repotune.parsing.python_units import FileOrigin
from repotune.records import CodeUnit

_DIRECTIVE = re.compile(r"^//[a-z0-9]+:[a-z0-9]")
_SEPARATORS = frozenset({";", ",", "empty_statement"})
"""What may follow a definition on its last line: ``};`` after a function is still one unit."""
_SKIPPED_IN_SIGNATURE = frozenset(
    {"decorator", "annotation", "marker_annotation", "attribute_item"}
)


@dataclass(frozen=True)
class Style:
    """What may precede a definition and belong to it, in one language.

    ``is_doc`` tells doc comments from other comments by their text; ``attributes`` are node types
    (decorators, attributes) that the grammar places before a definition as siblings.
    """

    comments: frozenset[str]
    is_doc: Callable[[str], bool]
    attributes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Scope:
    """A block around definitions: class, interface, enum, impl, trait, module or namespace.

    ``start_row..open_row`` is its header; ``is_type`` is false for modules and namespaces, whose
    functions stay functions; ``shared`` marks a header that starts on a line with other code.
    """

    name: str
    start_row: int
    open_row: int
    is_type: bool
    shared: bool = False


@dataclass(frozen=True)
class Candidate:
    """A function-like definition found by a language walker.

    ``node`` spans the whole definition (an ``export`` or ``const`` wrapper included) and sits
    among its siblings; ``decl`` is the node whose children give where the signature starts;
    ``body`` is ``None`` for a declaration without one.
    """

    node: Node
    decl: Node
    body: Node | None
    name: str
    scopes: tuple[Scope, ...]
    receiver: str = ""


class SourceText:
    """The file's lines, sliced by tree-sitter rows."""

    def __init__(self, source: str) -> None:
        parts = source.split("\n")
        if parts[-1] == "":
            parts.pop()
        self.lines = [part + "\n" for part in parts]

    def rows(self, first: int, last: int) -> str:
        """Rows ``first..last`` (0-based, inclusive) joined back into source."""
        return "".join(self.lines[first : last + 1])


def last_row(node: Node) -> int:
    """The last row holding part of ``node``; tokens that end with their newline (Rust line
    comments) end at column 0 of the next row."""
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def node_text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def scope(node: Node, opener: Node, name: str, is_type: bool = True) -> Scope:
    """The scope declared by ``node``, whose header ends on the first row of ``opener`` (its
    body, or what must precede the members, like a Java enum's constants)."""
    return Scope(name, node.start_point.row, opener.start_point.row, is_type, _shares_start(node))


def block_lines(nodes: list[Node], text: SourceText) -> str:
    """The full lines of each node, in order (the file's imports)."""
    return "".join(text.rows(node.start_point.row, last_row(node)) for node in nodes)


def _shares_start(node: Node) -> bool:
    before = node.prev_sibling
    return (
        before is not None
        and last_row(before) == node.start_point.row
        and "comment" not in before.type
    )


def _shares_end(node: Node) -> bool:
    after = node.next_sibling
    while after is not None and after.type in _SEPARATORS:
        after = after.next_sibling
    return (
        after is not None
        and after.start_point.row == last_row(node)
        and "comment" not in after.type
    )


def _leading(node: Node, style: Style) -> list[Node]:
    """Doc comments and attributes directly above ``node`` (no blank line between), in order."""
    found: list[Node] = []
    current = node
    before = node.prev_sibling
    while before is not None and last_row(before) >= current.start_point.row - 1:
        is_doc = before.type in style.comments and style.is_doc(node_text(before))
        if not (is_doc or before.type in style.attributes):
            break
        found.append(before)
        current, before = before, before.prev_sibling
    return found[::-1]


def _signature_row(decl: Node) -> int:
    """The first row of the signature proper: after decorators and annotations."""
    for child in decl.children:
        if child.type in _SKIPPED_IN_SIGNATURE or "comment" in child.type:
            continue
        if child.type == "modifiers":
            kept = [m for m in child.children if m.type not in _SKIPPED_IN_SIGNATURE]
            if kept:
                return kept[0].start_point.row
            continue
        return child.start_point.row
    return decl.start_point.row


def doc_text(comments: list[str]) -> str:
    """Comment text without its markers (``/** */``, leading ``*``, ``//``, ``///``), dedented.

    Go directives such as ``//go:generate`` are code, not documentation, and are left out.
    """
    lines: list[str] = []
    for raw in comments:
        text = raw.strip()
        if text.startswith("/*"):
            text = re.sub(r"^/\*[*!]?", "", text).removesuffix("*/")
            for line in text.split("\n"):
                stripped = line.lstrip()
                lines.append(stripped[1:] if stripped.startswith("*") else line)
        elif not _DIRECTIVE.match(text):
            lines.append(re.sub(r"^//[/!]?", "", text))
    return inspect.cleandoc("\n".join(line.rstrip() for line in lines))


def _is_empty_block(body: Node) -> bool:
    """A ``{ }`` body holding nothing but comments; expression bodies are never empty."""
    if body.child_count == 0 or body.children[0].type != "{":
        return False
    stack = list(body.named_children)
    while stack:
        child = stack.pop()
        if child.type == "statement_list":
            stack.extend(child.named_children)
        elif "comment" not in child.type:
            return False
    return True


def build_unit(
    found: Candidate,
    text: SourceText,
    style: Style,
    context: tuple[str, FileOrigin, str],
    drops: Counter[str],
) -> CodeUnit | None:
    """Cut one definition into a unit, or count why it is dropped and return ``None``.

    ``context`` is (language, origin, the file's imports). Drop reasons: ``no_body`` (declaration,
    signature, or an empty body), ``inline_body`` (the body opens and closes on one line),
    ``shared_line`` (the definition shares its first or last line with other code, so whole lines
    would not be balanced).
    """
    language, origin, imports = context
    body = found.body
    if body is None:
        drops["no_body"] += 1
        return None
    open_row, end_row = body.start_point.row, last_row(found.node)
    if open_row >= last_row(body):
        drops["inline_body"] += 1
        return None
    if _is_empty_block(body):
        drops["no_body"] += 1
        return None
    leading = _leading(found.node, style)
    first = leading[0] if leading else found.node
    if _shares_start(first) or _shares_end(found.node) or any(s.shared for s in found.scopes):
        drops["shared_line"] += 1
        return None
    start_row = first.start_point.row
    docs = [node_text(node) for node in leading if node.type in style.comments]
    owners = [s.name for s in found.scopes]
    if found.receiver:
        owners.append(found.receiver)
    return CodeUnit(
        repo=origin.repo,
        commit=origin.commit,
        path=origin.path,
        language=language,
        kind="method" if found.receiver or any(s.is_type for s in found.scopes) else "function",
        qualname=".".join([*owners, found.name]),
        signature=text.rows(_signature_row(found.decl), open_row).rstrip() + "\n",
        docstring=doc_text(docs),
        header=text.rows(start_row, open_row),
        body=text.rows(open_row + 1, end_row),
        code=text.rows(start_row, end_row),
        imports=imports,
        enclosing="".join(text.rows(s.start_row, s.open_row) for s in found.scopes),
        start_line=start_row + 1,
        end_line=end_row + 1,
    )
