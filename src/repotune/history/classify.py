"""Judge one function's before/after change: formatting only, or a bugfix, refactor or feature.

Pure functions over two code strings, so every rule is unit-tested on snippets. Evidence from the
code decides first, the commit message second, because messages are often vague ("update") and
sometimes wrong, while a proven rename cannot be a bug fix. :func:`classify` applies the first
rule that holds:

1. **docstring only** (Python) → ``other``: documentation edits neither fix nor restructure code,
   and a "fix typo" message must not put them among the repair pairs.
2. **rename only** → ``refactor``, whatever the message: the change is a consistent renaming of
   local names (parameters, assigned variables, nested definitions). Free names and attributes
   must stay the same: ``sorted`` → ``reversed`` or ``.lower()`` → ``.upper()`` calls something
   else, so it is a behaviour change. Python compares ``ast`` trees with local names replaced by
   positional placeholders (equal trees ⟺ a bijective renaming exists); other languages compare
   token sequences where lower-case identifiers that are not called, not members, not keywords
   and not predeclared types get placeholders.
3. the message says **bugfix** → ``bugfix`` (the change is not a rename, so something changed).
4. the message says **refactor** → ``refactor``.
5. the message says **feature** and the change adds statements or branches → ``feature``.
6. anything else → ``other``.

"Structure-preserving" edits (reordered statements, changed constants or operators) are *not*
refactor evidence: they change behaviour often enough (``<`` → ``<=`` is the classic off-by-one
fix) that only the message may call them a refactor.

The message's intent: a Conventional Commits type (``fix:``, ``feat(api)!:``, ``refactor:``;
``docs:``/``chore:``/... mean none of the three) decides; otherwise keywords in the subject line,
bugfix before refactor before feature ("add a check to fix the crash" is a fix).
"""

from __future__ import annotations

import ast
import copy
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from repotune.history.tokens import renamed_tokens, token_shape, tokens

Kind = Literal["bugfix", "refactor", "feature", "other"]
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

_PY_BRANCHES = (
    ast.If,
    ast.IfExp,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.Try,
    ast.TryStar,
    ast.ExceptHandler,
    ast.With,
    ast.AsyncWith,
    ast.Match,
)

_CONVENTIONAL = re.compile(r"^\s*(?P<type>[a-z]+)(?:\([^)]*\))?!?:", re.I)
_CONVENTIONAL_KIND: dict[str, Kind | None] = {
    "fix": "bugfix",
    "bugfix": "bugfix",
    "hotfix": "bugfix",
    "feat": "feature",
    "feature": "feature",
    "refactor": "refactor",
    **dict.fromkeys(("docs", "chore", "style", "test", "perf", "build", "ci"), None),
}
_MESSAGE_KEYWORDS: list[tuple[Kind, re.Pattern[str]]] = [
    (
        "bugfix",
        re.compile(
            r"\b(fix(es|ed|ing)?|bug(s|fix)?|crash(es|ed|ing)?|errors?|issues?|regressions?"
            r"|typos?|wrong|broken|incorrect)\b",
            re.I,
        ),
    ),
    (
        "refactor",
        re.compile(
            r"\b(refactor\w*|renam\w*|clean(s|ed|ing)?[\s-]?up|simplif\w*|extract\w*"
            r"|mov(e|es|ed|ing)|tid(y|ies|ied|ying))\b",
            re.I,
        ),
    ),
    (
        "feature",
        re.compile(r"\b(add(s|ed|ing)?|implement\w*|support\w*|introduc\w*|new|features?)\b", re.I),
    ),
]


def parse_function(code: str) -> FunctionNode | None:
    """The outermost function of a Python unit's code (methods arrive indented), or None."""
    for source in (textwrap.dedent(code), "if True:\n" + code):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, FunctionNode):
                return node
    return None


def _dump(node: ast.AST) -> str:
    return ast.dump(node, include_attributes=False)


def _without_docstring(fn: FunctionNode) -> str:
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        if isinstance(first.value.value, str):
            stripped = copy.copy(fn)
            stripped.body = fn.body[1:]
            return _dump(stripped)
    return _dump(fn)


def _local_names(fn: FunctionNode) -> set[str]:
    """Names bound inside ``fn``: renaming them consistently cannot change what it does."""
    bound: set[str] = set()
    declared_outer: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, FunctionNode | ast.ClassDef) and node is not fn:
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.alias) and node.asname:
            bound.add(node.asname)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            declared_outer.update(node.names)
    return bound - declared_outer


