"""Personal data: e-mail addresses, IP addresses and phone numbers.

Documentation stand-ins are kept, for the same reason as ``changeme`` passwords: they identify
nobody and they are part of how code is written. Kept e-mails: RFC 2606 domains
(``example.com/.org/.net``, the ``.test``/``.example``/``.invalid``/``.localhost`` TLDs), the
usual stand-ins ``foo.com``, ``bar.com``, ``baz.com``, ``domain.com``, ``email.com``,
``test.com``, ``noreply@``/``git@`` senders, image names like ``icon@2x.png`` and the user name
in ``scheme://user@host``. Kept IPs: loopback, unspecified and broadcast addresses, netmasks
(``255.x.x.x``), the cloud metadata address ``169.254.169.254`` and the RFC 5737/3849
documentation ranges (``192.0.2.x``, ``2001:db8::``). Dotted quads after ``version``, ``==``,
``>=``, ``@``, ``section``, ``ObjectIdentifier(`` and the like, or in a block keyed like
``versions:``, are versions or OIDs, not IPs; so are ``section-7.1.1.1``-style suffixes.
Phone numbers need a ``+`` country code or US separators (``(415) 555-0132``, ``415-555-0132``),
so bare integers, dates (``2024-01-15``) and versions never match.
"""

from __future__ import annotations

import ipaddress
import re

from repotune.privacy.detectors import Hit, block_key, left_of, line_at, seeded_finditer

_EMAIL_DOMAIN = re.compile(
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})(?![\w-])"
)
_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_KEPT_DOMAINS = (
    *("example.com", "example.org", "example.net", "users.noreply.github.com"),
    *("foo.com", "bar.com", "baz.com", "domain.com", "email.com", "test.com"),
)
_KEPT_TLDS = frozenset("test example invalid localhost local png jpg jpeg gif svg webp".split())
_KEPT_LOCALS = frozenset({"noreply", "no-reply", "donotreply", "do-not-reply", "git"})

# Patterns start with a literal or a narrow class and boundaries are checked in Python: a leading
# look-behind stops the regex engine from skipping ahead and costs ~50x on large files.
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_IPV6_SEED = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_NOT_BEFORE_IP = _WORD | {".", "-"}  # ``section-7.1.1.1``, ``lib-1.2.3.4`` are versions
_NOT_BEFORE_INTL = _WORD | {"+"}
_NOT_BEFORE_US = _WORD | {".", "+", "-"}
_KEPT_IPV4_PREFIXES = (
    *("0.0.0.0", "127.", "255.", "169.254.169.254"),
    *("192.0.2.", "198.51.100.", "203.0.113."),
)
_IPV6_DOCS = ipaddress.ip_network("2001:db8::/32")
_VERSION_CONTEXT = re.compile(
    r"(?i)version|\bver\b|release|section|\bv$|(?:[<>~^!]=?|==|@)\s*$|\boid|objectidentifier"
)

_US_PHONE = re.compile(r"(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[.-])[2-9]\d{2}[.-]\d{4}(?![\w-]|\.\d)")
# Seeds for ``seeded_finditer``: every IPv4 address holds ``.d.d.d``, every US number ends with
# ``-dddd`` or ``.dddd``.
_IPV4_SEEDS = (re.compile(r"\.\d{1,3}\.\d{1,3}\.\d"),)
_US_PHONE_SEEDS = (re.compile(r"-\d{4}"), re.compile(r"\.\d{4}"))
_INTL_PHONE = re.compile(r"\+\d{1,3}(?:(?:[ .-]\(?\d{1,8}\)?){1,5}|\d{7,12})(?!\w|[.-]\d)")


def _version_like(text: str, start: int) -> bool:
    """Is the number at ``start`` a version or OID, by its line or its enclosing block's key?"""
    if _VERSION_CONTEXT.search(left_of(text, start, 30)):
        return True
    return bool(_VERSION_CONTEXT.search(block_key(text, line_at(text, start)[0])))


def scan_emails(text: str) -> list[Hit]:
    """E-mail addresses, found from each ``@`` (cheaper than a regex that starts anywhere)."""
    hits: list[Hit] = []
    for match in _EMAIL_DOMAIN.finditer(text):
        start = at = match.start()
        while start > 0 and at - start < 64 and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        while start < at and not text[start].isalnum():
            start += 1
        local, domain = text[start:at], match[1].lower()
        if not local or local.lower() in _KEPT_LOCALS or text.endswith("://", 0, start):
            continue  # ``scheme://user@host`` holds a user name, not an address
        if domain.endswith(_KEPT_DOMAINS) or domain.rsplit(".", 1)[-1] in _KEPT_TLDS:
            continue
        hits.append((start, match.end(), "email"))
    return hits


def _after(text: str, end: int) -> str:
    """The two characters after ``end`` (padded), for right-boundary checks."""
    return text[end : end + 2].ljust(2)


def _ipv4_hits(text: str) -> list[Hit]:
    hits: list[Hit] = []
    for match in seeded_finditer(_IPV4, _IPV4_SEEDS, text):
        start, end, value = match.start(), match.end(), match[0]
        if start and text[start - 1] in _NOT_BEFORE_IP:
            continue
        after = _after(text, end)
        if after[0] in _WORD or (after[0] == "." and after[1].isdigit()):
            continue
        if any(int(octet) > 255 for octet in value.split(".")):
            continue
        if value.startswith(_KEPT_IPV4_PREFIXES) or _version_like(text, start):
            continue
        hits.append((start, end, "ip_address"))
    return hits


def _ipv6_hits(text: str) -> list[Hit]:
    hits: list[Hit] = []
    done = -1
    for seed in _IPV6_SEED.finditer(text):
        if seed.start() < done:
            continue
        start, end = seed.start(), seed.end()
        while start and text[start - 1] in _HEX_COLON:
            start -= 1
        while end < len(text) and text[end] in _HEX_COLON:
            end += 1
        done, value = end, text[start:end]
        if start and (text[start - 1] in _WORD or text[start - 1] == "."):
            continue
        if end < len(text) and (text[end] in _WORD or text[end] == "."):
            continue
        if "::" not in value and value.count(":") != 7 or not any(c.isdigit() for c in value):
            continue
        try:
            address = ipaddress.IPv6Address(value)
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified or address in _IPV6_DOCS:
            continue
        groups = [g for g in value.split(":") if g]
        if len(groups) >= 2 and sum(len(g) for g in groups) >= 4:
            hits.append((start, end, "ip_address"))
    return hits


def scan_ips(text: str) -> list[Hit]:
    """IPv4 and IPv6 addresses, public and private, minus the kept ones listed above."""
    return _ipv4_hits(text) + (_ipv6_hits(text) if "::" in text or text.count(":") >= 7 else [])


def scan_phones(text: str) -> list[Hit]:
    """Phone numbers with a ``+`` country code (8–15 digits) or in US separator formats."""
    hits: list[Hit] = []
    for match in _INTL_PHONE.finditer(text):
        if match.start() and text[match.start() - 1] in _NOT_BEFORE_INTL:
            continue
        if 8 <= sum(c.isdigit() for c in match[0]) <= 15:
            hits.append((match.start(), match.end(), "phone"))
    for match in seeded_finditer(_US_PHONE, _US_PHONE_SEEDS, text):
        if match.start() and text[match.start() - 1] in _NOT_BEFORE_US:
            continue
        if "." in match[0] and _version_like(text, match.start()):
            continue
        hits.append((match.start(), match.end(), "phone"))
    return hits
