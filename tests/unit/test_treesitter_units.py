from collections import Counter

import pytest

from repotune.parsing.python_units import FileOrigin
from repotune.parsing.treesitter_units import (
    LANGUAGE_BY_EXTENSION,
    close_enclosing,
    extract_ts_units,
    join_snippet,
    language_for_path,
    syntax_ok,
)

JS = """import { formatPrice } from "./money.js";
import express from "express";

/**
 * Total of the cart, in cents.
 * @param {Array} items
 */
export function total(items) {
  function lineTotal(item) {
    return item.price * item.qty;
  }
  return items.reduce((sum, item) => sum + lineTotal(item), 0);
}

export const double = (x) => x * 2;

const grüße = async (name) => {
  return `¡Hola, ${name}! 👋`;
};

class Cart extends Base {
  constructor(items) {
    super();
    this.items = items;
  }

  static empty() {
    return new Cart([]);
  }

  size() { return this.items.length; }
}
"""

TS = """import type { Request } from "express";
import * as path from "node:path";

export interface Handler {
  handle(req: Request): Promise<void>;
}

export function parse(input: string): number;
export function parse(input: number): number;
/** Parses a port, falling back to 8080. */
export function parse(input: string | number): number {
  const clamp = (n: number) => {
    return Math.min(n, 65535);
  };
  return clamp(Number(input)) || 8080;
}

export abstract class Server<T> implements Handler {
  private readonly routes = new Map<string, T>();

  abstract listen(port: number): void;

  /**
   * Handles one request.
   */
  @logged
  public async handle(req: Request): Promise<void> {
    const route = this.routes.get(req.path);
    await this.dispatch(route);
  }

  protected dispatch = async (route?: T): Promise<void> => {
    console.log("→ dispatching", route);
  };

  get size(): number { return this.routes.size; }
}
"""

TSX = """import React from "react";

export const Badge = ({ label }: { label: string }) => (
  <span className="badge">{label}</span>
);

export function List<T,>({ items }: { items: T[] }) {
  return <ul>{items.map((i) => <li>{String(i)}</li>)}</ul>;
}
"""

GO = """package server

import (
\t"fmt"
\t"net/http"
)

// Server serves the café's menu.
type Server struct {
\taddr string
}

type Starter interface {
\tStart() error
}

// Start listens on the server's address.
//
// It blocks until the listener fails.
func (s *Server) Start() error {
\thandler := func(w http.ResponseWriter, r *http.Request) {
\t\tfmt.Fprintln(w, "¡menú del día!")
\t}
\treturn http.ListenAndServe(s.addr, http.HandlerFunc(handler))
}

func (Server) Name() string { return "café" }

func nanotime() int64

// Grüße greets.
//go:noinline
func Grüße(name string) string {
\treturn fmt.Sprintf("Grüße, %s", name)
}
"""

JAVA = """package shop;

import java.util.ArrayList;
import java.util.List;

/** Keeps stock. */
public class Inventory {
    private final List<String> items = new ArrayList<>();

    /**
     * Creates an empty inventory.
     */
    public Inventory() {
        super();
    }

    /**
     * Adds an item and returns the new size.
     *
     * @param item the item's name
     */
    @Deprecated
    public int add(String item) {
        Runnable log = new Runnable() {
            @Override
            public void run() {
                System.out.println("añadido: " + item);
            }
        };
        items.add(item);
        return items.size();
    }

    public int size() { return items.size(); }

    static class Größe {
        int value() {
            return 42;
        }
    }

    interface Listener {
        void changed(String item);

        default void reset() {
            changed("∅");
        }
    }

    enum Unit {
        PIECE, BOX;

        int factor() {
            return this == BOX ? 12 : 1;
        }
    }
}
"""

