"""Labelled look-alikes for the scrubber benchmark: values that resemble secrets and are not.

Each category, and why it is not a secret:

* ``git_sha``, ``hash_const``, ``hash_table``, ``uuid``, ``object_id``: commit ids, checksums
  (one per line or as a multi-line table), UUIDs and record ids identify things, grant nothing.
* ``version``, ``numbers``, ``localhost``, ``example_email``: versions (dotted quads included),
  dates, big integers, loopback/unspecified IPs, RFC 2606 addresses.
* ``reference``: ``os.environ[...]``, ``getenv``, ``None``, ``getpass()``, ``""``, ``${VAR}``,
  tokenizer names: the secret, if any, lives elsewhere.
* ``placeholder``: ``changeme``, ``your-api-key-here``, ``<token>``, ``********``: public stand-ins.
* ``identifier``, ``infra_id``: long names and paths, cloud resource ids, node-pool and branch
  names: long, varied, and public.
* ``b64_fixture``, ``public_key``, ``prose``: base64 of a PNG or of English text, a public JSON Web
  Key or an X.509 certificate, sentences.

Lock-file hashes (``integrity`` sha512, poetry/uv ``sha256``, pip ``--hash``) are whole files,
built in ``scrub_corpus.py``; every flag in them counts under ``lockfile``.
"""

from __future__ import annotations

import base64
import string
import uuid

from _scrub_items import ALNUM, HEX, Item, Maker, camel

NEGATIVES = (
    "uuid git_sha hash_const hash_table version reference placeholder identifier infra_id "
    "b64_fixture public_key localhost example_email prose object_id numbers"
).split()
PNG_1PX = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PLACEHOLDERS = [
    ("password", "changeme"),
    ("api_key", "your-api-key-here"),
    ("token", "<your-token>"),
    ("admin_password", "********"),
    ("database_url", "postgres://user:password@localhost:5432/app"),
    ("secret_key", "${SECRET_KEY}"),
    ("db_password", "xxxxxxxx"),
]
REFERENCES = {
    "py": [
        'API_KEY = os.environ["API_KEY"]',
        'password = os.getenv("DB_PASSWORD")',
        "password = None",
        "password = getpass.getpass()",
        'token = ""',
        "secret_key = settings.SECRET_KEY",
        "tokenizer.pad_token = tokenizer.eos_token",
        'eos_token = "</s>"',
        "max_tokens = 2048",
        'DATABASE_URL = f"postgresql://{user}:{password}@{host}/app"',
    ],
    "js": [
        "export const apiKey = process.env.API_KEY;",
        "const password = null;",
        'const token = "";',
        "const secret = config.get('secret');",
        "const dbUrl = `postgres://${user}:${password}@${host}/app`;",
    ],
    "yaml": [
        "password: ${DB_PASSWORD}",
        "api_key: null",
        'token: ""',
        'password: "{{ .Values.db.password }}"',
        "secret_key: !env SECRET_KEY",
    ],
    "ini": ["password = %(db_password)s", "api_key =", "token = ${TOKEN}", "secret_key = <set-me>"],
    "json": ['  "password": null', '  "api_key": ""', '  "token": "${API_TOKEN}"'],
}


def hash_table(m: Maker, fk: str) -> str:
    """A multi-line table of release file name -> sha256, under a key naming the hash."""
    rows = [
        (f"app-{m.rnd.randint(1, 9)}.{m.rnd.randint(0, 20)}.0-{platform}.tar.gz", m.s(HEX, 64))
        for platform in ("linux-amd64", "darwin-arm64", "windows-amd64")
    ]
    if fk == "py":
        return "SHA256SUMS = {\n" + "".join(f'    "{n}": "{h}",\n' for n, h in rows) + "}"
    if fk == "js":
        return (
            "export const checksums = {\n" + "".join(f'  "{n}": "{h}",\n' for n, h in rows) + "};"
        )
    if fk == "yaml":
        return "checksums:\n" + "\n".join(f"  {n}: {h}" for n, h in rows)
    if fk == "ini":
        return "[checksums]\n" + "\n".join(f"{n} = {h}" for n, h in rows) + "\n\n[defaults]"
    return '  "sha256": {\n' + ",\n".join(f'    "{n}": "{h}"' for n, h in rows) + "\n  }"


