"""Scrub secrets and personal data from text before it is stored or trained on.

A model trained on a team's code memorises what it sees, so a credential in the training data is
a credential the model can print. :func:`scrub_text` replaces each finding with a typed
placeholder and counts it; :func:`secret_file_kind` names whole files to drop instead: a private
key or a dotenv file has no code worth learning and every line of it is a credential.

Placeholders: ``<SECRET:type>`` for secrets, ``<EMAIL>``, ``<IP_ADDRESS>``, ``<PHONE>`` for
personal data. Only the sensitive part is replaced (a value, not its key; a URL's password, not
the URL), so scrubbed code keeps its shape: ``key = "AKIA..."`` becomes
``key = "<SECRET:aws_access_key>"`` and still parses. No detector matches a placeholder, so
scrubbing is idempotent. Findings are counted by type; values are never returned or logged.

Detectors, in priority order (when two hits overlap, the earlier detector wins):

* ``private_key``: a whole ``-----BEGIN ... PRIVATE KEY-----`` block through its END line (or,
  when truncated, its base64 lines); the body must be key material (base64, ``\\n`` escapes,
  string-literal quotes, ``Name: value`` headers), so BEGIN/END markers kept as code constants
  are not a key. ``gcp_service_account_key`` when the block is the ``"private_key"`` of a
  service-account JSON, whose ``private_key_id`` is scrubbed too.
* provider tokens, by their documented shapes (no placeholder exemption: a real-shaped token is
  scrubbed even when it is a documentation example): ``aws_access_key`` (``AKIA``/``ASIA``...
  + 16), ``gcp_api_key`` (``AIza`` + 35), ``azure_connection_string`` (``AccountKey=``/
  ``SharedAccessKey=`` values), ``azure_storage_key`` (88-char base64 on a line naming Azure or a
  storage/account key), ``github_token`` (``ghp_ gho_ ghu_ ghs_ ghr_ github_pat_``),
  ``gitlab_token`` (``glpat-``), ``slack_token`` (``xox[abprs]-``), ``slack_webhook`` (the path
  after ``hooks.slack.com/services/``), ``jwt`` (``eyJ...eyJ...signature``).
* ``connection_string``: the password in ``scheme://user:password@host``; not placeholders and
  not at documentation hosts (``example.com``).
* ``password`` (and ``aws_secret_key``, for 40-char values named like ``aws_secret_access_key``):
  the value assigned to a key whose last word is password/passwd/pwd/passphrase/secret/token/
  auth/authorization/credentials or ``<api|access|secret|private|...>_key``, in code (``=``,
  ``:=``, kwargs, annotated), dicts/JSON/YAML (``:``), PHP/Ruby (``=>``), INI, dotenv and URL
  query or form parameters; ``Authorization: Bearer <token>`` keeps the scheme. Not flagged:
  tokenizer names (``pad_token``, ``eos_token``) and counts (``max_tokens``); non-literals
  (``None``, ``os.environ[...]``, ``getenv(...)``, ``getpass()``, variables, attributes);
  templates and references (``${VAR}``, ``{{ x }}``, ``%(x)s``, ``$VAR``, ``<...>``); well-known
  stand-ins (``changeme``, ``your-api-key``, ``new-passphrase``, ``xxxx``, ``***``,
  ``example``, ``dummy``, ``fake``, ``guest``, ``tiger``, type names such as ``"string"``):
  public knowledge, nothing to leak; env-variable names (``"DB_PASSWORD"``); paths, URLs and
  prose (values with spaces). Password-named keys accept any other value of 4+ characters (weak
  passwords are still passwords); token/secret/key names need 8+ characters mixing two of lower
  case, upper case and digits, and not a word-like label (``"clientAuth"``). Unquoted values must
  not look like code: letter-only words count only in YAML, under an INI ``[section]`` or on
  ``UPPER_CASE=value`` dotenv lines.
* ``high_entropy_string``: random-looking literals of 20+ characters with entropy near that of a
  random string of the same length and alphabet, which are not hashes or ids in context (lock
  files, ``sha256``, ``integrity``, ``commit``, ``rev``, ``*_id``, ``checksums:`` tables), UUIDs,
  model names, identifiers or paths (English letter pairs), word-and-number names
  (``k8s-node-pool-2024-east-1b``), cloud resource ids, encoded prose, media fixtures or public
  JSON Web Keys; see :mod:`repotune.privacy.entropy`. Hex strings with no context at all (a bare
  ``"9f86d0..."``) are scrubbed: a hash and a hex API key look the same, and scrubbing a hash
  costs the model little.
* PII (last, so a secret is never reported as an e-mail): ``email``, ``ip_address``, ``phone``;
  documentation stand-ins, loopback addresses, versions and OIDs are kept, see
  :mod:`repotune.privacy.pii`.

Speed: every regex is compiled once and starts with a literal or a narrow class (boundaries are
checked in Python: a leading look-behind would stop the regex engine from skipping ahead); each
detector runs only if one of its literal needles occurs in the text, once over the whole text.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from repotune.privacy.credentials import scan_keyword_values, scan_url_credentials
from repotune.privacy.detectors import TOKEN_DETECTORS, Detector, Hit
from repotune.privacy.entropy import scan_high_entropy
from repotune.privacy.pii import scan_emails, scan_ips, scan_phones

__all__ = ["Finding", "ScrubResult", "detect", "scrub_text", "secret_file_kind", "PII_KINDS"]

PII_KINDS = frozenset({"email", "ip_address", "phone"})
"""Finding kinds that are personal data; every other kind is a secret."""

_DOTENV_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template"})
_SSH_KEYS = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"})
_BY_NAME = {".netrc": "netrc", "_netrc": "netrc", ".pgpass": "pgpass"}
_BY_SUFFIX = {
    ".pem": "private_key_file",
    ".key": "private_key_file",
    ".p12": "pkcs12",
    ".pfx": "pkcs12",
    ".keystore": "java_keystore",
    ".jks": "java_keystore",
    ".env": "dotenv",
}


def secret_file_kind(path: str) -> str | None:
    """The kind of secret file ``path`` names (``"dotenv"``, ``"ssh_private_key"``...), or None.

    Matches ``.env`` and ``.env.*`` except the committed templates (``.env.example``,
    ``.env.sample``, ``.env.template``) and also ``*.env`` files (``db.env`` for docker
    ``env_file``); PEM/key/PKCS#12/Java keystores by extension; ``id_rsa``-style SSH keys (never
    their ``.pub`` halves); ``.netrc``, ``.pgpass`` and ``.aws/credentials``.
    """
    parts = PurePosixPath(path.replace("\\", "/"))
    lower = parts.name.lower()
    if lower == ".env" or (lower.startswith(".env.") and lower not in _DOTENV_TEMPLATES):
        return "dotenv"
    if lower in _SSH_KEYS:
        return "ssh_private_key"
    if lower in _BY_NAME:
        return _BY_NAME[lower]
    if lower == "credentials" and parts.parent.name == ".aws":
        return "aws_credentials"
    return _BY_SUFFIX.get(parts.suffix.lower())


DETECTORS: tuple[Detector, ...] = (
    *TOKEN_DETECTORS,
    Detector("connection_string", ("://",), scan_url_credentials),
    Detector("password", (), scan_keyword_values),
    Detector("high_entropy_string", (), scan_high_entropy),
    Detector("email", ("@",), scan_emails),
    Detector("ip_address", (".", "::"), scan_ips),
    Detector("phone", ("+", "-", "."), scan_phones),
)
"""All detectors, highest priority first. An empty needle tuple means "always run"."""


@dataclass(frozen=True)
class Finding:
    """Where a secret or PII sits in the scanned text, and its kind; never the value itself."""

    start: int
    end: int
    kind: str

    @property
    def placeholder(self) -> str:
        """The text that replaces the finding: ``<EMAIL>`` or ``<SECRET:aws_access_key>``."""
        return f"<{self.kind.upper()}>" if self.kind in PII_KINDS else f"<SECRET:{self.kind}>"


@dataclass(frozen=True)
class ScrubResult:
    """Scrubbed text plus the number of findings by kind (counts only, never values)."""

    text: str
    findings: dict[str, int] = field(default_factory=dict)


def _overlaps(starts: list[int], kept: list[Hit], hit: Hit) -> bool:
    """Does ``hit`` overlap any kept hit? ``kept`` is sorted by start, ``starts`` mirrors it."""
    index = bisect_right(starts, hit[0])
    if index and kept[index - 1][1] > hit[0]:
        return True
    return index < len(kept) and kept[index][0] < hit[1]


def detect(text: str) -> list[Finding]:
    """Every finding in ``text``, sorted by position, with overlaps resolved by priority."""
    starts: list[int] = []
    kept: list[Hit] = []
    for detector in DETECTORS:
        if detector.needles and not any(needle in text for needle in detector.needles):
            continue
        for hit in sorted(detector.scan(text)):
            if hit[0] < hit[1] and not _overlaps(starts, kept, hit):
                index = bisect_right(starts, hit[0])
                starts.insert(index, hit[0])
                kept.insert(index, hit)
    return [Finding(start, end, kind) for start, end, kind in kept]


def scrub_text(text: str) -> ScrubResult:
    """Replace every secret and PII finding in ``text`` with its placeholder and count them."""
    findings = detect(text)
    if not findings:
        return ScrubResult(text, {})
    pieces: list[str] = []
    counts: dict[str, int] = {}
    position = 0
    for finding in findings:
        pieces.append(text[position : finding.start])
        pieces.append(finding.placeholder)
        counts[finding.kind] = counts.get(finding.kind, 0) + 1
        position = finding.end
    pieces.append(text[position:])
    return ScrubResult("".join(pieces), counts)
