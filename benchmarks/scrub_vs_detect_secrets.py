"""Secret scrubbing: repotune's ``scrub_text`` vs ``detect-secrets`` (all default plugins).

    .venv/bin/python benchmarks/scrub_vs_detect_secrets.py [--files N] [--real DIR [--real-mb M]]

Both tools read the same seeded synthetic repository (``scrub_corpus.py``: code, config and lock
files with planted secrets, PII and labelled look-alikes) from a temporary folder. Scoring is per
line: a planted secret counts as found if the tool flags any of its lines; a flagged line holding
no planted secret or PII is a false positive; precision = found / (found + false positives).
PII is outside detect-secrets' scope, so both tools are compared on secrets only and repotune's
PII recall is reported apart. Timing is wall clock: best of 3 for repotune (read + scrub every
file), one run for detect-secrets (``scan_file`` on every file). Goals: recall at least
detect-secrets', fewer false positives, at least 5x faster.

The corpus and repotune's rules were written together, so its numbers say "no regression on the
cases we know", not field accuracy. ``--real DIR`` adds an independent check: both tools scan up
to M MB of real text files (say ``.venv/lib/python3.11/site-packages``); there is no ground truth
there, so every flagged line is a candidate false positive to read.
"""

from __future__ import annotations

import argparse
import ast
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _scrub_corpus import CorpusBuilder, CorpusFile
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from repotune.privacy.scrub import PII_KINDS, detect, scrub_text

SPEED_GOAL = 5.0
LOCK_NAMES = ("package-lock.json", "poetry.lock", "uv.lock", "requirements.txt")
REAL_SUFFIXES = {".py", ".js", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".md"}

Flags = dict[str, set[int]]  # relative path -> flagged line numbers


@dataclass
class Score:
    """Per-type planted/found secrets and false-positive lines per look-alike category."""

    planted: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    false_pos: Counter[str] = field(default_factory=Counter)

    @property
    def recall(self) -> float:
        return sum(self.found.values()) / max(sum(self.planted.values()), 1)

    @property
    def precision(self) -> float:
        hits = sum(self.found.values())
        return hits / max(hits + sum(self.false_pos.values()), 1)


