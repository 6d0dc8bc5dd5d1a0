"""Credentials named by their key (``password = "..."``) or embedded in URLs (``user:pw@host``).

Only the value is a hit: the key, quotes and URL stay, so scrubbed code keeps its shape. Most of
this module is about what is *not* a secret, because assignments to secret-sounding names are
common in code that holds no secret at all (see :func:`is_placeholder` and :func:`_value_ok`).
"""

from __future__ import annotations

import re

from repotune.privacy.detectors import Hit, in_ini_section
from repotune.privacy.entropy import looks_like_words

# Key names whose last word (camelCase/snake/kebab split) marks a secret value.
_SECRET_WORDS = frozenset(
    "password passwd pwd passphrase secret token auth authorization credential credentials apikey "
    "accesskey secretkey privatekey authkey authtoken accesstoken apitoken clientsecret".split()
)
_STRONG_WORDS = frozenset({"password", "passwd", "pwd", "passphrase"})
# ``<qualifier>_key`` is a secret; a bare ``key`` (dict keys, cache keys, sort keys) is not.
_KEY_QUALIFIERS = frozenset(
    "api access secret private auth signing encryption master account storage app consumer "
    "client service session webhook shared".split()
)
# ``pad_token``, ``max_tokens``... name tokenizer symbols and counts, not credentials.
_NOT_SECRET_TOKENS = frozenset(
    "pad eos bos unk sep cls mask max min num special start end image audio video input output "
    "prompt completion total next page cursor continuation".split()
)
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")

# Every secret key name contains one of these (lower-cased); ``str.find`` locates them far faster
# than a case-insensitive regex alternation, which cannot skip ahead.
_SEEDS = ("pass", "pwd", "secret", "token", "credential", "auth", "key")
_KEY_TAIL = re.compile(r"[\w.-]*")
# What follows a key: closing quote/bracket, operator (a type annotation allowed), value.
_ASSIGNMENT = re.compile(
    r"(?P<close>[\"'`]?\]?)[ \t]*"
    r"(?P<op>:[ \t]*[A-Za-z_][\w.\[\], |]*?[ \t]*=(?!=)|:=|=>|=(?!=)|:(?!:))[ \t]*"
    r"(?:(?P<prefix>[rRbBuUfF]{0,2})"
    r"(?:\"(?P<dq>[^\"\\\n]*(?:\\.[^\"\\\n]*)*)\"|'(?P<sq>[^'\\\n]*(?:\\.[^'\\\n]*)*)'"
    r"|`(?P<bq>[^`\\\n]*)`)(?=[ \t]*(?:[,;)\]}\r\n]|/[/*]|#|$))"
    r"|(?P<scheme>(?:Bearer|bearer|Basic|basic|Token|token|Bot)[ \t]+)?"
    r"(?P<uq>[^\s'\"`,;(){}\[\]<>#|]+))"
)
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-$")
_PLACEHOLDER_WORDS = frozenset(
    "changeme changeit password passwd pwd pass secret token apikey none null nil undefined "
    "true false string str bytes text required optional hidden masked redacted empty "
    "notset unset todo tbd int float bool dict list any number object user username login "
    "guest tiger".split()  # guest:guest (RabbitMQ), scott:tiger (Oracle/SQLAlchemy docs)
)
_PLACEHOLDER = re.compile(
    r"change.?me|placeholder|example|dummy|fake|redacted|replace.?(?:me|with|this)|x{4,}"
    r"|\*{3,}|\.\.\.|^your|^<.*>$|^\[.*\]$|^[$!%]|[{}]|%\(|%s",
    re.IGNORECASE,
)
# Made only of secret-ish stand-in words: "new-passphrase", "my-secret-key", "api_token".
_STAND_IN = re.compile(
    r"(?:(?:new|old|my|your|the|some|secret|password|passwd|passphrase|token|key|api|access"
    r"|test|default)[-_. ]?)+",
    re.IGNORECASE,
)
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_PATH = re.compile(
    r"(?:~|\.{1,2})?/[\w./-]*|[\w./-]+\.(?:pem|key|crt|json|txt|p12|pfx|jks|ya?ml|env)"
)
_SCHEME = re.compile(r"(?:Bearer|Basic|Token|token|Bot)[ \t]+(?=\S)")
_NUMBER = re.compile(r"[\d.]+")
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w.$]*")
_LONG = "<long line>"
_FORM_SEPARATOR = re.compile(r"&(?=[\w.-]+=)")  # a=1&b=2: the value stops at the next parameter
_ENV_KEY = re.compile(r"[A-Z_][A-Z0-9_]*")
_PLAIN_WORD = re.compile(r"[a-z]+")  # ``supersecret``; not Types, camelCase or CONSTANTS


