"""A regex tokenizer that compares code without a syntax tree (other languages, unparsable Python).

Comparing token sequences (whitespace and comments removed) says whether two versions of a function
differ in more than layout, for every language, with no grammar-specific code. Strings are single
tokens, so whitespace inside a literal still counts as a change.

Which identifiers may be renamed freely is approximated without scopes: lower-case names that are
not keywords or predeclared types, not called (``name(``) and not members (``.name``, ``::name``).
Upper-case names (types, exported Go names, constants) and callees must stay the same: changing
them refers to something else.
"""

from __future__ import annotations

import re

_OPS = r"===|!==|==|!=|<=|>=|&&|\|\||<<|>>|\+\+|--|=>|->|::|:=|\.\.\.|\?\?|\?\."
_C_TOKENS = re.compile(
    r"(?P<comment>//[^\n]*|/\*.*?\*/)"
    r"|(?P<string>\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)"
    rf"|(?P<number>\d[\w.]*)|(?P<name>[A-Za-z_$][\w$]*)|(?P<op>{_OPS}|[^\s\w])|\s+",
    re.S,
)
_PY_TOKENS = re.compile(
    r"(?P<comment>#[^\n]*)"
    r"|(?P<string>'''.*?'''|\"\"\".*?\"\"\"|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')"
    rf"|(?P<number>\d[\w.]*)|(?P<name>[A-Za-z_][\w]*)|(?P<op>{_OPS}|[^\s\w])|\s+",
    re.S,
)
_KEYWORDS = frozenset(
    "if else for while do switch case default break continue return try catch finally throw "
    "new delete typeof instanceof in of void var let const function class extends super this "
    "null undefined true false async await yield import export from as static public private "
    "protected abstract final interface enum implements package throws synchronized native "
    "boolean byte char short int long float double func go defer chan map range struct select "
    "type fallthrough goto nil fn let mut impl trait pub use mod crate self match loop move "
    "ref where dyn unsafe extern bool string rune error any uint uint8 uint16 uint32 uint64 "
    "int8 int16 int32 int64 float32 float64 i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 "
    "usize f32 f64 str number unknown never object def elif pass not and or is lambda with "
    "raise except global nonlocal assert del None True False".split()
)
_BRANCH_WORDS = frozenset(
    "if else elif for while switch case try catch except match loop select".split()
)


def tokens(code: str, language: str) -> list[str]:
    """Code tokens without whitespace and comments (``#`` for Python, ``//``/``/* */`` else)."""
    pattern = _PY_TOKENS if language == "python" else _C_TOKENS
    return [
        match.group()
        for match in pattern.finditer(code)
        if match.lastgroup not in (None, "comment")
    ]


def _is_local_token(toks: list[str], i: int) -> bool:
    """A lower-case identifier that is not a keyword, not called and not a member name."""
    tok = toks[i]
    return (
        (tok[0].islower() or tok[0] in "_$")
        and tok not in _KEYWORDS
        and (i + 1 == len(toks) or toks[i + 1] != "(")
        and (i == 0 or toks[i - 1] not in (".", "?.", "::", "->"))
    )


def renamed_tokens(code: str, language: str) -> list[str]:
    """:func:`tokens` with local-looking identifiers numbered by first appearance."""
    toks = tokens(code, language)
    names: dict[str, str] = {}
    return [
        names.setdefault(tok, f"_{len(names)}") if _is_local_token(toks, i) else tok
        for i, tok in enumerate(toks)
    ]


def token_shape(code: str, language: str) -> tuple[int, int]:
    """(code lines, branch keywords): statement and branch counts for code without a tree."""
    pattern = _PY_TOKENS if language == "python" else _C_TOKENS
    code_only = pattern.sub(lambda m: "" if m.lastgroup == "comment" else m.group(), code)
    lines = sum(1 for line in code_only.splitlines() if line.strip())
    return lines, sum(tok in _BRANCH_WORDS for tok in tokens(code, language))