RUST = """use std::fmt;
use std::collections::HashMap;

/// A stack of values.
pub struct Stack<T> {
    items: Vec<T>,
}

impl<T: Clone> Stack<T> {
    /// Pushes a value and returns the new depth.
    ///
    /// Never fails.
    #[inline]
    pub fn push(&mut self, value: T) -> usize {
        fn bump(n: usize) -> usize {
            n + 1
        }
        self.items.push(value);
        bump(self.items.len() - 1)
    }

    pub fn len(&self) -> usize { self.items.len() }
}

impl<T> fmt::Display for Stack<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pila de {} éléments", self.items.len())
    }
}

pub trait Peek {
    fn peek(&self) -> Option<&str>;

    fn is_empty(&self) -> bool {
        self.peek().is_none()
    }
}

/// Größe in bytes.
pub fn größe(s: &str) -> usize {
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes() {
        let mut s = Stack { items: vec![] };
        assert_eq!(s.push(1), 1);
    }
}
"""

CASES = {
    "javascript": (
        "web/cart.js",
        JS,
        {"total": "function", "grüße": "function", "Cart.constructor": "method"}
        | {"Cart.empty": "method"},
        {"inline_body": 2},
    ),
    "typescript": (
        "src/server.ts",
        TS,
        {"parse": "function", "Server.handle": "method", "Server.dispatch": "method"},
        {"no_body": 4, "inline_body": 1},
    ),
    "tsx": ("ui/badge.tsx", TSX, {"Badge": "function", "List": "function"}, {}),
    "go": (
        "server/server.go",
        GO,
        {"Server.Start": "method", "Grüße": "function"},
        {"no_body": 2, "inline_body": 1},
    ),
    "java": (
        "src/main/java/shop/Inventory.java",
        JAVA,
        {"Inventory.Inventory": "method", "Inventory.add": "method"}
        | {"Inventory.Größe.value": "method", "Inventory.Listener.reset": "method"}
        | {"Inventory.Unit.factor": "method"},
        {"no_body": 1, "inline_body": 1},
    ),
    "rust": (
        "src/stack.rs",
        RUST,
        {"Stack.push": "method", "Stack.fmt": "method", "Peek.is_empty": "method"}
        | {"größe": "function", "tests.pushes": "function"},
        {"no_body": 1, "inline_body": 1},
    ),
}


def extract(case):
    path, source, _, _ = CASES[case]
    drops = Counter()
    units = extract_ts_units(source, path, FileOrigin(repo="r", commit="c" * 40, path=path), drops)
    return {u.qualname: u for u in units}, drops


@pytest.mark.parametrize("case", sorted(CASES))
def test_units_kinds_and_drop_counts(case):
    units, drops = extract(case)
    _, _, kinds, expected_drops = CASES[case]
    assert {name: u.kind for name, u in units.items()} == kinds
    assert drops == Counter(expected_drops)


