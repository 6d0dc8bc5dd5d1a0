"""Rust definitions: free functions, methods of ``impl`` blocks and default methods of traits.

Methods are named after the type they are implemented for, whatever the trait
(``impl<T> Display for Stack<T>`` gives ``Stack.fmt``); a trait's default methods after the trait.
Inline modules (``mod tests { ... }``) are searched too: their header joins the ``enclosing``
context and their name the qualname, but their functions stay functions. Doc comments (``///``,
``/** */``) and attributes (``#[test]``) above a function belong to its header. Trait and
``extern`` function signatures are counted as bodiless; closures and nested ``fn`` items stay in the
body of the function that holds them.
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


def _is_doc(text: str) -> bool:
    """Outer doc comments only: ``////`` and ``/***`` are ordinary comments in Rust."""
    return (text.startswith("///") and not text.startswith("////")) or (
        text.startswith("/**") and not text.startswith(("/***", "/**/"))
    )


STYLE = Style(
    comments=frozenset({"line_comment", "block_comment"}),
    is_doc=_is_doc,
    attributes=frozenset({"attribute_item"}),
)

_TYPE_WRAPPERS = {
    "generic_type": "type",
    "reference_type": "type",
    "pointer_type": "type",
    "scoped_type_identifier": "name",
}


def imports(root: Node, text: SourceText) -> str:
    return block_lines([n for n in root.named_children if n.type == "use_declaration"], text)


def type_name(node: Node | None) -> str:
    """``Stack`` for ``Stack<T>``, ``&'a Stack``, ``crate::Stack``; other types as written."""
    while node is not None and node.type in _TYPE_WRAPPERS:
        node = node.child_by_field_name(_TYPE_WRAPPERS[node.type])
    return node_text(node)


def _items(container: Node, scopes: tuple[Scope, ...]) -> Iterator[Candidate]:
    for item in container.named_children:
        body = item.child_by_field_name("body")
        if item.type == "function_item":
            name = node_text(item.child_by_field_name("name"))
            yield Candidate(item, item, body, name, scopes)
        elif item.type == "function_signature_item":
            name = node_text(item.child_by_field_name("name"))
            yield Candidate(item, item, None, name, scopes)
        elif body is None:
            continue
        elif item.type == "impl_item":
            owner = type_name(item.child_by_field_name("type"))
            yield from _items(body, (*scopes, scope(item, body, owner)))
        elif item.type == "trait_item":
            owner = node_text(item.child_by_field_name("name"))
            yield from _items(body, (*scopes, scope(item, body, owner)))
        elif item.type == "mod_item":
            name = node_text(item.child_by_field_name("name"))
            yield from _items(body, (*scopes, scope(item, body, name, is_type=False)))
        elif item.type == "foreign_mod_item":
            yield from _items(body, (*scopes, scope(item, body, "extern", is_type=False)))


def candidates(root: Node) -> Iterator[Candidate]:
    return _items(root, ())
