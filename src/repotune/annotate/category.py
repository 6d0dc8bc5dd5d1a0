"""What a unit is for, from an ordered table of explicit rules: the first rule that matches wins.

Strong evidence (what the unit is, what it declares and what it calls) is tried before weak
evidence (where it lives and what it is called), so a route handler in ``db/`` is ``api`` and a
helper in ``api/`` that only queries a database is ``data-access``.

====  ===========  ====================================================================
 #    category     rule
====  ===========  ====================================================================
 1    tests        a test (``is_test``), or any unit of a test file (fixtures, helpers)
 2    api          a route decorator/annotation/attribute (``@app.get(``, ``@GetMapping``,
                   NestJS ``@Post(``, actix ``#[get(``), a method of a ``@RestController``,
                   or an HTTP-handler signature (Go ``http.ResponseWriter``,
                   ``*gin.Context``, ..., JS ``(req, res``)
 3    cli          named ``main``, a CLI command decorator (``@app.command(``), reads
                   ``sys.argv``-like arguments, or uses a CLI library (argparse, click,
                   typer, cobra, commander, clap, ...)
 4    api          uses a web framework (FastAPI, Flask, Django views, express, gin,
                   Spring web, axum, ...), or a Django-style ``request`` view in a file
                   importing one
 5    data-access  uses a database library (sqlalchemy, sqlite3, psycopg, database/sql,
                   gorm, mongoose, prisma, java.sql, JPA, diesel, sqlx, ...)
 6    ml           uses an ML/numeric library (torch, numpy, sklearn, transformers, ...)
 7    config       uses a config library (configparser, dotenv, viper, ...) or reads the
                   environment (``os.environ``, ``process.env``, ``os.Getenv``, Spring
                   ``@Value``, ...)
 8    io           uses a file/network/process I/O library (pathlib, requests, os/io in
                   Go, fs/axios in JS, java.io/java.net, std::fs, ...) or calls ``open(``
                   or ``fetch(``
 9    cli          a path word cli, cmd, command(s), script(s), bin, or ``__main__``
10    api          a path word api, routes, handlers, views, endpoints, controllers, ...
11    data-access  a path word db, models, repository, dao, query, migrations, ..., or a
                   name word query, repository, dao, sql, db, crud
12    ml           a path word ml, training, inference
13    config       a path word config, settings, conf, or a name word config, settings
14    io           a name word read, write, load, save, dump, download, upload
15    utils        a path word utils, helpers, common, misc, tools, or a private
                   (``_name``) module-level function: a helper
16    other        everything else
====  ===========  ====================================================================

"Uses" means a referenced import (:func:`repotune.annotate.imports.referenced`) that is one of
the category's :data:`LIBRARIES` for the unit's language or lies inside one (``sqlalchemy.orm``
is inside ``sqlalchemy``, ``std::fs::File`` inside ``std::fs``). Path and name words are split
at ``/``, ``_``, ``-``, ``.`` and case changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from repotune.parsing.related_tests import is_test, is_test_file
from repotune.records import CodeUnit

_ROUTE_DECORATOR = re.compile(
    r"@\w+\.(?:get|post|put|patch|delete|head|options|route|api_route|websocket)\("
    r"|@(?:api_view|require_http_methods|require_GET|require_POST)\b"
    r"|@(?:Get|Post|Put|Patch|Delete|Request)Mapping\b|@(?:GET|POST|PUT|PATCH|DELETE|Path)\b"
    r"|@(?:Get|Post|Put|Patch|Delete|All)\(|#\[(?:get|post|put|patch|delete|route)\("
)
_CONTROLLER = re.compile(r"@(?:RestController|Controller)\b")
_HANDLER_SIGNATURE = re.compile(
    r"http\.ResponseWriter|\*http\.Request\b|http\.Handler(?:Func)?\b|\*gin\.Context"
    r"|echo\.Context|\*fiber\.Ctx|\(\s*req(?:uest)?\b[^,()]*,\s*res(?:ponse)?\b"
)
_COMMAND_DECORATOR = re.compile(r"@(?:\w+\.)+(?:command|group|callback)\b")
_ARGV = re.compile(r"(?:sys\.argv|os\.Args|process\.argv|env::args\()\b")
_ENVIRONMENT = re.compile(  # no leading ``\b``: it would disable the regex engine's fast scan
    r"(?:os\.(?:environ|getenv|Getenv|LookupEnv)|process\.env|System\.getenv|env::var"
    r"|@(?:Configuration|ConfigurationProperties|Value))\b"
)
_IO_CALL = re.compile(r"(?<![\w.])(?:open|fetch)\(")
_DJANGO_VIEW = re.compile(r"\(\s*(?:self\s*,\s*)?request\b")

_LIBRARIES: dict[str, dict[str, str]] = {
    "cli": {
        "python": "argparse optparse getopt click typer fire docopt rich_click",
        "javascript": "commander yargs minimist meow",
        "go": "flag github.com/spf13/cobra github.com/urfave/cli",
        "java": "picocli org.apache.commons.cli",
        "rust": "clap structopt argh",
    },
    "api": {
        "python": "fastapi flask starlette django.http django.views django.shortcuts django.urls "
        "rest_framework aiohttp.web tornado.web falcon sanic bottle pyramid quart litestar "
        "http.server",
        "javascript": "express koa fastify @nestjs/common @nestjs/core @hapi/hapi next/server",
        "go": "github.com/gin-gonic/gin github.com/labstack/echo github.com/gofiber/fiber "
        "github.com/go-chi/chi github.com/gorilla/mux",
        "java": "org.springframework.web org.springframework.http javax.ws.rs jakarta.ws.rs "
        "javax.servlet jakarta.servlet io.javalin",
        "rust": "actix_web axum rocket warp",
    },
    "data-access": {
        "python": "sqlalchemy sqlite3 psycopg psycopg2 asyncpg pymysql MySQLdb mysql pymongo "
        "motor redis peewee django.db tortoise sqlmodel databases cx_Oracle oracledb pyodbc "
        "duckdb elasticsearch",
        "javascript": "pg mysql mysql2 mongoose mongodb sequelize typeorm knex @prisma/client "
        "redis ioredis sqlite3 better-sqlite3 drizzle-orm",
        "go": "database/sql gorm.io/gorm github.com/jmoiron/sqlx github.com/jackc/pgx "
        "github.com/lib/pq go.mongodb.org/mongo-driver github.com/go-redis/redis "
        "github.com/redis/go-redis github.com/mattn/go-sqlite3",
        "java": "java.sql javax.sql javax.persistence jakarta.persistence org.hibernate "
        "org.springframework.data org.springframework.jdbc org.jooq org.mybatis com.mongodb",
        "rust": "diesel sqlx rusqlite postgres tokio_postgres mongodb redis sea_orm",
    },
    "ml": {
        "python": "torch tensorflow keras jax flax numpy scipy sklearn pandas transformers "
        "datasets xgboost lightgbm catboost peft trl accelerate onnx onnxruntime statsmodels "
        "sentence_transformers tokenizers",
        "javascript": "@tensorflow/tfjs onnxruntime-node",
        "go": "gorgonia.org/gorgonia gonum.org/v1/gonum",
        "java": "org.tensorflow ai.djl org.deeplearning4j",
        "rust": "ndarray tch candle_core burn linfa",
    },
    "config": {
        "python": "configparser tomllib tomli dotenv pydantic_settings decouple dynaconf hydra "
        "omegaconf environs",
        "javascript": "dotenv config convict",
        "go": "github.com/spf13/viper github.com/joho/godotenv "
        "github.com/kelseyhightower/envconfig",
        "java": "org.springframework.boot.context.properties",
        "rust": "config dotenv dotenvy envy figment",
    },
    "io": {
        "python": "pathlib shutil io tempfile glob csv gzip bz2 lzma zipfile tarfile socket ssl "
        "selectors urllib http.client ftplib smtplib poplib imaplib subprocess mmap requests "
        "httpx aiohttp aiofiles boto3 paramiko urllib3",
        "javascript": "fs axios node-fetch got http https net child_process stream",
        "go": "os io bufio net path/filepath archive compress encoding/csv",
        "java": "java.io java.nio java.net okhttp3 org.apache.http",
        "rust": "std::fs std::io std::net std::process tokio::fs tokio::io tokio::net reqwest "
        "hyper",
    },
}
"""Per category and language family, libraries by import spec: a unit *uses* one when one of
its referenced specs is the library or lies inside it."""
LIBRARIES = {
    category: frozenset(
        f"{family}:{lib}" for family, libs in by_family.items() for lib in libs.split()
    )
    for category, by_family in _LIBRARIES.items()
}
_PATH_WORDS = {
    "cli": {"cli", "cmd", "command", "commands", "scripts", "script", "bin", "__main__"},
    "api": {"api", "apis", "routes", "route", "router", "routers", "handlers", "handler", "views"}
    | {"view", "endpoints", "endpoint", "controllers", "controller", "rest", "resolvers"},
    "data-access": {"db", "database", "models", "repository", "repositories", "dao", "daos"}
    | {"query", "queries", "persistence", "migrations", "orm", "sql", "entities", "crud"},
    "ml": {"ml", "training", "inference"},
    "config": {"config", "configs", "configuration", "settings", "conf"},
    "utils": {"util", "utils", "utility", "utilities", "helper", "helpers", "common", "misc"}
    | {"tools"},
}
_NAME_WORDS = {
    "data-access": {"query", "queries", "repository", "dao", "sql", "db", "crud"},
    "config": {"config", "configure", "configuration", "settings"},
    "io": {"read", "write", "load", "save", "dump", "download", "upload"},
}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|__main__")


@dataclass(frozen=True)
class Signals:
    """What the rules look at: the unit; the specs it uses and its file imports (as
    :func:`spec_keys`); the words of its path and of its qualified name (lowercase)."""

    unit: CodeUnit
    used: frozenset[str]
    file_specs: frozenset[str]
    path_words: frozenset[str]
    name_words: frozenset[str]


def words(text: str) -> frozenset[str]:
    """Lowercase words of a path or name: ``api/UserRoutes`` is api, user, routes."""
    return frozenset(word.lower() for word in _WORD.findall(text))


@lru_cache(maxsize=1 << 14)
def spec_keys(family: str, specs: frozenset[str]) -> frozenset[str]:
    """``family:prefix`` for each spec and each of its prefixes that ends before a ``.``, ``/``
    or ``:``, so that a library matches the specs inside it with one set intersection."""
    keys = set()
    for spec in specs:
        keys.add(f"{family}:{spec}")
        keys.update(f"{family}:{spec[:i]}" for i, char in enumerate(spec) if char in "./:")
    return frozenset(keys)


def _private_helper(unit: CodeUnit) -> bool:
    name = unit.qualname
    return unit.kind == "function" and name.startswith("_") and not name.endswith("__")


Rule = tuple[str, Callable[[Signals], bool]]
RULES: tuple[Rule, ...] = (
    ("tests", lambda s: is_test(s.unit) or is_test_file(s.unit.path, s.unit.language)),
    (
        "api",
        lambda s: bool(
            _ROUTE_DECORATOR.search(s.unit.header)
            or _CONTROLLER.search(s.unit.enclosing)
            or _HANDLER_SIGNATURE.search(s.unit.signature)
        ),
    ),
    (
        "cli",
        lambda s: (
            s.unit.qualname.rpartition(".")[2] == "main"
            or bool(_COMMAND_DECORATOR.search(s.unit.header) or _ARGV.search(s.unit.code))
            or bool(s.used & LIBRARIES["cli"])
        ),
    ),
    (
        "api",
        lambda s: (
            bool(s.used & LIBRARIES["api"])
            or (
                bool(s.file_specs & LIBRARIES["api"])
                and bool(_DJANGO_VIEW.search(s.unit.signature))
            )
        ),
    ),
    ("data-access", lambda s: bool(s.used & LIBRARIES["data-access"])),
    ("ml", lambda s: bool(s.used & LIBRARIES["ml"])),
    (
        "config",
        lambda s: bool(s.used & LIBRARIES["config"]) or bool(_ENVIRONMENT.search(s.unit.code)),
    ),
    ("io", lambda s: bool(s.used & LIBRARIES["io"]) or bool(_IO_CALL.search(s.unit.body))),
    ("cli", lambda s: bool(s.path_words & _PATH_WORDS["cli"])),
    ("api", lambda s: bool(s.path_words & _PATH_WORDS["api"])),
    (
        "data-access",
        lambda s: bool(
            s.path_words & _PATH_WORDS["data-access"] or s.name_words & _NAME_WORDS["data-access"]
        ),
    ),
    ("ml", lambda s: bool(s.path_words & _PATH_WORDS["ml"])),
    (
        "config",
        lambda s: bool(
            s.path_words & _PATH_WORDS["config"] or s.name_words & _NAME_WORDS["config"]
        ),
    ),
    ("io", lambda s: bool(s.name_words & _NAME_WORDS["io"])),
    ("utils", lambda s: bool(s.path_words & _PATH_WORDS["utils"]) or _private_helper(s.unit)),
)
"""The rules of the module doc's table, in its order ("other" is the fallback)."""


def categorize(signals: Signals) -> str:
    """The category of the first rule in :data:`RULES` that matches, else ``"other"``."""
    for category, matches in RULES:
        if matches(signals):
            return category
    return "other"
