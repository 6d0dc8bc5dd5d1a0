"""The scrubber: every planted secret/PII type is replaced and counted, look-alikes stay untouched.

Fake credentials are assembled at run time (prefix + seeded random body) so that this file holds
no string a secret scanner would flag.
"""

from __future__ import annotations

import ast
import dataclasses
import random
import string

import pytest

from repotune.privacy import ScrubResult, scrub_text, secret_file_kind

_RND = random.Random(7)
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"


def rand(alphabet: str, n: int) -> str:
    return "".join(_RND.choices(alphabet, k=n))


def pem(label: str) -> str:
    body = "\n".join(rand(B64, 64) for _ in range(6))
    return f"-----BEGIN {label}-----\nMII{rand(B64, 61)}\n{body}\n-----END {label}-----"


def jwt() -> str:
    return "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIx" + rand(ALNUM, 20) + "." + rand(ALNUM, 43)


PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
AWS_KEY = "AKIA" + rand(string.ascii_uppercase + string.digits, 16)
GH_TOKENS = [p + "_" + rand(ALNUM, 36) for p in ("ghp", "gho", "ghu", "ghs", "ghr")]
GH_PAT = "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59)
AZURE_KEY = rand(B64, 86) + "=="
RSA_KEY = pem("RSA PRIVATE KEY")
SA_KEY = pem("PRIVATE KEY").replace("\n", "\\n")
SA_KEY_ID = rand("0123456789abcdef", 40)
WEBHOOK_PATH = f"T{rand(string.ascii_uppercase, 8)}/B{rand(string.ascii_uppercase, 10)}/" + rand(
    ALNUM, 24
)

# (kind, text, secret value that must disappear)
PLANTED = [
    ("aws_access_key", f'key = "{AWS_KEY}"', AWS_KEY),
    ("aws_secret_key", f'aws_secret_access_key = "{(v := rand(B64, 40))}"', v),
    ("aws_secret_key", f"AWS_SECRET_ACCESS_KEY={(v := rand(B64, 40))}", v),
    ("gcp_api_key", f'maps_key = "AIza{(v := rand(ALNUM + "-_", 35))}"', v),
    ("gcp_service_account_key", f'{{"private_key": "{SA_KEY}\\n"}}', SA_KEY[40:80]),
    ("gcp_service_account_key", f'{{"private_key_id": "{SA_KEY_ID}"}}', SA_KEY_ID),
    ("azure_storage_key", f'AZURE_STORAGE_KEY = "{AZURE_KEY}"', AZURE_KEY),
    (
        "azure_connection_string",
        f'conn = "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={AZURE_KEY};'
        f'EndpointSuffix=core.windows.net"',
        AZURE_KEY,
    ),
    *[("github_token", f'GITHUB_TOKEN = "{token}"', token) for token in GH_TOKENS],
    ("github_token", f"token: {GH_PAT}", GH_PAT),
    ("gitlab_token", f'gl = "glpat-{(v := rand(ALNUM, 20))}"', v),
    ("slack_token", f'SLACK = "xoxb-{(v := "1234567890-9876543210987-" + rand(ALNUM, 24))}"', v),
    ("slack_token", f'bot = "xoxp-{(v := "1234567890-9876543210-" + rand(ALNUM, 32))}"', v),
    ("slack_webhook", f'hook = "https://hooks.slack.com/services/{WEBHOOK_PATH}"', WEBHOOK_PATH),
    ("private_key", f'KEY = """\n{RSA_KEY}\n"""', RSA_KEY.splitlines()[3]),
    ("private_key", pem("OPENSSH PRIVATE KEY"), "-----END OPENSSH PRIVATE KEY-----"),
    ("private_key", f"key: |\n  {pem('PGP PRIVATE KEY BLOCK')}", "PRIVATE KEY BLOCK-----"),
    (
        "private_key",
        'KEY = (\n    "' + RSA_KEY.replace("\n", '\\n"\n    "') + '\\n"\n)',
        RSA_KEY.splitlines()[2],
    ),
    ("jwt", f'headers = {{"Authorization": "Bearer {(v := jwt())}"}}', v),
    ("password", 'DB_PASSWORD = "Harbor2931!"', "Harbor2931!"),
    ("password", 'connect(host="db", password="tr0ub4dor&3")', "tr0ub4dor&3"),
    ("password", '{"password": "Summer2024!", "user": "app"}', "Summer2024!"),
    ("password", "database:\n  password: hunter2", "hunter2"),
    ("password", "database:\n  password: supersecret", "supersecret"),
    ("password", "[db]\npassword = s3cr3t-Pa55", "s3cr3t-Pa55"),
    ("password", "SMTP_PASSWORD=letmein42", "letmein42"),
    ("password", "export DB_PASSWORD=supersecret", "supersecret"),
    ("password", "[db]\nhost = db.internal\npassword = hunterfalcon", "hunterfalcon"),
    ("password", f'api_key = "sk_live_{(v := rand(ALNUM, 24))}"', v),
    ("password", f'client: Client = Client(api_key="{(v := rand(ALNUM, 32))}")', v),
    ("password", f'headers = {{"X-Api-Key": "{(v := rand(ALNUM, 32))}"}}', v),
    ("password", f'auth = {{"Authorization": "Bearer {(v := rand(ALNUM, 30))}"}}', v),
    (
        "password",
        f'url = "https://api.acme.io/v1/items?access_token={(v := rand(ALNUM, 28))}&p=2"',
        v,
    ),
    ("password", f"body = 'grant=code&client_secret={(v := rand(ALNUM, 24))}&x=1'", v),
    ("password", f'const apiToken = "{(v := rand(ALNUM, 40))}";', v),
    (
        "connection_string",
        'DATABASE_URL = "postgres://app:Hunter2x9@db.internal:5432/app"',
        "Hunter2x9",
    ),
    ("connection_string", "broker: amqp://svc:Q7w_e9rT@mq.internal:5672/", "Q7w_e9rT"),
    ("high_entropy_string", f'client = PaymentClient("{(v := rand(ALNUM, 32))}")', v),
    ("high_entropy_string", f'SIGNING_MATERIAL = "{(v := rand(ALNUM + "-_", 24))}"', v),
    ("high_entropy_string", f'material: "{(v := rand("0123456789abcdef", 64))}"', v),
    ("email", 'owner = "jane.doe@acme-corp.io"', "jane.doe@acme-corp.io"),
    ("email", "# Maintainer: Jane Doe <jane@acme.de>", "jane@acme.de"),
    ("ip_address", 'DB_HOST = "10.12.0.5"', "10.12.0.5"),
    ("ip_address", "upstream: 52.14.201.9", "52.14.201.9"),
    ("ip_address", 'v6 = "2a01:4f8:c2c:123f::1"', "2a01:4f8:c2c:123f::1"),
    ("phone", 'support = "+1 (415) 555-0132"', "+1 (415) 555-0132"),
    ("phone", 'oncall = "415-555-0199"', "415-555-0199"),
    ("phone", 'berlin = "+49 30 1234567"', "+49 30 1234567"),
]

