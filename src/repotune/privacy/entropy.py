"""High-entropy string literals: random-looking tokens that no provider-specific rule recognised.

A candidate is a whole quoted literal (or a whole value on a ``key: value`` / ``KEY=value`` line)
of 20+ characters from the base64/base64url alphabet. Dots, colons and spaces are outside that
alphabet, so versions, URLs, file names, ``sha256:...`` digests and prose never become
candidates. A candidate is a secret only if it passes every test below, in this order:

1. shape: ``=`` only as trailing padding, not all digits, and not a known non-secret shape: a
   UUID, an SRI digest (``sha512-...``, package-lock ``integrity``), base64 media (PNG, GIF,
   JPEG, PDF, gzip, zip magic numbers) or a run of a well-known alphabet;
2. alphabet: hex candidates need a digit and a letter; others need a digit (99.6% of random
   32-char base62 strings have one, few identifiers do) or letters that flip case at random;
3. entropy: Shannon entropy at least the *expected* entropy of a random string of that length
   over its alphabet (16, 36 or 64 symbols, Miller-Madow estimate) minus a margin. A fixed limit
   (detect-secrets uses 4.5 bits for base64) misses most random tokens under 32 characters,
   whose entropy cannot reach 4.5;
4. not words: identifiers and paths (``getUserPreferencesAsync``, ``src/components/Button``) are
   recognised by their English letter pairs (random strings fail this test 0.1–1% of the time,
   measured at 20–40 characters); names built from words and numbers in one case
   (``k8s-node-pool-2024-east-1b``) and cloud resource ids (``sg-0a1b2c3d4e5f67890``) too;
5. not encoded prose: base64 or hex that decodes to printable text with spaces is a test fixture;
6. not a hash in context: a literal whose clause (the text before it on its line, back to the last
   ``,;{[``) or whose enclosing block's key names a hash, digest, checksum, commit, revision,
   fingerprint, version or id (``"commit": "..."``, ``rev: ...``, ``user_id = ...``, every row of
   ``checksums = {...}``); not a model, checkpoint, dataset or repository name
   (``from_pretrained("org/Model-7B")``, ``model_name = ...``); not a public JSON Web Key
   parameter (``n``, ``e``, ``x``, ``y`` near a ``kty``).

Quoted strings followed by ``:`` are keys (``{"Qwen/Qwen3-235B-A22B": {...}}``), never candidates.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import string
from collections import Counter
from itertools import chain

from repotune.privacy.detectors import Hit, block_key, left_of, line_at, seeded_finditer

# One pattern per quote character: each starts with a literal the regex engine finds by substring
# search (a ``["'`]`` class is tried at every position, ~3x slower). Not followed by ``:`` (a key).
_QUOTED = tuple(
    re.compile(quote + r"([A-Za-z0-9+/=_-]{20,})" + quote + r"(?![ \t]*:(?!:))")
    for quote in ('"', "'", "`")
)
# An unquoted value alone on a ``key: value`` / ``KEY=value`` line. Possessive quantifiers keep
# this linear on long runs such as ``A=A=A=...`` (a free-standing ``[=:]`` start is quadratic).
_CONFIG_VALUE = re.compile(
    r"^[ \t]*+(?:export[ \t]+|-[ \t]+)?[\w.-]++[ \t]*+[=:][ \t]*+([A-Za-z0-9+/=_-]{20,}+)"
    r"[ \t]*+(?:#[^\n]*+)?$",
    re.MULTILINE,
)
_CONFIG_SEEDS = tuple(re.compile(op + r"[ \t]*+[A-Za-z0-9+/=_-]{20}") for op in ("=", ":"))
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_BASE36 = re.compile(r"[0-9a-z_-]+|[0-9A-Z_-]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_SRI = re.compile(r"(?:sha(?:1|224|256|384|512)|md5)[-_]", re.IGNORECASE)
_MEDIA_MAGIC = ("iVBORw0KGgo", "R0lGOD", "/9j/", "UklGR", "JVBERi0", "UEsDB", "H4sI", "PHN2Zy")
_SEQUENCES = (
    string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/",
    string.ascii_lowercase + string.ascii_uppercase + string.digits + "-_",
    string.digits + string.ascii_lowercase + string.ascii_uppercase,
    (string.digits + string.ascii_lowercase) * 2,
    (string.digits + string.ascii_uppercase) * 2,
    string.digits + "abcdefABCDEF",
)
_HASH_CONTEXT = re.compile(
    r"(?i:hash|digest|checksum|integrity|md5|sha(?:1|224|256|384|512|sum)|commit|revision|etag"
    r"|fingerprint|version|uuid|guid|pretrained|(?:\b|_)(?:sha|rev|ref|oid|ids?)(?:\b|_))"
    r"|[a-z]Ids?\b"
)
_NAME_KEY = re.compile(r"(?i)model|checkpoint|repo|dataset|tokenizer")  # Hugging Face-style ids
# The most frequent English letter pairs; identifiers are built from words, so they are full of
# them (0.5–0.9 of their letter pairs), while random strings rarely pass 0.4.
_COMMON_PAIRS = frozenset(
    "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le "
    "ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns ge ly ei ec us pe "
    "ct ss tr nc id et ol ad lo ow ac il un di em po ap pr ig ag ul rt na ab ia am ot ut ie ts fi "
    "mo ni ui ue pa ci ee ep up da im ev do ke wa ay ey oo ai gh ck sh ry ty ld ow ms rs ks gs rg "
    "rm mp ob bj ga um mb nu ex ys ph rd ag gr sp fo fr ir ho ru cr qu".split()
)
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_SEPARATORS = re.compile(r"[-_./]")
_CLOUD_RESOURCE = re.compile(
    r"(?:sg|subnet|vpc|i|ami|vol|snap|eni|igw|rtb|acl|nat|lt|tgw|vpce|fs|eipalloc)-[0-9a-f]{8,17}"
)
_KEY_BEFORE = re.compile(r"[\"']?([\w-]+)[\"']?[ \t]*[:=][ \t]*[rbf]?[\"'`]?$")
_JWK_PUBLIC = frozenset({"n", "e", "x", "y", "x5c", "x5t", "kid", "crv"})
_MIN_WORD_PAIRS = 0.45
_MIN_WORD_PAIRS_ONE_CASE = 0.55  # lower-case random strings have long letter runs
_MIN_WORD_COVER = 0.6
_MARGIN = {16: 0.6, 36: 0.45, 64: 0.45}


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def entropy_threshold(length: int, alphabet: int) -> float:
    """Expected entropy of a random ``length``-char string over ``alphabet`` symbols, minus margin.

    Miller-Madow: the plug-in estimate falls short of ``log2(alphabet)`` by about
    ``(alphabet - 1) / (2 * length * ln 2)``; the margin keeps ~99% of random strings above it.
    """
    expected = math.log2(alphabet) - (alphabet - 1) / (2 * length * math.log(2))
    return expected - _MARGIN[alphabet]


def looks_like_words(value: str) -> bool:
    """True for identifiers and paths: mostly 3+ letter word segments of common letter pairs."""
    covered = sum(len(seg) for seg in _SEGMENT.findall(value) if len(seg) >= 3)
    if covered < _MIN_WORD_COVER * len(value):
        return False
    low = value.lower()
    pairs = [a + b for a, b in zip(low, low[1:], strict=False) if a.isalpha() and b.isalpha()]
    one_case = value in (low, value.upper()) and value.isalnum()
    minimum = _MIN_WORD_PAIRS_ONE_CASE if one_case else _MIN_WORD_PAIRS
    return len(pairs) >= 4 and sum(p in _COMMON_PAIRS for p in pairs) >= minimum * len(pairs)


def _word_segment(segment: str) -> bool:
    """A segment that reads as a word: 3+ letters, in one case or Capitalised."""
    tail = segment[1:]
    return len(segment) >= 3 and segment.isalpha() and tail in (tail.lower(), tail.upper())


def _short_segment(segment: str) -> bool:
    """Short enough to be a name part: 8 chars, or a 12-char hex id (alembic revisions)."""
    return len(segment) <= 8 or (len(segment) <= 12 and bool(_HEX.fullmatch(segment)))


def _structured_name(value: str) -> bool:
    """Names built from short parts and words: ``k8s-node-pool-2024-east-1b``, model ids like
    ``allenai/OLMoE-1B-7B-0924``, ``Std_Acc1298_Mean_Mem40``, ``gke-prod-pool-3f2a9c1e-x8k2``.

    3+ parts split on ``- _ . /``, 2+ of them words, and every part either at most 8 characters
    or a word: a random token has long parts, or parts that are not words.
    """
    segments = [seg for seg in _SEPARATORS.split(value) if seg]
    words = sum(_word_segment(seg) for seg in segments)
    short = all(_short_segment(seg) or _word_segment(seg) for seg in segments)
    return len(segments) >= 3 and words >= 2 and short


def _case_noise(value: str) -> bool:
    """Letters that flip case in 45%+ of pairs: random (50%), not CamelCase (2 flips a word)."""
    pairs = [(a, b) for a, b in zip(value, value[1:], strict=False) if a.isalpha() and b.isalpha()]
    flips = sum(a.isupper() != b.isupper() for a, b in pairs)
    return len(value) >= 20 and flips >= 0.45 * max(len(pairs), 1)


def _decodes_to_prose(value: str, is_hex: bool) -> bool:
    """True when the literal is hex or base64 of printable text with spaces (a test fixture)."""
    try:
        if is_hex:
            raw = bytes.fromhex(value) if len(value) % 2 == 0 else b""
        else:
            padded = value + "=" * (-len(value) % 4)
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (ValueError, binascii.Error):
        return False
    printable = sum(32 <= byte < 127 or byte in (9, 10, 13) for byte in raw)
    return b" " in raw and printable >= 0.95 * len(raw)


def is_random_token(value: str) -> bool:
    """Tests 1–5 of the module docstring (everything but the line context)."""
    core = value.rstrip("=")
    if "=" in core or core.isdigit() or _SRI.match(value) or _UUID.search(value):
        return False
    if value.startswith(_MEDIA_MAGIC) or any(core in seq for seq in _SEQUENCES):
        return False
    if _CLOUD_RESOURCE.fullmatch(value) or _structured_name(value):
        return False
    is_hex = bool(_HEX.fullmatch(value))
    if is_hex:
        if core.isalpha():
            return False
        alphabet = 16
    else:
        if not any(c.isdigit() for c in value) and not _case_noise(value):
            return False
        alphabet = 36 if _BASE36.fullmatch(value) else 64
    if shannon_entropy(value) < entropy_threshold(len(value), alphabet):
        return False
    if not is_hex and looks_like_words(value):
        return False
    return not _decodes_to_prose(value, is_hex)


def _not_secret_context(text: str, start: int) -> bool:
    """Is the literal at ``start`` a hash/commit/version/id, a model name or a public JWK value?

    Looks at the clause before the literal (back to the last ``,;{[`` on its line, so another
    argument's name does not count), then at the key of the enclosing block, so every row of a
    multi-line ``checksums = {"app.tar.gz": "..."}`` table is recognised.
    """
    left = left_of(text, start, 80)
    clause = left[max(left.rfind(c) for c in ",;{[") + 1 :]
    if _HASH_CONTEXT.search(clause):
        return True
    key = _KEY_BEFORE.search(clause)
    if key and _NAME_KEY.search(key[1]):
        return True
    if key and key[1] in _JWK_PUBLIC and "kty" in text[max(0, start - 400) : start + 400]:
        return True  # a public JSON Web Key parameter (private ones, "d", "p", "q"..., stay)
    parent = block_key(text, line_at(text, start)[0])
    return bool(parent and (_HASH_CONTEXT.search(parent) or _NAME_KEY.search(parent)))


def scan_high_entropy(text: str) -> list[Hit]:
    """Random-looking literals and config values (see the module docstring for the rules)."""
    hits: list[Hit] = []
    matches = chain(
        *(pattern.finditer(text) for pattern in _QUOTED),
        seeded_finditer(_CONFIG_VALUE, _CONFIG_SEEDS, text),
    )
    for match in matches:
        group = match.re.groups  # the literal is the last group of every pattern
        if is_random_token(match[group]) and not _not_secret_context(text, match.start(group)):
            hits.append((match.start(group), match.end(group), "high_entropy_string"))
    return hits