def public_key(m: Maker, fk: str) -> str:
    """A public JSON Web Key (RSA modulus ``n``) or an X.509 certificate: public by design."""
    modulus = base64.urlsafe_b64encode(m.rnd.randbytes(256)).decode().rstrip("=")
    jwk = f'{{"kty": "RSA", "use": "sig", "alg": "RS256", "e": "AQAB", "n": "{modulus}"}}'
    certificate = m.pem("CERTIFICATE")
    if fk == "py":
        if m.rnd.random() < 0.5:
            return f'CA_CERT = """\n{certificate}\n"""'
        return f'JWKS = {{"keys": [{jwk}]}}'
    if fk == "js":
        return f"export const jwks = {{ keys: [{jwk}] }};"
    if fk == "yaml":
        return "ca_cert: |\n" + "\n".join("  " + line for line in certificate.splitlines())
    if fk == "ini":
        return f"jwks_inline = {jwk}"
    return f'  "jwks": {{"keys": [{jwk}]}}'


def _value(m: Maker, cat: str) -> tuple[str, str]:
    """``(key, value)`` of a single-line look-alike of category ``cat``."""
    c, r = m.rnd.choice, m.rnd.randint
    if cat == "uuid":
        return c(["tenant", "namespace", "correlation"]), str(uuid.UUID(int=m.rnd.getrandbits(128)))
    if cat == "git_sha":
        return c(["git_commit", "pinned_revision", "commit_sha"]), m.s(HEX, 40)
    if cat == "hash_const":
        return c(["expected_sha256", "checksum", "archive_digest", "etag"]), m.s(
            HEX, c([32, 40, 64])
        )
    if cat == "version":
        versions = [f"{r(0, 9)}.{r(0, 30)}.{r(0, 99)}", f"{r(1, 9)}.{r(0, 9)}.{r(0, 9)}.{r(1, 99)}"]
        return c(["version", "min_server_version", "release"]), c(versions)
    if cat == "placeholder":
        return c(PLACEHOLDERS)
    if cat == "identifier":
        parts = m.rnd.sample(m.words, 4)
        path = "src/" + "/".join(parts[:2]) + "/" + camel("_".join(parts[2:])).title()
        names = [camel("_".join(parts)), "_".join(parts) + "_v2", path]
        return c(["event_name", "logger_name", "template_path"]), c(names)
    if cat == "infra_id":
        lower = string.ascii_lowercase + string.digits
        names = [
            f"k8s-{m.word()}-pool-{r(2019, 2026)}-east-1{c('abc')}",
            f"release-{r(2019, 2026)}-{r(1, 12):02d}-{r(1, 28):02d}-hotfix-{r(1, 9)}",
            f"{c(['sg', 'ami', 'subnet', 'vol'])}-{m.s(HEX, 17)}",
            f"gke-{m.word()}-default-pool-{m.s(HEX, 8)}-{m.s(lower, 4)}",
        ]
        return c(["node_pool", "release_branch", "security_group", "gke_node"]), c(names)
    if cat == "b64_fixture":
        greeting = base64.b64encode(m.sentence().encode()).decode()
        return c(["pixel_png", "greeting_b64"]), c([PNG_1PX, greeting])
    if cat == "localhost":
        return c([("host", "127.0.0.1"), ("bind_address", "0.0.0.0"), ("ipv6_loopback", "::1")])
    if cat == "example_email":
        emails = ["noreply@example.com", f"{m.word()}@example.org", "alerts@example.net"]
        return c(["default_from", "test_user"]), c(emails)
    if cat == "prose":
        return "help_text", m.sentence(14)
    if cat == "object_id":
        node = base64.b64encode(f"04:User{r(10**6, 10**8)}".encode()).decode()
        ids = [("user_id", m.s(HEX, 24)), ("order_id", "ord_" + m.s(ALNUM, 24)), ("node_id", node)]
        return c(ids)
    dates = [("release_date", "2024-01-15"), ("created_at", "2024-03-01T10:00:00+05:30")]
    return c([*dates, ("max_bytes", "1234567890"), ("build_number", f"{r(2019, 2026)}0115.3")])


def negative(m: Maker, cat: str, fk: str) -> Item:
    """A labelled look-alike of category ``cat`` rendered for file kind ``fk``."""
    if cat == "reference":
        raw = m.rnd.choice(REFERENCES[fk])
        return Item(f"neg:{cat}", raw, raw)
    if cat in ("hash_table", "public_key"):
        block = hash_table(m, fk) if cat == "hash_table" else public_key(m, fk)
        return Item(f"neg:{cat}", block, block)
    key, value = _value(m, cat)
    return Item(f"neg:{cat}", value, m.assign(fk, key, value))
