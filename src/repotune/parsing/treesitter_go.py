"""Go definitions: top-level functions and methods.

A Go method is declared at top level with a receiver, not inside a type's block, so it has no
``enclosing`` header; its qualname names the receiver's type (``(s *Server[T]) Start`` is
``Server.Start``). The doc comment is the run of ``//`` lines right above the ``func``. Functions
without a body (implemented in assembly) and interface method specs are counted as bodiless;
function literals stay inside the body of the function that holds them.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from repotune.parsing.treesitter_base import Candidate, SourceText, Style, block_lines, node_text

STYLE = Style(comments=frozenset({"comment"}), is_doc=lambda text: True)

_WRAPPED_TYPES = frozenset({"pointer_type", "parenthesized_type"})


def imports(root: Node, text: SourceText) -> str:
    return block_lines([n for n in root.named_children if n.type == "import_declaration"], text)


def receiver_type(method: Node) -> str:
    """The receiver's type name, without pointer, parentheses or type arguments."""
    receiver = method.child_by_field_name("receiver")
    params = receiver.named_children if receiver is not None else []
    declared = [n for n in params if n.type == "parameter_declaration"]
    node = declared[0].child_by_field_name("type") if declared else None
    while node is not None and node.type in _WRAPPED_TYPES:
        node = node.named_children[0] if node.named_children else None
    while node is not None and node.type == "generic_type":
        node = node.child_by_field_name("type")
    return node_text(node)


def _interface_methods(declaration: Node) -> Iterator[Candidate]:
    """Bodiless candidates for the method specs of interfaces declared at top level."""
    for spec in declaration.named_children:
        kind = spec.child_by_field_name("type") if spec.type == "type_spec" else None
        if kind is not None and kind.type == "interface_type":
            for elem in kind.named_children:
                if elem.type == "method_elem":
                    name = node_text(elem.child_by_field_name("name"))
                    yield Candidate(elem, elem, None, name, ())


def candidates(root: Node) -> Iterator[Candidate]:
    for child in root.named_children:
        body = child.child_by_field_name("body")
        name = node_text(child.child_by_field_name("name"))
        if child.type == "function_declaration":
            yield Candidate(child, child, body, name, ())
        elif child.type == "method_declaration":
            yield Candidate(child, child, body, name, (), receiver=receiver_type(child))
        elif child.type == "type_declaration":
            yield from _interface_methods(child)