PII_PLACEHOLDERS = {"email": "<EMAIL>", "ip_address": "<IP_ADDRESS>", "phone": "<PHONE>"}


@pytest.mark.parametrize(("kind", "text", "value"), PLANTED, ids=[p[0] for p in PLANTED])
def test_planted_value_is_replaced_and_counted(kind: str, text: str, value: str) -> None:
    result = scrub_text(text)
    placeholder = PII_PLACEHOLDERS.get(kind, f"<SECRET:{kind}>")
    assert placeholder in result.text
    assert value not in result.text
    assert result.findings == {kind: 1}


LOOK_ALIKES = [
    # lock files and pinned hashes
    f'"integrity": "sha512-{rand(B64, 86)}==",',
    f'{{file = "pkg-1.0-py3-none-any.whl", hash = "sha256:{rand("0123456789abcdef", 64)}"}},',
    f'content-hash = "{rand("0123456789abcdef", 64)}"',
    f"    --hash=sha256:{rand('0123456789abcdef', 64)} \\",
    f'hash = "sha256:{rand("0123456789abcdef", 64)}"',
    # ids, commits, versions
    'request_id = "550e8400-e29b-41d4-a716-446655440000"',
    'NAMESPACE = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")',
    f'GIT_COMMIT = "{rand("0123456789abcdef", 40)}"',
    f"  rev: {rand('0123456789abcdef', 40)}",
    f'"commit": {{"sha": "{rand("0123456789abcdef", 40)}"}}',
    f'EXPECTED_SHA256 = "{rand("0123456789abcdef", 64)}"',
    f'SHA256SUMS = {{\n    "app-linux.tar.gz": "{rand("0123456789abcdef", 64)}",\n}}',
    '__version__ = "2.31.0"',
    'version = "1.2.3.4"',
    "requests==2.31.0.1",
    'node_pool = "k8s-default-pool-2024-east-1b"',
    'model = AutoModel.from_pretrained("allenai/OLMoE-1B-7B-0924")',
    # references, non-literals and stand-ins
    'API_KEY = os.environ["API_KEY"]',
    'password = os.getenv("DB_PASSWORD")',
    "password = None",
    "password = getpass()",
    'token = ""',
    "secret_key = settings.SECRET_KEY",
    "self.password = password",
    "password: str",
    'password = "changeme"',
    'api_key = "your-api-key-here"',
    'token = "<your-token>"',
    'password = "***"',
    'password: "${DB_PASSWORD}"',
    "password = %(db_password)s",
    'tokenizer.pad_token = tokenizer.eos_token\neos_token = "</s>"\nmax_tokens = 2048',
    'DATABASE_URL = f"postgresql://{user}:{password}@{host}/app"',
    'DATABASE_URL = "postgres://user:password@localhost:5432/app"',
    'secret = "AWS_SECRET_ACCESS_KEY"',
    # fixtures, prose, identifiers, public keys
    f'PIXEL = "{PNG_1PX}"',
    'GREETING = "SGVsbG8sIHdvcmxkISBUaGlzIGlzIGEgdGVzdCBmaXh0dXJlLg=="',
    'EVENT = "userProfileSettingsUpdatedV2"',
    'TEMPLATE = "src/components/ButtonGroupLarge"',
    f'JWKS = {{"kty": "RSA", "e": "AQAB", "n": "{rand(ALNUM + "-_", 342)}"}}',
    '"""The quick brown fox jumps over the lazy dog while the scheduler retries the job."""',
    # PII look-alikes
    'HOST = "127.0.0.1"\nBIND = "0.0.0.0"\nV6 = "::1"',
    'DEFAULT_FROM = "noreply@example.com"',
    'RELEASE_DATE = "2024-01-15"\nMAX_BYTES = 123456789\nAT = "10:30:45"',
    "@property\ndef x(self) -> int:\n    return self._x  # see pkg@4.17.21",
    # code that only looks like configuration
    "permissions:\n  contents: read\n  id-token: write",
    "def login(prompt):\n    password = result\n    return password",
    "RSAPrivateKey = rfc3447.RSAPrivateKey",
    "client = Client(\n    user=self.user,\n    password=self.password\n)",
    'MLFLOW_KEK_PASSPHRASE="new-passphrase"',
    '_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"\n_END = b"-----END OPENSSH PRIVATE KEY-----"',
    "# Support a ?token= override in native URLs",
    'engine = create_engine("mysql://scott:tiger@localhost/test")',
    'ExtendedKeyUsage.CLIENT_AUTH: "clientAuth",',
    '{token: "delimiter.bracket", open: "{"}',
    'CATALOG = {"Qwen/Qwen3-235B-A22B": {"context": 32768}}',
    'url = "abfss://container@account.dfs.core.windows.net/path"',
    'SAN = ObjectIdentifier("2.5.29.17")',
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_untouched(text: str) -> None:
    result = scrub_text(text)
    assert result.text == text
    assert result.findings == {}


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (".env", "dotenv"),
        ("services/api/.env.production", "dotenv"),
        ("docker/db.env", "dotenv"),
        ("certs/server.pem", "private_key_file"),
        ("tls/server.KEY", "private_key_file"),
        ("client.p12", "pkcs12"),
        ("client.pfx", "pkcs12"),
        ("home/.ssh/id_rsa", "ssh_private_key"),
        ("id_ed25519", "ssh_private_key"),
        (".netrc", "netrc"),
        (".pgpass", "pgpass"),
        ("home/.aws/credentials", "aws_credentials"),
        ("android/release.keystore", "java_keystore"),
        ("app.jks", "java_keystore"),
        (".env.example", None),
        (".env.sample", None),
        (".env.template", None),
        ("home/.ssh/id_rsa.pub", None),
        ("src/credentials.py", None),
        ("credentials", None),
        ("src/environment.py", None),
    ],
)
def test_secret_file_kind(path: str, kind: str | None) -> None:
    assert secret_file_kind(path) == kind


