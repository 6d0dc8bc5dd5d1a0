import dataclasses
import importlib.util
import shutil
from collections import Counter

import pytest

from repotune.annotate import WEIGHTS, Annotation, annotate_units
from repotune.annotate.imports import file_imports
from repotune.annotate.metrics import intent, naming
from repotune.errors import RepotuneError
from repotune.parsing.python_units import FileOrigin, extract_units
from repotune.parsing.treesitter_units import extract_ts_units


def py_units(source, path="pkg/mod.py", repo="r"):
    units = extract_units(source, FileOrigin(repo, "c" * 40, path), Counter())
    return {unit.qualname: unit for unit in units}


def ts_units(source, path):
    units = extract_ts_units(source, path, FileOrigin("r", "c" * 40, path), Counter())
    return {unit.qualname: unit for unit in units}


def annotate_by_name(units):
    annotations = annotate_units(list(units.values()))
    return dict(zip(units, annotations, strict=True))


SERVICE = """from fastapi import FastAPI
from sqlalchemy import select
import torch

app = FastAPI()


@app.get("/items/{item_id}")
def read_item(item_id: int) -> dict:
    return {"id": item_id}


def find_user(session, name):
    return session.execute(select(User).where(User.name == name)).scalar_one()


def embed(values):
    return torch.tensor(values).mean()


def add(a, b):
    return a + b


def _clamp(value, low, high):
    return max(low, min(value, high))
"""

CLI = """import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run it.")
    parser.add_argument("path")
    return parser.parse_args(argv)
"""

TESTS = """from service.items import read_item


def test_read_item():
    assert read_item(1) == {"id": 1}
"""


def test_categories_of_route_query_cli_test_ml_helper_and_plain_function():
    found = annotate_by_name(py_units(SERVICE, "service/items.py"))
    found |= annotate_by_name(py_units(CLI, "tool/run.py"))
    found |= annotate_by_name(py_units(TESTS, "tests/test_items.py"))
    categories = {name: annotation.category for name, annotation in found.items()}
    assert categories == {
        "read_item": "api",  # route decorator, though the file also imports sqlalchemy
        "find_user": "data-access",  # uses sqlalchemy's select, not fastapi
        "embed": "ml",
        "add": "other",
        "_clamp": "utils",
        "main": "cli",
        "test_read_item": "tests",
    }


def test_categories_of_other_languages_from_signatures_and_imports():
    go = """package api

import (
	"fmt"
	"net/http"

	gin "github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, gin.Version)
}

func Count(db *sqlx.DB) int {
	return 1
}
"""
    js = """import express from "express";
import { readFile } from "node:fs/promises";

export function show(req, res) {
  res.send("ok");
}

export async function load(path) {
  return readFile(path);
}
"""
    found = annotate_by_name(ts_units(go, "server/handlers_impl.go"))
    found |= annotate_by_name(ts_units(js, "web/app.js"))
    assert {name: a.category for name, a in found.items()} == {
        "Handle": "api",
        "Count": "data-access",
        "show": "api",
        "load": "io",
    }
    assert found["Handle"].technologies == ("gin",)  # fmt, net/http are std; sqlx unused here
    assert found["Count"].technologies == ("sqlx",)
    assert found["show"].technologies == ()  # express is imported, not referenced
    assert found["load"].lint_findings == 0  # ruff lints Python only


def test_technologies_exclude_stdlib_unreferenced_star_relative_and_first_party_imports():
    source = """import os
import numpy as np
import requests
import mypkg.sub
from pandas import *
from sqlalchemy import select
from .sibling import helper


def fetch(url):
    import yaml

    data = requests.get(url).json()
    os.makedirs("out", exist_ok=True)
    mypkg.sub.log(helper(data))
    return np.array(yaml.safe_load(data))
"""
    (annotation,) = annotate_units(list(py_units(source, "src/mypkg/core.py").values()))
    assert annotation.technologies == ("numpy", "requests", "yaml")