@pytest.mark.parametrize("case", sorted(CASES))
def test_units_are_whole_lines_cut_where_the_body_opens(case):
    path, source, _, _ = CASES[case]
    lines = source.splitlines(keepends=True)
    for unit in extract(case)[0].values():
        assert unit.header + unit.body == unit.code
        assert unit.code == "".join(lines[unit.start_line - 1 : unit.end_line])
        assert unit.header.rstrip().endswith(("{", "("))
        assert unit.body.splitlines()[-1].strip() in ("}", "};", ");")
        assert unit.language == LANGUAGE_BY_EXTENSION["." + path.rsplit(".", 1)[1]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_prompt_completion_and_closers_rebuild_a_parseable_snippet(case):
    for unit in extract(case)[0].values():
        closer = close_enclosing(unit.language, unit.enclosing)
        assert closer.count("}") == unit.enclosing.count("{")
        snippet = join_snippet(unit.enclosing + unit.header, unit.body, closer)
        assert syntax_ok(unit.language, snippet), snippet
        assert close_enclosing(unit.language, unit.enclosing + unit.code) == closer
        assert not syntax_ok(unit.language, unit.enclosing + unit.header + closer)


def test_javascript_doc_comment_imports_and_nested_functions():
    units, _ = extract("javascript")
    total = units["total"]
    assert total.docstring == "Total of the cart, in cents.\n@param {Array} items"
    assert total.header.startswith("/**\n * Total")
    assert total.header.endswith("export function total(items) {\n")
    assert total.signature == "export function total(items) {\n"
    assert "function lineTotal(item) {" in total.body
    assert total.body.endswith(
        "  return items.reduce((sum, item) => sum + lineTotal(item), 0);\n}\n"
    )
    assert (
        total.imports
        == 'import { formatPrice } from "./money.js";\nimport express from "express";\n'
    )
    assert (total.start_line, total.end_line) == (4, 13)
    assert units["grüße"].body == "  return `¡Hola, ${name}! 👋`;\n};\n"
    assert units["Cart.empty"].enclosing == "class Cart extends Base {\n"
    assert units["Cart.empty"].header == "  static empty() {\n"


def test_typescript_overloads_decorators_and_arrow_fields():
    units, _ = extract("typescript")
    parse = units["parse"]
    assert parse.header == (
        "/** Parses a port, falling back to 8080. */\n"
        "export function parse(input: string | number): number {\n"
    )
    assert parse.docstring == "Parses a port, falling back to 8080."
    assert "const clamp = (n: number) => {" in parse.body
    handle = units["Server.handle"]
    assert handle.enclosing == "export abstract class Server<T> implements Handler {\n"
    assert handle.header == (
        "  /**\n   * Handles one request.\n   */\n  @logged\n"
        "  public async handle(req: Request): Promise<void> {\n"
    )
    assert handle.signature == "  public async handle(req: Request): Promise<void> {\n"
    assert handle.docstring == "Handles one request."
    assert units["Server.dispatch"].body == ('    console.log("→ dispatching", route);\n  };\n')


def test_tsx_parses_jsx_and_expression_bodies_split_at_their_opening_line():
    units, _ = extract("tsx")
    badge = units["Badge"]
    assert badge.header == "export const Badge = ({ label }: { label: string }) => (\n"
    assert badge.body == '  <span className="badge">{label}</span>\n);\n'


def test_go_receivers_doc_comments_and_import_block():
    units, _ = extract("go")
    start = units["Server.Start"]
    assert start.enclosing == ""
    assert (
        start.docstring
        == "Start listens on the server's address.\n\nIt blocks until the listener fails."
    )
    assert start.header.endswith("func (s *Server) Start() error {\n")
    assert start.header.startswith("// Start listens")
    assert "handler := func(" in start.body
    assert start.imports == 'import (\n\t"fmt"\n\t"net/http"\n)\n'
    greet = units["Grüße"]
    assert greet.docstring == "Grüße greets."
    assert greet.header == "// Grüße greets.\n//go:noinline\nfunc Grüße(name string) string {\n"


def test_java_nested_types_give_nested_enclosing_headers():
    units, _ = extract("java")
    add = units["Inventory.add"]
    assert add.enclosing == "public class Inventory {\n"
    assert add.docstring == "Adds an item and returns the new size.\n\n@param item the item's name"
    assert add.header.endswith("    @Deprecated\n    public int add(String item) {\n")
    assert add.signature == "    public int add(String item) {\n"
    assert "public void run() {" in add.body
    assert add.imports == "import java.util.ArrayList;\nimport java.util.List;\n"
    assert units["Inventory.Größe.value"].enclosing == (
        "public class Inventory {\n    static class Größe {\n"
    )
    assert units["Inventory.Unit.factor"].enclosing == (
        "public class Inventory {\n    enum Unit {\n        PIECE, BOX;\n"
    )
    assert units["Inventory.Inventory"].docstring == "Creates an empty inventory."


def test_rust_impls_traits_attributes_and_modules():
    units, _ = extract("rust")
    push = units["Stack.push"]
    assert push.enclosing == "impl<T: Clone> Stack<T> {\n"
    assert push.docstring == "Pushes a value and returns the new depth.\n\nNever fails."
    assert push.header.endswith("    #[inline]\n    pub fn push(&mut self, value: T) -> usize {\n")
    assert push.signature == "    pub fn push(&mut self, value: T) -> usize {\n"
    assert "fn bump(n: usize) -> usize {" in push.body
    assert units["Stack.fmt"].enclosing == "impl<T> fmt::Display for Stack<T> {\n"
    assert units["Peek.is_empty"].enclosing == "pub trait Peek {\n"
    assert units["größe"].docstring == "Größe in bytes."
    pushes = units["tests.pushes"]
    assert pushes.enclosing == "mod tests {\n"
    assert pushes.header == "    #[test]\n    fn pushes() {\n"
    assert push.imports == "use std::fmt;\nuse std::collections::HashMap;\n"


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("a.js", "function f( {\n  return 1;\n}\n"),
        ("a.ts", "class A {\n  m(): void {\n"),
        ("a.go", "package a\n\nfunc f() {\n\treturn 1 +\n}\n"),
        ("A.java", "class A {\n  void f() {\n    int x = ;\n  }\n}\n"),
        ("a.rs", "fn f() -> i32 {\n    let x = ;\n}\n"),
    ],
)
def test_a_file_with_syntax_errors_raises(path, source):
    with pytest.raises(SyntaxError):
        extract_ts_units(source, path, FileOrigin("r", "c", path), Counter())


