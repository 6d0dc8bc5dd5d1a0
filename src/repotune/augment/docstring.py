"""Surface variants that keep the program: a reworded docstring, and normalised formatting.

A model should not tie what a function does to how its summary line is phrased or how its code
is laid out, so a unit gets (a) its docstring with one template applied to the summary line,
edited in place so code and comments stay as written, and (b) the ``ast.unparse`` round trip of
its code: normalised spacing, quotes and line breaks, comments gone. Each variant must parse;
the docstring one must equal the original as a tree except for the docstring's text, the
reformatted one must equal it entirely.

Docstring templates (one is chosen from the unit's id among those that apply):

- ``verb``: the first word between imperative and third person ("Return" / "Returns"), for the
  verbs in :data:`VERBS`.
- ``period``: the summary line's trailing period dropped, or added when it has none.
- ``wrap``: a one-line triple-quoted docstring gets its closing quotes on a line of their own.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

from repotune.augment.code import (
    Rewrite,
    code_shape,
    docstring_expr,
    draw,
    function_of,
    parse_unit,
    render,
    replace_spans,
    shape,
    span_text,
    unit_indent,
)
from repotune.parsing.python_units import source_lines
from repotune.records import CodeUnit

_IMPERATIVE = (
    "Add", "Apply", "Build", "Calculate", "Check", "Clamp", "Close", "Compare", "Compute",
    "Convert", "Count", "Create", "Determine", "Extract", "Fetch", "Find", "Format", "Generate",
    "Get", "Handle", "Load", "Make", "Merge", "Normalize", "Open", "Parse", "Read", "Remove",
    "Render", "Resolve", "Return", "Run", "Send", "Set", "Split", "Update", "Validate", "Write",
    "Yield",
)  # fmt: skip
VERBS = {
    **{verb: verb + ("es" if verb.endswith(("ch", "sh", "x")) else "s") for verb in _IMPERATIVE},
    "Apply": "Applies",
}
"""Imperative -> third person; the template maps either way."""
_THIRD = {third: verb for verb, third in VERBS.items()}
_LITERAL = re.compile(r"(?s)([rRuU]?)(\"\"\"|'''|\"|')(.*)\2")
_FIRST_WORD = re.compile(r"[A-Za-z]+")


def _summary(content: str) -> tuple[int, int]:
    """Start and end offsets of the first non-blank line of a docstring's raw content."""
    start = 0
    for line in source_lines(content):
        if line.strip():
            begin = start + len(line) - len(line.lstrip())
            return begin, start + len(line.rstrip())
        start += len(line)
    return 0, 0


def _strings(text: str) -> int:
    """How many string tokens ``text`` holds (1 for a plain literal)."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return sum(token.type == tokenize.STRING for token in tokens)


def _templates(content: str, closing: str | None) -> list[str]:
    """``content`` rewritten by each template that applies; ``closing`` is the indentation
    for the closing quotes of a wrapped one-line docstring (None: not triple-quoted)."""
    begin, end = _summary(content)
    line = content[begin:end]
    if not line:
        return []
    variants = []
    word = _FIRST_WORD.match(line)
    if word and (swap := VERBS.get(word.group()) or _THIRD.get(word.group())):
        variants.append(content[:begin] + swap + content[begin + word.end() :])
    if line.endswith(".") and not line.endswith(("..", "\\.")):
        variants.append(content[: end - 1] + content[end:])
    elif line[-1].isalnum() or line[-1] in ")]`":
        variants.append(content[:end] + "." + content[end:])
    if closing is not None and "\n" not in content:
        variants.append(content + "\n" + closing)
    # a quote or backslash just before the closing quotes would end or escape them
    return [variant for variant in variants if not variant.endswith(('"', "'", "\\"))]


def docstring_variant(unit: CodeUnit) -> Rewrite | str:
    """The unit's code with its docstring's summary line reworded, or why not: ``no_docstring``,
    ``no_site`` (no template applies), ``syntax_error`` or ``docstring_mismatch`` (the rest of
    the tree changed: a safety net that no known input reaches)."""
    tree = parse_unit(unit.code)
    doc = docstring_expr(function_of(tree))
    if doc is None:
        return "no_docstring"
    indent = unit_indent(unit.code)
    span = (doc.lineno, doc.col_offset, doc.end_lineno or doc.lineno, doc.end_col_offset or 0)
    text = span_text(unit.code, indent, span)
    literal = _LITERAL.fullmatch(text)
    if literal is None or _strings(text) != 1:
        return "no_site"  # implicitly concatenated strings: left alone
    prefix, quote, content = literal.groups()
    closing = indent + " " * doc.col_offset if len(quote) == 3 else None
    options = _templates(content, closing)
    if not options:
        return "no_site"
    content = options[draw(unit.id, "docstring", len(options))]
    code = replace_spans(unit.code, indent, [(*span, prefix + quote + content + quote)])
    try:
        varied = parse_unit(code)
    except (SyntaxError, ValueError):
        return "syntax_error"
    new_doc = docstring_expr(function_of(varied))
    if new_doc is None:
        return "docstring_mismatch"
    for node in (doc, new_doc):
        node.value = ast.Constant("")
    return Rewrite(code) if shape(varied) == shape(tree) else "docstring_mismatch"


def normalised(unit: CodeUnit) -> str:
    """The unit's code as ``ast.unparse`` writes it, at the unit's indentation."""
    return render(parse_unit(unit.code), unit_indent(unit.code))


def reformat(unit: CodeUnit) -> Rewrite | str:
    """The normalised code, or why not: ``no_op`` (the unit is written that way already) or
    ``reformat_mismatch`` (the round trip changed the tree: a safety net)."""
    code = normalised(unit)
    if code.rstrip() == unit.code.rstrip():
        return "no_op"
    same = shape(parse_unit(code)) == code_shape(unit.code)
    return Rewrite(code) if same else "reformat_mismatch"
