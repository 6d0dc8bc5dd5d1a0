"""JavaScript and TypeScript definitions: what a JS/TS developer would call a function.

Units are function declarations (exported or not), functions and arrows bound to a top-level
``const``/``let``/``var``, class methods (constructors, static, async, accessors, TS modifiers) and
arrow-valued class fields (``onClick = () => {...}``, a method in all but syntax). Overload
signatures, ``declare``d functions, abstract methods and interface methods have no body and are
counted as such; interfaces themselves are types, not units. TS namespaces are scopes whose
functions stay functions. Only the file's top level and class bodies are searched, so functions
nested in other functions stay in their parent's body.
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
    comments=frozenset({"comment"}),
    is_doc=lambda text: text.startswith("/**") and not text.startswith("/**/"),
    attributes=frozenset({"decorator"}),
)

_FUNCTION_DECLARATIONS = frozenset({"function_declaration", "generator_function_declaration"})
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "generator_function"})
_CLASSES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
_VARIABLES = frozenset({"lexical_declaration", "variable_declaration"})
_SIGNATURES = frozenset({"function_signature", "method_signature", "abstract_method_signature"})
_NAMESPACES = frozenset({"internal_module", "module"})
_FIELDS = {"field_definition": "property", "public_field_definition": "name"}


def imports(root: Node, text: SourceText) -> str:
    return block_lines([n for n in root.named_children if n.type == "import_statement"], text)


def _unwrap(node: Node) -> Node | None:
    """The declaration inside ``export``/``export default``/``declare`` wrappers."""
    if node.type == "export_statement":
        return node.child_by_field_name("declaration") or node.child_by_field_name("value")
    if node.type == "ambient_declaration":
        return node.named_children[0] if node.named_children else None
    if node.type == "expression_statement" and node.named_children:
        inner = node.named_children[0]
        return inner if inner.type in _NAMESPACES else None
    return node


def _declared_function(outer: Node, inner: Node, scopes: tuple[Scope, ...]) -> Candidate | None:
    """A candidate for ``const name = <function>`` with a single declarator, else ``None``."""
    declarators = [n for n in inner.named_children if n.type == "variable_declarator"]
    if len(declarators) != 1:
        return None
    value = declarators[0].child_by_field_name("value")
    if value is None or value.type not in _FUNCTION_VALUES:
        return None
    name = node_text(declarators[0].child_by_field_name("name"))
    return Candidate(outer, outer, value.child_by_field_name("body"), name, scopes)


def _class_members(body: Node, scopes: tuple[Scope, ...]) -> Iterator[Candidate]:
    for member in body.named_children:
        if member.type == "method_definition":
            name = node_text(member.child_by_field_name("name"))
            yield Candidate(member, member, member.child_by_field_name("body"), name, scopes)
        elif member.type in _SIGNATURES:
            name = node_text(member.child_by_field_name("name"))
            yield Candidate(member, member, None, name, scopes)
        elif member.type in _FIELDS:
            value = member.child_by_field_name("value")
            if value is not None and value.type in _FUNCTION_VALUES:
                name = node_text(member.child_by_field_name(_FIELDS[member.type]))
                yield Candidate(member, member, value.child_by_field_name("body"), name, scopes)


def _statement(outer: Node, scopes: tuple[Scope, ...]) -> Iterator[Candidate]:
    inner = _unwrap(outer)
    if inner is None:
        return
    name = node_text(inner.child_by_field_name("name")) or "default"
    body = inner.child_by_field_name("body")
    exported_value = outer.type == "export_statement" and inner.type in _FUNCTION_VALUES
    if inner.type in _FUNCTION_DECLARATIONS or exported_value:
        yield Candidate(outer, outer, body, name, scopes)
    elif inner.type in _SIGNATURES:
        yield Candidate(outer, outer, None, name, scopes)
    elif inner.type in _VARIABLES:
        found = _declared_function(outer, inner, scopes)
        if found is not None:
            yield found
    elif inner.type in _CLASSES and body is not None:
        yield from _class_members(body, (*scopes, scope(outer, body, name)))
    elif inner.type == "interface_declaration" and body is not None:
        for member in body.named_children:
            if member.type in _SIGNATURES:
                method = node_text(member.child_by_field_name("name"))
                yield Candidate(member, member, None, method, scopes)
    elif inner.type in _NAMESPACES and body is not None:
        inner_scopes = (*scopes, scope(outer, body, name, is_type=False))
        for child in body.named_children:
            yield from _statement(child, inner_scopes)


def candidates(root: Node) -> Iterator[Candidate]:
    for child in root.named_children:
        yield from _statement(child, ())