def test_definitions_sharing_a_line_with_other_code_are_dropped():
    source = "class A { m() {\n    return 1;\n  }\n}\nclass B {\n  n() {\n    return 2;\n  }}\n"
    drops = Counter()
    assert extract_ts_units(source, "a.js", FileOrigin("r", "c", "a.js"), drops) == []
    assert drops == Counter({"shared_line": 2})


def test_crlf_line_endings_are_kept():
    source = "function f() {\r\n  return 1;\r\n}\r\n"
    (unit,) = extract_ts_units(source, "a.js", FileOrigin("r", "c", "a.js"), Counter())
    assert (unit.header, unit.body) == ("function f() {\r\n", "  return 1;\r\n}\r\n")


def test_language_for_path_and_syntax_ok():
    assert language_for_path("src/App.TSX") == "typescript"
    assert language_for_path("lib/x.mjs") == "javascript"
    assert language_for_path("main.py") is None
    assert syntax_ok("python", "def f():\n    return 1\n")
    assert not syntax_ok("python", "def f(:\n")
    assert syntax_ok("typescript", "const a = <div>{x}</div>;\n")
    assert syntax_ok("typescript", "const a = <T>value;\n")
    assert not syntax_ok("go", "func f() {\n")


def test_closers_ignore_braces_in_strings_and_templates():
    assert close_enclosing("javascript", "class A extends mix(`${x}`, '{') {\n") == "}\n"
    header = '@Doc({"a{"})\npublic class A {\n    static class B {\n'
    assert close_enclosing("java", header) == "    }\n}\n"
    assert close_enclosing(
        "rust", "mod m {\n    impl<T> X\n    for Y<T>\n    where\n        T: Eq,\n    {\n"
    ) == ("    }\n}\n")
    assert close_enclosing("python", "class A:\n") == ""
    assert join_snippet("fn f() {\n", "    1 // one", "}\n") == "fn f() {\n    1 // one\n}\n"


@pytest.mark.parametrize(
    ("path", "source", "qualnames", "drops"),
    [
        ("a.js", "function f() {\n  // nothing yet\n}\n", [], {"no_body": 1}),
        ("a.js", "export default function () {\n  return 1;\n}\n", ["default"], {}),
        (
            "a.go",
            "package a\n\nfunc (s *Stack[T]) Pop() T {\n\treturn s.top\n}\n",
            ["Stack.Pop"],
            {},
        ),
        (
            "a.rs",
            "impl<'a> Show for &'a crate::Stack<u8> {\n"
            "    fn show(&self) {\n        p();\n    }\n}\n",
            ["Stack.show"],
            {},
        ),
    ],
)
def test_edge_cases(path, source, qualnames, drops):
    counted = Counter()
    units = extract_ts_units(source, path, FileOrigin("r", "c", path), counted)
    assert [u.qualname for u in units] == qualnames
    assert counted == Counter(drops)


def test_paths_without_a_grammar_are_refused():
    with pytest.raises(ValueError, match="no tree-sitter grammar"):
        extract_ts_units("x = 1\n", "a.py", FileOrigin("r", "c", "a.py"), Counter())