def is_placeholder(value: str) -> bool:
    """True for values that carry no secret: templates, references and well-known stand-ins.

    Kept on purpose: ``changeme``, ``your-api-key``, ``new-passphrase``, ``<token>``, ``***`` and
    famous demo defaults (``guest``, ``scott:tiger``), which are documentation and test stand-ins
    and public knowledge; ``${VAR}``, ``{{ var }}``, ``%(var)s``, ``$VAR``, which refer to the
    real secret kept elsewhere; type names (``"password": "string"`` in API schemas).
    """
    if _PLACEHOLDER.search(value) or _STAND_IN.fullmatch(value):
        return True
    normal = re.sub(r"[^a-z0-9]", "", value.lower())
    return not normal or normal in _PLACEHOLDER_WORDS or len(set(value)) == 1


def _secret_key(words: list[str]) -> bool:
    """Does a key made of ``words`` (lower-cased, in order) name a secret?"""
    last, prev = words[-1], words[-2] if len(words) > 1 else ""
    if last in _SECRET_WORDS:
        return not (last == "token" and prev in _NOT_SECRET_TOKENS)
    return last == "key" and prev in _KEY_QUALIFIERS


def _value_ok(value: str, strong: bool) -> bool:
    """A literal worth scrubbing: not a placeholder, prose, path, URL or env-variable name.

    Password-named keys accept any such value of 4+ characters (weak passwords are still
    passwords); token/secret/key names need 8+ characters mixing two of lower case, upper case
    and digits, which leaves out labels and modes (``auth = "basic"``,
    ``api_key="gateway-auth"``, ``{token: "delimiter.bracket"}`` in syntax-highlighting tables).
    """
    if len(value) < 4 or is_placeholder(value) or any(c.isspace() for c in value):
        return False
    if _ENV_NAME.fullmatch(value) or _PATH.fullmatch(value) or "://" in value:
        return False
    if strong:
        return True
    if looks_like_words(value):
        return False  # a label such as "clientAuth" or "delimiter.bracket"
    classes = sum(any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit))
    return len(value) >= 8 and classes >= 2


def _line_around(text: str, start: int, end: int, limit: int = 200) -> tuple[str, str]:
    """Line text before ``start`` and after ``end``, at most ``limit`` characters each.

    A side longer than the limit comes back with a non-blank marker: such a line is code or
    minified data, never a ``key = value`` config line (and copying it per hit is quadratic).
    """
    line_start = text.rfind("\n", max(0, start - limit), start)
    line_end = text.find("\n", end, end + limit)
    before = text[line_start + 1 : start] if line_start >= 0 or start <= limit else _LONG
    after = text[end:line_end] if line_end >= 0 or len(text) - end <= limit else _LONG
    return before, after


def _unquoted_ok(text: str, match: re.Match[str], key_start: int, value: str, strong: bool) -> bool:
    """Decide an unquoted value, where code (``password = pw2``) and config look alike.

    Never calls, subscripts or numbers. Flagged: dotenv lines (``KEY=value``, no spaces); config
    lines (``key: value``/``key = value`` alone on their line) whose value mixes letters and
    digits or holds symbols; password lines in YAML (``password: supersecret``) or under an INI
    ``[section]`` (``password = supersecret``) whose value is a lower-case word (``Types``,
    ``camelCase`` and ``CONSTANTS`` are code; ``id-token: write`` is not a password line);
    elsewhere only values that cannot be an identifier and look like a token. Other
    ``key = word`` lines are left alone: in code they assign a variable.
    """
    end = match.end()
    if end < len(text) and text[end] in "([" or _NUMBER.fullmatch(value):
        return False
    before, after = _line_around(text, key_start, end)
    if not _value_ok(value, strong=True):
        return False
    line_start = not before.strip() or before.strip() in ("export", "-")
    line_end = not after.strip() or after.lstrip().startswith(("#", ";"))
    if line_start and line_end:
        dotenv = match["op"] == "=" and match.end("close") == match.start("op")
        dotenv = dotenv and match.end("op") == match.start("uq")
        if dotenv and not match["close"] and _ENV_KEY.fullmatch(text, key_start, match.start()):
            return "." not in value  # KEY=value, but not ``password=self.password``
        if match["op"] in ("=", ":"):
            if not _IDENTIFIER.fullmatch(value):
                return True
            if "." in value:
                return False  # an attribute reference: ``RSAPrivateKey = rfc3447.RSAPrivateKey``
            if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
                return True
            if not strong or not _PLAIN_WORD.fullmatch(value):
                return False  # ``id-token: write`` (GitHub Actions), ``auth: basic``
            return match["op"] == ":" or in_ini_section(text, key_start)
    return not _IDENTIFIER.fullmatch(value) and _value_ok(value, strong=False)