def time_repotune(paths: list[Path], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for path in paths:
            scrub_text(path.read_text(encoding="utf-8"))
        best = min(best, time.perf_counter() - start)
    return best


def run_detect_secrets(root: Path, paths: list[Path]) -> tuple[Flags, float]:
    start = time.perf_counter()
    collection = SecretsCollection()
    with default_settings():
        for path in paths:
            collection.scan_file(str(path))
    seconds = time.perf_counter() - start
    flags: Flags = {}
    for filename in collection.files:
        rel = Path(filename).relative_to(root).as_posix()
        flags[rel] = {secret.line_number for secret in collection[filename]}
    return flags, seconds


def repotune_flags(texts: dict[str, str]) -> tuple[Flags, dict[str, dict[int, set[str]]]]:
    """Secret-flagged lines and PII-flagged lines (with their kinds) per file, from ``detect``."""
    secrets: Flags = {}
    pii: dict[str, dict[int, set[str]]] = {}
    for path, text in texts.items():
        lines: set[int] = set()
        pii_lines: dict[int, set[str]] = {}
        for finding in detect(text):
            first = text.count("\n", 0, finding.start) + 1
            span = range(first, first + text.count("\n", finding.start, finding.end) + 1)
            if finding.kind in PII_KINDS:
                for line in span:
                    pii_lines.setdefault(line, set()).add(finding.kind)
            else:
                lines.update(span)
        secrets[path], pii[path] = lines, pii_lines
    return secrets, pii


def score(corpus: list[CorpusFile], flags: Flags) -> Score:
    result = Score()
    for item in corpus:
        flagged, covered, labels = flags.get(item.path, set()), set(), {}
        for first, last, kind in item.truth:
            lines = set(range(first, last + 1))
            if kind.startswith("neg:"):
                labels.update(dict.fromkeys(lines, kind[4:]))
                continue
            covered |= lines
            if kind not in PII_KINDS:
                result.planted[kind] += 1
                result.found[kind] += bool(lines & flagged)
        default = "lockfile" if item.path.endswith(LOCK_NAMES) else "filler"
        for line in flagged - covered:
            result.false_pos[labels.get(line, default)] += 1
    return result


def pii_rows(corpus: list[CorpusFile], pii: dict[str, dict[int, set[str]]]) -> list[str]:
    planted, found, false_pos = Counter(), Counter(), 0
    for item in corpus:
        truth = {first: kind for first, _, kind in item.truth if kind in PII_KINDS}
        planted_lines = {n for first, last, _ in item.truth for n in range(first, last + 1)}
        for line, kind in truth.items():
            planted[kind] += 1
            found[kind] += kind in pii[item.path].get(line, set())
        false_pos += len(set(pii[item.path]) - planted_lines)
    rows = [f"  {k:<12}{found[k]:>5}/{planted[k]:<5}{found[k] / planted[k]:7.1%}" for k in planted]
    return [*rows, f"  PII false-positive lines (not on any planted item): {false_pos}"]


def checks(corpus: list[CorpusFile]) -> str:
    """Python files that still parse after scrubbing; files that scrubbing twice leaves alone."""
    parsed = total = stable = 0
    for item in corpus:
        once = scrub_text(item.text).text
        stable += scrub_text(once).text == once
        if item.path.endswith(".py"):
            total += 1
            try:
                ast.parse(once)
                parsed += 1
            except SyntaxError:
                pass
    return (
        f"Python files that still parse after scrubbing: {parsed}/{total}; "
        f"idempotent files: {stable}/{len(corpus)}"
    )


def mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def print_table(ours: Score, theirs: Score, seconds: float, ds_seconds: float) -> None:
    print(
        f"{'tool':<16}{'recall':>16}{'false pos.':>12}{'precision':>11}{'seconds':>9}{'speed':>8}"
    )
    for name, res, sec in (("repotune", ours, seconds), ("detect-secrets", theirs, ds_seconds)):
        recall = f"{res.recall:.1%} ({sum(res.found.values())})"
        fps, speed = sum(res.false_pos.values()), f"{ds_seconds / sec:.1f}x"
        print(f"{name:<16}{recall:>16}{fps:>12}{res.precision:>11.1%}{sec:>9.2f}{speed:>8}")
    ratio, fewer = (
        ds_seconds / seconds,
        sum(ours.false_pos.values()) < sum(theirs.false_pos.values()),
    )
    print(
        f"goals: recall >= detect-secrets' {mark(ours.recall >= theirs.recall)}  "
        f"fewer false positives {mark(fewer)}  "
        f">= {SPEED_GOAL:.0f}x faster {mark(ratio >= SPEED_GOAL)} ({ratio:.1f}x)"
    )
    print(f"\n{'secret type':<26}{'planted':>8}{'repotune':>10}{'detect-secrets':>16}")
    for kind in sorted(ours.planted):
        planted = ours.planted[kind]
        mine, other = ours.found[kind] / planted, theirs.found[kind] / planted
        print(f"{kind:<26}{planted:>8}{mine:>10.1%}{other:>16.1%}")
    print(f"\n{'false positives by look-alike':<30}{'repotune':>10}{'detect-secrets':>16}")
    for cat in sorted(set(ours.false_pos) | set(theirs.false_pos)):
        print(f"{cat:<30}{ours.false_pos[cat]:>10}{theirs.false_pos[cat]:>16}")


def real_code_check(directory: Path, megabytes: float) -> None:
    """Both tools on real files (no ground truth): flagged lines are candidate false positives."""
    files = sorted(p for p in directory.rglob("*") if p.suffix in REAL_SUFFIXES and p.is_file())
    random.Random(0).shuffle(files)
    texts: dict[str, str] = {}
    size = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        texts[path.relative_to(directory).as_posix()] = text
        size += len(text)
        if size > megabytes * 1e6:
            break
    paths = [directory / rel for rel in texts]
    seconds = time_repotune(paths, repeat=1)
    secrets, _ = repotune_flags(texts)
    ds_flags, ds_seconds = run_detect_secrets(directory, paths)
    ours, theirs = sum(map(len, secrets.values())), sum(map(len, ds_flags.values()))
    print(f"\nReal files: {len(texts)} from {directory}, {size / 1e6:.1f} MB, no ground truth")
    print(f"  repotune:       {ours:>5} secret-flagged lines in {seconds:6.2f} s")
    print(f"  detect-secrets: {theirs:>5} flagged lines        in {ds_seconds:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="number of files to generate")
    parser.add_argument("--real", type=Path, help="also scan real files under this folder")
    parser.add_argument("--real-mb", type=float, default=8.0, help="MB of real files to scan")
    args = parser.parse_args()
    corpus = CorpusBuilder().build(args.files)
    with tempfile.TemporaryDirectory(prefix="scrub-bench-") as tmp:
        root = Path(tmp)
        paths = []
        for item in corpus:
            paths.append(root / item.path)
            paths[-1].parent.mkdir(parents=True, exist_ok=True)
            paths[-1].write_text(item.text, encoding="utf-8")
        seconds = time_repotune(paths)
        ds_flags, ds_seconds = run_detect_secrets(root, paths)
    secrets, pii = repotune_flags({item.path: item.text for item in corpus})
    ours, theirs = score(corpus, secrets), score(corpus, ds_flags)
    size = sum(len(item.text.encode()) for item in corpus) / 1e6
    print(f"\nCorpus: {len(corpus)} files, {size:.1f} MB, {sum(ours.planted.values())} secrets\n")
    print_table(ours, theirs, seconds, ds_seconds)
    print(
        "\nrepotune PII recall (outside detect-secrets' scope):", *pii_rows(corpus, pii), sep="\n"
    )
    print(f"\n{checks(corpus)}")
    print("Synthetic corpus written with the rules: regression numbers, not field accuracy.")
    if args.real:
        real_code_check(args.real, args.real_mb)


if __name__ == "__main__":
    main()
