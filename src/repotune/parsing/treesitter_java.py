"""Java definitions: methods and constructors of classes, interfaces, enums and records.

Every Java method lives in a type, so every unit is a method whose ``enclosing`` holds the headers
of its type and of the types around it (``Outer.Inner.method``). Interface methods with a body
(``default``, ``static``, ``private``) are units; abstract, interface and ``native`` methods have no
body and are counted as such. Annotation types declare elements, not methods, and are skipped;
anonymous and local classes stay inside the body of the method that holds them.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from repotune.parsing.treesitter_base import (
    Candidate,
    Scope,
    SourceText,
    Style,
    block_lines,
    node_text,
    scope,
)

STYLE = Style(
    comments=frozenset({"block_comment", "line_comment"}),
    is_doc=lambda text: text.startswith("/**") and not text.startswith("/**/"),
)

_TYPES = frozenset(
    {"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"}
)
_METHODS = frozenset(
    {"method_declaration", "constructor_declaration", "compact_constructor_declaration"}
)


def imports(root: Node, text: SourceText) -> str:
    return block_lines([n for n in root.named_children if n.type == "import_declaration"], text)


def _type(node: Node, scopes: tuple[Scope, ...]) -> Iterator[Candidate]:
    """Units of one type body. An enum's members follow its constants and the ``;`` after them,
    and a method cannot be written before that ``;``, so the constants join the enum's header."""
    body = node.child_by_field_name("body")
    if body is None:
        return
    members, opener = body.named_children, body
    for child in body.named_children:
        if child.type == "enum_body_declarations":
            members, opener = child.named_children, child
    inner = (*scopes, scope(node, opener, node_text(node.child_by_field_name("name"))))
    for member in members:
        if member.type in _METHODS:
            name = node_text(member.child_by_field_name("name"))
            yield Candidate(member, member, member.child_by_field_name("body"), name, inner)
        elif member.type in _TYPES:
            yield from _type(member, inner)


def candidates(root: Node) -> Iterator[Candidate]:
    for child in root.named_children:
        if child.type in _TYPES:
            yield from _type(child, ())