def _alpha_dump(fn: FunctionNode) -> str:
    """``fn``'s tree with local names replaced by placeholders numbered by first appearance.

    Renames in place (a deep copy cost more than the rest of the classification together).
    """
    local = _local_names(fn)
    names: dict[str, str] = {}

    def canon(name: str) -> str:
        return names.setdefault(name, f"_{len(names)}") if name in local else name

    for node in ast.walk(fn):
        if isinstance(node, ast.Name):
            node.id = canon(node.id)
        elif isinstance(node, ast.arg):
            node.arg = canon(node.arg)
        elif isinstance(node, FunctionNode | ast.ClassDef) and node is not fn:
            node.name = canon(node.name)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            node.name = canon(node.name)
        elif isinstance(node, ast.alias) and node.asname:
            node.asname = canon(node.asname)
    return _dump(fn)


@dataclass(frozen=True)
class _PythonFacts:
    """What the rules compare about one Python function, computed once per code string."""

    tree: str
    without_docstring: str
    renamed: str
    shape: tuple[int, int]


@lru_cache(maxsize=4096)
def _python_facts(code: str) -> _PythonFacts | None:
    fn = parse_function(code)
    if fn is None:
        return None
    nodes = list(ast.walk(fn))
    shape = (
        sum(isinstance(n, ast.stmt) for n in nodes),
        sum(isinstance(n, _PY_BRANCHES) for n in nodes),
    )
    return _PythonFacts(_dump(fn), _without_docstring(fn), _alpha_dump(fn), shape)


def _both_python(
    before: str, after: str, language: str
) -> tuple[_PythonFacts, _PythonFacts] | None:
    """Facts of both sides when they are Python and parse; None sends a rule to the tokens."""
    if language != "python":
        return None
    old, new = _python_facts(before), _python_facts(after)
    return (old, new) if old is not None and new is not None else None


def formatting_only(before: str, after: str, language: str) -> bool:
    """True when only layout or comments changed (Python: equal ``ast``; else equal tokens)."""
    facts = _both_python(before, after, language)
    if facts:
        return facts[0].tree == facts[1].tree
    return tokens(before, language) == tokens(after, language)


def docstring_only(before: str, after: str, language: str) -> bool:
    """True when a Python function's docstring changed and nothing else did."""
    facts = _both_python(before, after, language)
    if not facts or facts[0].tree == facts[1].tree:
        return False
    return facts[0].without_docstring == facts[1].without_docstring


def rename_only(before: str, after: str, language: str) -> bool:
    """True when the change is a consistent renaming of local names (see the module docstring)."""
    facts = _both_python(before, after, language)
    if facts:
        return facts[0].renamed == facts[1].renamed
    return renamed_tokens(before, language) == renamed_tokens(after, language)


def _shape(code: str, language: str) -> tuple[int, int]:
    """(statements, branches): Python from the tree, else (code lines, branch keywords)."""
    facts = _python_facts(code) if language == "python" else None
    if facts:
        return facts.shape
    return token_shape(code, language)


def adds_structure(before: str, after: str, language: str) -> bool:
    """True when the new code has more statements or more branches than the old."""
    old, new = _shape(before, language), _shape(after, language)
    return new[0] > old[0] or new[1] > old[1]


def message_intent(message: str) -> Kind | None:
    """What the commit message says the change is, or None when it says none of the three."""
    subject = next((line for line in message.splitlines() if line.strip()), "")
    conventional = _CONVENTIONAL.match(subject)
    if conventional and conventional["type"].lower() in _CONVENTIONAL_KIND:
        return _CONVENTIONAL_KIND[conventional["type"].lower()]
    for kind, pattern in _MESSAGE_KEYWORDS:
        if pattern.search(subject):
            return kind
    return None


def classify(before: str, after: str, language: str, message: str) -> Kind:
    """The change's kind by the precedence in the module docstring."""
    if docstring_only(before, after, language):
        return "other"
    if rename_only(before, after, language):
        return "refactor"
    intent = message_intent(message)
    if intent in ("bugfix", "refactor"):
        return intent
    if intent == "feature" and adds_structure(before, after, language):
        return "feature"
    return "other"