@pytest.mark.parametrize(
    ("language", "text", "packages"),
    [
        (
            "python",
            "import os.path\nfrom sqlalchemy.orm import Session\nfrom . import sibling\n",
            ["", "sqlalchemy", ""],
        ),
        (
            "go",
            'import (\n\t"fmt"\n\tgin "github.com/gin-gonic/gin/binding"\n'
            '\t"gopkg.in/yaml.v3"\n)\n',
            ["", "gin", "yaml"],
        ),
        (
            "typescript",
            'import React from "react";\nimport { Module } from "@nestjs/common/x";\n'
            'import * as fs from "node:fs";\nimport { a } from "./a";\n',
            ["react", "@nestjs/common", "", ""],
        ),
        (
            "java",
            "import org.springframework.web.bind.annotation.GetMapping;\nimport java.util.List;\n"
            "import com.fasterxml.jackson.databind.ObjectMapper;\nimport org.junit.*;\n",
            ["springframework", "", "jackson", "junit"],
        ),
        (
            "rust",
            "use serde::{Deserialize, Serialize};\nuse std::{fs, io::{self, Read}};\n"
            "use crate::db;\n",
            ["serde", "serde", "", "", "", ""],
        ),
    ],
)
def test_package_of_each_import_per_language(language, text, packages):
    assert [entry.package for entry in file_imports(language, text).entries] == packages


def test_python_complexity_matches_the_hand_count():
    source = '''def classify(values, limit):
    """Counts: 1 + the 16 decisions marked below = 17."""
    result = []
    for v in values:  # +1
        if v > limit and v % 2:  # +1 if, +1 and
            result.append(v)
        elif v < 0 or v is None or v == limit:  # +1 elif, +2 or-chain of three
            continue
        else:
            pass
    else:  # +1 for-else
        pass
    try:
        x = [w for w in values if w if w > 1]  # +1 comprehension, +2 its ifs
    except ValueError:  # +1
        x = None
    except KeyError:  # +1
        pass
    y = 1 if x else 2  # +1 ternary

    def nested():
        while y:  # +1: nested functions are part of the unit
            break

    with open("f") as handle:  # with and assert add nothing
        assert handle
    match limit:
        case 1:  # +1
            pass
        case 2 | 3:  # +1
            pass
        case _:  # a bare wildcard adds nothing
            pass
    return result
'''
    (annotation,) = annotate_units(list(py_units(source).values()))
    assert annotation.complexity == 17


def test_python_complexity_of_a_branchless_method_is_one():
    source = '''class A:
    def size(self):
        """If this docstring says if, for and while, nothing changes."""
        return len(self.items)
'''
    (annotation,) = annotate_units(list(py_units(source).values()))
    assert annotation.complexity == 1


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        (
            "src/pick.js",
            """export function pick(items, limit) {
  // if for while: comments do not count
  const label = "a && b || c ? d";
  for (const item of items) {
    if (item.price > limit && item.ok) {
      return item?.name ?? label;
    }
  }
  return items.length > 0 ? items[0] : null;
}
""",
            6,  # 1 + for + if + && + ?? + ternary (not ?.)
        ),
        (
            "src/lib.rs",
            """fn classify(x: Option<i32>, names: &[&str]) -> i32 {
    let f = move || 1;
    match x {
        Some(n) if n > 0 || names.is_empty() => n,
        Some(_) => f(),
        _ => -1,
    }
}
""",
            5,  # 1 + if + || + two arms (not `_ =>`, `move ||` or `&[&str]`)
        ),
        (
            "main.go",
            """package main

func route(method string, ok bool) int {
	switch method {
	case "GET":
		return 1
	case "POST":
		return 2
	default:
	}
	if !ok || method == "" {
		return 3
	}
	return 0
}
""",
            5,  # 1 + two cases + if + ||
        ),
    ],
)
def test_brace_language_complexity_skips_comments_strings_and_lookalikes(path, source, expected):
    (unit,) = ts_units(source, path).values()
    (annotation,) = annotate_units([unit])
    assert annotation.complexity == expected


