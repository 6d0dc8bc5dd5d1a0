"""Seeded corpus of Python-like functions with planted near-duplicates and exact duplicates.

Base snippets are functions assembled from ~20 statement templates with identifiers drawn from a
~150-word vocabulary, so two unrelated snippets share little beyond keywords. Planted variants
of a base: ``rename`` (one or two local names replaced everywhere), ``edit`` (one to three
statements given new numbers, replaced, inserted or deleted), ``mixed`` (a rename and an edit)
and ``exact`` (a verbatim copy with CRLF line ends or trailing spaces). Edit sizes vary so that
the variants' Jaccard to their base spreads across the 0.7 threshold: planted pairs are
candidates, the ground truth is their exact Jaccard on shingle sets (see
``near_dedup_vs_datatrove.py``).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

WORDS = (
    "account address amount answer array batch block buffer cache call cell chunk client code "
    "column config count cursor data date delta depth entry error event field file filter flag "
    "frame graph group handle hash header index input item job key label layer length limit line "
    "link list lock log map mask match message meta mode model name node number object offset "
    "option order output owner packet page pair parent path pattern point pool port position "
    "prefix price queue range rate record region report request result root route row rule "
    "sample scale schema score scope segment sender session shape size slot source span stack "
    "state status step store stream string suffix table tag target task term text thread token "
    "total tree type unit user value vector version view weight window worker zone"
).split()
VERBS = (
    "build check collect compute convert count create decode encode fetch filter find format "
    "gather group load merge normalize parse prepare process read reduce render resolve scan "
    "select sort split store summarize transform update validate write"
).split()

STATEMENTS = (
    "{v} = {w} + {n}",
    "{v} = {f}({w}, {n})",
    "if {v} > {n}:\n    {w} = {v} - {n}",
    "for {i} in range({n}):\n    {v} += {i} * {w}",
    "{v}.append({w})",
    "{w}[{s}] = {v}",
    "{v} = [{i} for {i} in {w} if {i} % {n}]",
    "logger.info({s}, {v})",
    "{v} = {w}.get({s}, {n})",
    "with open({w}) as {v}:\n    {u} = {v}.read()",
    "try:\n    {v} = {f}({w})\nexcept ValueError:\n    {v} = None",
    "assert {v} is not None, {s}",
    "{v} = {w} if {u} else {n}",
    "while {v} < {n}:\n    {v} += {n}",
    "{v} = sorted({w}, key=lambda item: item.{a})",
    "self.{a} = {v}",
    "{v} = {{{s}: {w}, {s2}: {u}}}",
    "if not {v}:\n    raise ValueError({s})",
    "{v} = {f}(*{w}, **{u})",
    "{v}, {w} = {w}, {v}",
)


@dataclass(frozen=True)
class Snippet:
    """One corpus text; ``base`` is the index of the snippet it was planted from (or -1)."""

    text: str
    base: int = -1
    kind: str = "base"


class CorpusBuilder:
    """Deterministic generator: the same seed gives the same corpus."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def name(self) -> str:
        return "_".join(self.rng.sample(WORDS, self.rng.choice((1, 2, 2, 3))))

    def statement(self, names: list[str]) -> str:
        rng = self.rng
        picks = {key: rng.choice(names) for key in ("v", "w", "u")}
        return rng.choice(STATEMENTS).format(
            **picks,
            i=rng.choice(("i", "j", "k", "idx", self.name())),
            n=rng.randint(0, 999),
            f=f"{rng.choice(VERBS)}_{rng.choice(WORDS)}",
            s=repr(rng.choice(WORDS)),
            s2=repr(rng.choice(WORDS)),
            a=rng.choice(WORDS),
        )

    def function(self) -> tuple[str, list[str], list[str]]:
        """A function's text, its body statements and the local names it uses."""
        rng = self.rng
        names = [self.name() for _ in range(rng.randint(3, 6))]
        params = names[: rng.randint(1, 3)]
        body = [self.statement(names) for _ in range(rng.randint(6, 16))]
        head = f"def {rng.choice(VERBS)}_{self.name()}({', '.join(params)}):"
        return self.render(head, body, names[0]), body, names

    @staticmethod
    def render(head: str, body: list[str], result: str) -> str:
        lines = [head] + ["    " + line for stmt in body for line in stmt.split("\n")]
        return "\n".join(lines + [f"    return {result}"]) + "\n"

    def near_variant(self, text: str, body: list[str], names: list[str], kind: str) -> str:
        rng = self.rng
        head = text.split("\n", 1)[0]
        body = list(body)
        if kind in ("edit", "mixed"):
            for _ in range(rng.choice((1, 1, 2, 3)) if kind == "edit" else 1):
                action = rng.choice(("tweak", "replace", "insert", "delete"))
                at = rng.randrange(len(body))
                if action == "tweak":
                    body[at] = re.sub(r"\d+", lambda _: str(rng.randint(0, 999)), body[at])
                elif action == "replace":
                    body[at] = self.statement(names)
                elif action == "insert":
                    body.insert(at, self.statement(names))
                elif len(body) > 3:
                    del body[at]
        variant = self.render(head, body, names[0])
        if kind in ("rename", "mixed"):
            for old in rng.sample(names, 1 if rng.random() < 0.75 else 2):
                variant = re.sub(rf"\b{re.escape(old)}\b", self.name(), variant)
        return variant

    def exact_variant(self, text: str) -> str:
        if self.rng.random() < 0.5:
            return text.replace("\n", "\r\n")
        return "\n".join(line + "  " for line in text.split("\n"))

    def build(self, total: int, near_fraction: float = 0.1, exact_fraction: float = 0.02):
        """``total`` snippets in a seeded shuffled order, with planted variants of some bases."""
        rng = self.rng
        n_near, n_exact = int(total * near_fraction), int(total * exact_fraction)
        bases = [self.function() for _ in range(total - n_near - n_exact)]
        snippets = [Snippet(text) for text, _, _ in bases]
        kinds = ("rename", "edit", "mixed")
        for slot, base in enumerate(rng.sample(range(len(bases)), n_near + n_exact)):
            text, body, names = bases[base]
            if slot < n_near:
                kind = kinds[slot % 3]
                snippets.append(Snippet(self.near_variant(text, body, names, kind), base, kind))
            else:
                snippets.append(Snippet(self.exact_variant(text), base, "exact"))
        order = list(range(len(snippets)))
        rng.shuffle(order)
        where = {old: new for new, old in enumerate(order)}
        return [
            Snippet(s.text, where[s.base] if s.base >= 0 else -1, s.kind)
            for s in (snippets[old] for old in order)
        ]