def _form_parameter(text: str, match: re.Match[str], key_start: int) -> bool:
    """``?key=value``, ``&key=value`` or ``"key=value&...``: a URL query or form parameter."""
    return (
        text[key_start - 1 : key_start] in ("?", "&", '"', "'")
        and match["op"] == "="
        and match.end("close") == match.start("op")
        and match.end("op") == match.start("uq")
    )


def _seed_positions(text: str) -> list[int]:
    """Offsets of every seed word in ``text``, case-insensitively, sorted."""
    lower = text.lower()
    positions: list[int] = []
    for seed in _SEEDS:
        position = lower.find(seed)
        while position >= 0:
            positions.append(position)
            position = lower.find(seed, position + len(seed))
    return sorted(positions)


def _is_aws_secret(words: list[str], value: str) -> bool:
    """A 40-char base64 value named like ``aws_secret_access_key`` (even the documented example)."""
    named_aws = "secret" in words and ("aws" in words or "access" in words)
    return named_aws and bool(_AWS_SECRET.fullmatch(value))


def scan_keyword_values(text: str) -> list[Hit]:
    """Values assigned to secret-named keys, in code, JSON, YAML, INI, dotenv and query strings."""
    hits: list[Hit] = []
    done = -1
    for seed in _seed_positions(text):
        if seed < done:
            continue  # another seed of a key already examined (``secret_token``)
        key_start, key_end = seed, _KEY_TAIL.match(text, seed).end()
        done = key_end
        while key_start > 0 and text[key_start - 1] in _KEY_CHARS:
            key_start -= 1
        if key_start > 0 and text[key_start - 1] == "<":
            continue  # our own <SECRET:...> placeholder
        words = [w.lower() for w in _WORDS.findall(text, key_start, key_end)]
        match = _ASSIGNMENT.match(text, key_end)
        if not words or match is None or not _secret_key(words):
            continue
        group = next(g for g in ("dq", "sq", "bq", "uq") if match[g] is not None)
        start, value = match.start(group), match[group]
        scheme = _SCHEME.match(value)
        if scheme:
            start, value = start + scheme.end(), value[scheme.end() :]
        if _is_aws_secret(words, value):
            hits.append((start, start + len(value), "aws_secret_key"))
            continue
        if scheme or match["scheme"]:
            ok = len(value) >= 8 and not is_placeholder(value) and " " not in value
        elif group == "uq" and _form_parameter(text, match, key_start):
            value = value.split("&", 1)[0]  # a URL query parameter: ?access_token=...&page=2
            ok = len(value) >= 8 and not is_placeholder(value)
        elif group == "uq":
            value = _FORM_SEPARATOR.split(value, 1)[0]
            ok = _unquoted_ok(text, match, key_start, value, words[-1] in _STRONG_WORDS)
        else:
            ok = _value_ok(value, words[-1] in _STRONG_WORDS)
        if ok:
            hits.append((start, start + len(value), "password"))
    return hits


_URL_CREDENTIALS = re.compile(
    r"://(?P<user>[^\s:/@'\"<>{}]*):(?P<pw>[^\s@/'\"<>]+)@(?P<host>[\w\[][\w.-]*)"
)
_EXAMPLE_HOST = re.compile(r"(?:^|\.)example\.(?:com|org|net)$|\.(?:test|example|invalid)$")


def scan_url_credentials(text: str) -> list[Hit]:
    """The password in ``scheme://user:password@host`` (the user name and host are kept).

    Placeholders are kept, and so is everything at documentation hosts (``example.com``).
    """
    return [
        (m.start("pw"), m.end("pw"), "connection_string")
        for m in _URL_CREDENTIALS.finditer(text)
        if not is_placeholder(m["pw"]) and not _EXAMPLE_HOST.search(m["host"].lower())
    ]