@pytest.mark.parametrize(
    ("name", "convention"),
    [
        ("parse_file", "snake_case"),
        ("_private_helper", "snake_case"),
        ("parseFile", "camelCase"),
        ("ParseFile", "PascalCase"),
        ("HTTPServer", "PascalCase"),
        ("Run", "PascalCase"),
        ("MAX_SIZE", "SCREAMING_SNAKE"),
        ("GET", "SCREAMING_SNAKE"),
        ("run", "single_word"),
        ("Store.__init__", "single_word"),
        ("get_HTTP", "mixed"),
        ("test_fooBar", "mixed"),
    ],
)
def test_naming_convention(name, convention):
    assert naming(name) == convention


def test_lint_counts_real_findings_but_not_extraction_artefacts():
    source = """import os


def dirty(path):
    unused = 1
    return path


def clean(path):
    return os.path.join(helper(path), "x")


class Store:
    def clean_method(self, key):
        return self.items[key]
"""
    found = annotate_by_name(py_units(source))
    assert found["dirty"].lint_findings == 1  # F841 unused local
    assert found["clean"].lint_findings == 0  # os/helper are module names: no F821
    assert found["Store.clean_method"].lint_findings == 0  # dedented: no indentation error


def test_missing_ruff_is_a_clear_error_but_only_when_python_units_need_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(RepotuneError, match="pip install ruff"):
        annotate_units(list(py_units(SERVICE).values()))
    (unit,) = ts_units("export function f(a) {\n  return a;\n}\n", "a.js").values()
    assert annotate_units([unit])[0].lint_findings == 0


GOOD = '''def scale(values: list[float], factor: float) -> list[float]:
    """Multiply every value by the factor, keeping order."""
    return [value * factor for value in values]
'''


def bad_source():
    branches = "".join(f"    if a == {i}:\n        return {i}\n" for i in range(19))
    unused = "".join(f"    unused_{i} = {i}\n" for i in range(160))
    return f"def bad(a):\n{branches}{unused}    return a\n"


def test_quality_extremes_and_order():
    (good,) = py_units(GOOD).values()
    good = dataclasses.replace(good, related_tests=("tests/test_mod.py::test_scale",))
    (bad,) = py_units(bad_source()).values()
    assert bad.end_line - bad.start_line + 1 == 200
    good_annotation, bad_annotation = annotate_units([good, bad])
    assert bad_annotation.complexity == 20
    assert bad_annotation.lint_findings >= 160
    assert good_annotation.quality == 1.0
    assert bad_annotation.quality == 0.0
    untested = annotate_units([dataclasses.replace(good, related_tests=())])[0]
    assert untested.quality == pytest.approx(1 - WEIGHTS["tested"])


def test_quality_of_other_languages_leaves_lint_out():
    source = """/**
 * Scale every value by the factor.
 * @param {number[]} values
 */
export function scale(values, factor) {
  return values.map((v) => v * factor);
}
"""
    (unit,) = ts_units(source, "src/scale.js").values()
    (annotation,) = annotate_units([unit])
    measured = 1 - WEIGHTS["lint"]  # docstring, JSDoc types, size, complexity: 1; tested: 0
    assert annotation.quality == pytest.approx((measured - WEIGHTS["tested"]) / measured, abs=1e-4)
    assert annotation.intent == "Scale every value by the factor."


def test_intent_is_the_first_sentence():
    assert intent("Load the file, e.g. a CSV.  Then\n parse it.\n\nMore.") == (
        "Load the file, e.g. a CSV."
    )
    assert intent("Return the thing\n\nArgs:\n    x: y.") == "Return the thing"
    assert intent("") == ""
    long = intent("word " * 100)
    assert len(long) <= 200 and long.endswith("…")


def test_annotations_keep_order_ids_and_serialise_to_plain_types():
    units = list(py_units(SERVICE, "service/items.py").values())
    annotations = annotate_units(units)
    assert [a.unit_id for a in annotations] == [u.id for u in units]
    assert all(isinstance(a, Annotation) and 0.0 <= a.quality <= 1.0 for a in annotations)
    assert annotations[0].technologies == ()  # the route names ``app``, not a fastapi import
    data = annotations[1].to_dict()
    assert data["technologies"] == ["sqlalchemy"] and data["unit_id"] == units[1].id
    assert set(data) == {f.name for f in dataclasses.fields(Annotation)}
    assert annotate_units([]) == []