def test_scrubbing_is_idempotent() -> None:
    text = "\n".join(planted for _, planted, _ in PLANTED) + "\n" + "\n".join(LOOK_ALIKES)
    once = scrub_text(text)
    assert sum(once.findings.values()) == len(PLANTED)
    twice = scrub_text(once.text)
    assert twice.text == once.text
    assert twice.findings == {}


def test_python_stays_valid_and_placeholders_keep_quotes() -> None:
    source = (
        f'key = "{AWS_KEY}"\n'
        f'PRIVATE = """\n{RSA_KEY}\n"""\n'
        'conn = connect(password="Harbor2931!", host="10.1.2.3")\n'
        f"TOKENS = ['{GH_TOKENS[0]}', \"jane@acme-corp.io\"]\n"
    )
    result = scrub_text(source)
    ast.parse(result.text)
    assert 'key = "<SECRET:aws_access_key>"' in result.text
    assert 'password="<SECRET:password>", host="<IP_ADDRESS>"' in result.text
    assert result.findings == {
        "aws_access_key": 1,
        "private_key": 1,
        "password": 1,
        "ip_address": 1,
        "github_token": 1,
        "email": 1,
    }


def test_result_is_frozen_and_holds_counts_only() -> None:
    result = scrub_text(f'key = "{AWS_KEY}"')
    assert isinstance(result, ScrubResult)
    assert all(isinstance(n, int) for n in result.findings.values())
    assert AWS_KEY not in repr(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = ""  # type: ignore[misc]
