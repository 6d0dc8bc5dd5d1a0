"""Planted secrets and PII for the scrubber benchmark, rendered in the syntax of their file.

Every value is drawn from one seeded generator, so the corpus is the same on every run. Secrets
come in the shapes repotune names (provider tokens, keys, passwords, URLs with credentials,
random tokens with no telling name); each is rendered as Python, JavaScript, YAML, INI or JSON,
so both tools see secrets the way they appear in real repositories.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

SECRET_KINDS = (
    "aws_access_key aws_secret_key gcp_api_key azure_storage_key azure_connection_string "
    "github_token gitlab_token slack_token slack_webhook private_key jwt password "
    "connection_string high_entropy_string"
).split()
PII_KINDS = ("email", "ip_address", "phone")
WORDS = (
    "account order invoice customer cart payment shipment report metric cluster node queue "
    "worker schedule profile session upload download image thumbnail search index catalog "
    "price discount coupon review rating message channel thread notify alert billing ledger "
    "tenant region bucket archive export import render template layout widget button panel "
    "dashboard chart series window buffer stream batch record column table schema migrate "
    "harbor falcon maple river summit cobalt ember willow orbit canyon meadow"
).split()
HEX = "0123456789abcdef"
UPPER_NUM = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


@dataclass(frozen=True)
class Item:
    """A planted value: its kind (``neg:...`` for look-alikes), a unique string locating it in
    the file, and its rendered text."""

    kind: str
    needle: str
    text: str = ""


def camel(key: str) -> str:
    head, *rest = key.replace("-", "_").replace(".", "_").split("_")
    return head + "".join(part.title() for part in rest)


class Maker:
    """Random values and their rendering, from one seeded generator."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.words = WORDS

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.rnd.choices(alphabet, k=n))

    def word(self) -> str:
        return self.rnd.choice(self.words)

    def sentence(self, n: int = 8) -> str:
        return " ".join(self.rnd.choices(self.words, k=n)).capitalize() + "."

    def pem(self, label: str) -> str:
        body = "\n".join(self.s(B64, 64) for _ in range(self.rnd.randint(8, 25)))
        return f"-----BEGIN {label}-----\nMII{self.s(B64, 61)}\n{body}\n-----END {label}-----"

    def jwt(self) -> str:
        def part(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        claims = {"sub": self.s(string.digits, 10), "name": self.word(), "iat": 1700000000}
        header = json.dumps({"alg": "HS256", "typ": "JWT"}).encode()
        return ".".join(
            [part(header), part(json.dumps(claims).encode()), part(self.rnd.randbytes(32))]
        )

    def human_password(self, url_safe: bool = False) -> str:
        symbol = self.rnd.choice("!*-_" if url_safe else "!#%&*?$")
        return f"{self.word().capitalize()}{self.rnd.randint(10, 9999)}{symbol}"

    def assign(self, fk: str, key: str, value: str) -> str:
        """``key = value`` in the syntax of file kind ``fk``."""
        if fk == "py":
            name = key.replace("-", "_").replace(".", "_")
            return f'{name.upper() if self.rnd.random() < 0.5 else name} = "{value}"'
        if fk == "js":
            quote = self.rnd.choice("\"'")
            return f"export const {camel(key)} = {quote}{value}{quote};"
        if fk == "yaml":
            return f'{key}: "{value}"' if self.rnd.random() < 0.5 else f"{key}: {value}"
        if fk == "ini":
            return f"{key} = {value}"
        return f'  "{camel(key) if self.rnd.random() < 0.5 else key}": "{value}"'

    def private_key(self, fk: str) -> Item:
        labels = ("RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY")
        block = self.pem(self.rnd.choice(labels))
        if fk == "py":
            return Item("private_key", block, f'SIGNING_KEY = """\n{block}\n"""')
        if fk == "js":
            return Item("private_key", block, f"export const signingKey = `\n{block}\n`;")
        if fk == "yaml":
            indented = "\n".join("  " + line for line in block.splitlines())
            return Item("private_key", indented, f"tls_private_key: |\n{indented}")
        escaped = block.replace("\n", "\\n")
        return Item("private_key", escaped, f'  "signing_key": "{escaped}\\n"')

    def secret(self, kind: str, fk: str) -> Item:
        """A planted secret of ``kind`` rendered for file kind ``fk``."""
        if kind == "private_key":
            return self.private_key(fk)
        if kind == "high_entropy_string" and fk == "py" and self.rnd.random() < 0.5:
            value = self.s(ALNUM, 32)  # a call argument, next to an innocent id argument
            call = self.rnd.choice(
                [f'PaymentClient("{value}", timeout=30)',
                 f'Signer(key_id="{self.word()}-{self.rnd.randint(1, 9)}", material="{value}")']
            )  # fmt: skip
            return Item(kind, value, f"{self.word()}_client = {call}")
        keys, value, needle = SECRETS[kind](self, fk)
        return Item(kind, needle or value, self.assign(fk, self.rnd.choice(keys), value))

    def pii(self, kind: str, fk: str) -> Item:
        """A planted e-mail, IP address or phone number for file kind ``fk``."""
        c, r = self.rnd.choice, self.rnd.randint
        if kind == "email":
            tld = c(["com", "io", "de"])
            value = f"{self.word()}.{self.word()}{r(1, 99)}@{self.word()}-corp.{tld}"
            keys = ["owner_email", "maintainer", "support_contact"]
        elif kind == "ip_address":
            value = c([
                f"10.{r(0, 255)}.{r(0, 255)}.{r(1, 254)}",
                f"192.168.{r(0, 255)}.{r(1, 254)}",
                f"{c([34, 52, 91, 185])}.{r(0, 255)}.{r(0, 255)}.{r(1, 254)}",
                f"2a01:4f8:{r(1, 65535):x}:{r(1, 65535):x}::{r(1, 255):x}",
            ])  # fmt: skip
            keys = ["db_host", "upstream_ip", "gateway"]
        else:
            area, exchange, line = r(201, 989), r(201, 989), r(1000, 9999)
            value = c([
                f"+1 ({area}) {exchange}-{line}",
                f"{area}-{exchange}-{line}",
                f"+44 20 {r(7000, 7999)} {line}",
                f"+49 30 {r(1000000, 9999999)}",
            ])  # fmt: skip
            keys = ["support_phone", "oncall_phone", "phone"]
        return Item(kind, value, self.assign(fk, c(keys), value))


def _password(m: Maker, fk: str) -> tuple[list[str], str, str]:
    key = m.rnd.choice(["password", "db_password", "smtp_password", "redis_password", "admin_pwd",
                        "secret_key", "api_key", "client_secret", "auth_token", "access_token",
                        "webhook_secret", "private_token"])  # fmt: skip
    if "pass" not in key and "pwd" not in key:
        return [key], m.rnd.choice(["sk_live_", "", "key-"]) + m.s(ALNUM, 32), ""
    if fk in ("yaml", "ini") and m.rnd.random() < 0.3:
        return [key], m.word() + m.word(), ""  # letters only: "harborfalcon"
    return [key], m.human_password(), ""


def _connection(m: Maker, fk: str) -> tuple[list[str], str, str]:
    password = m.human_password(url_safe=True)
    scheme, port = m.rnd.choice([("postgresql", 5432), ("mysql", 3306), ("amqp", 5672)])
    url = f"{scheme}://{m.word()}:{password}@{m.word()}.internal:{port}/{m.word()}"
    return ["database_url", "broker_url", "mongo_uri", "sqlalchemy_url"], url, password


def _azure_connection(m: Maker, fk: str) -> tuple[list[str], str, str]:
    key = m.s(B64, 86) + "=="
    value = (
        f"DefaultEndpointsProtocol=https;AccountName={m.word()}store;AccountKey={key};"
        "EndpointSuffix=core.windows.net"
    )
    return ["azure_storage_connection_string"], value, key


def _github(m: Maker, fk: str) -> tuple[list[str], str, str]:
    pat = f"github_pat_{m.s(ALNUM, 22)}_{m.s(ALNUM, 59)}"
    value = m.rnd.choice(["ghp_" + m.s(ALNUM, 36), "ghs_" + m.s(ALNUM, 36), pat])
    return ["github_token", "gh_token", "ci_github_token"], value, ""


def _slack_webhook(m: Maker, fk: str) -> tuple[list[str], str, str]:
    path = f"T{m.s(UPPER_NUM, 8)}/B{m.s(UPPER_NUM, 10)}/{m.s(ALNUM, 24)}"
    return ["slack_webhook_url", "alerts_webhook"], f"https://hooks.slack.com/services/{path}", ""


def _fixed(keys: list[str], prefix: str, alphabet: str, n: int, suffix: str = "") -> Callable:
    """A secret made of a fixed prefix and ``n`` random characters."""
    return lambda m, fk: (keys, prefix + m.s(alphabet, n) + suffix, "")


def _aws_access(m: Maker, fk: str) -> tuple[list[str], str, str]:
    value = m.rnd.choice(["AKIA", "ASIA"]) + m.s(UPPER_NUM, 16)
    return ["aws_access_key_id", "s3_access_key"], value, ""


def _slack(m: Maker, fk: str) -> tuple[list[str], str, str]:
    value = f"xoxb-{m.s(string.digits, 11)}-{m.s(string.digits, 13)}-{m.s(ALNUM, 24)}"
    return ["slack_bot_token", "slack_token"], value, ""


def _random_token(m: Maker, fk: str) -> tuple[list[str], str, str]:
    """No secret-sounding name: only randomness gives it away."""
    value = m.rnd.choice(
        [m.s(URLSAFE, m.rnd.randint(24, 48)), "rk_live_" + m.s(ALNUM, 24), m.s(ALNUM, 32)]
    )
    return ["handshake_material", "upload_signature", "partner_blob", "fallback_seed"], value, ""


SECRETS: dict[str, Callable[[Maker, str], tuple[list[str], str, str]]] = {
    "aws_access_key": _aws_access,
    "aws_secret_key": _fixed(["aws_secret_access_key", "aws_secret_key"], "", B64, 40),
    "gcp_api_key": _fixed(["google_maps_key", "firebase_api_key"], "AIza", URLSAFE, 35),
    "azure_storage_key": _fixed(["azure_storage_key", "azure_account_key"], "", B64, 86, "=="),
    "azure_connection_string": _azure_connection,
    "github_token": _github,
    "gitlab_token": _fixed(["gitlab_token", "gitlab_private_token"], "glpat-", URLSAFE, 20),
    "slack_token": _slack,
    "slack_webhook": _slack_webhook,
    "jwt": lambda m, fk: (["service_jwt", "test_bearer", "id_token"], m.jwt(), ""),
    "password": _password,
    "connection_string": _connection,
    "high_entropy_string": _random_token,
}
