"""Style consistency: does generated code lint as cleanly as the repository's own code?

Both rates are ruff findings per 100 lines, counted by ``repotune.annotate.lint`` (one ruff run,
fixed rules, so a rate means the same for predictions and for the repository). The score compares
them instead of asking for zero findings: a team whose code carries 6 findings per 100 lines is
served by a model that writes like the team, not by one held to a stricter standard than its data.

    style_consistency = min(1, (reference_rate + 1) / (prediction_rate + 1))

It is 1.0 at or below the repository's rate and falls towards 0 as the predictions get noisier;
the ``+ 1`` keeps a clean repository (rate 0) from turning a single finding into a score of 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from repotune.annotate.lint import lint_counts
from repotune.records import CodeUnit

# CodeUnit fields that linting does not read.
_UNUSED_FIELDS = (
    *("repo", "commit", "path", "qualname", "signature"),
    *("docstring", "header", "body", "imports", "enclosing"),
)


def _as_file(source: str) -> str:
    """``source`` ending in exactly one newline, so no finding is an artefact of how it was cut
    (``W292`` no newline at end of file, ``W391`` blank line at end of file)."""
    return source.rstrip("\n") + "\n"


def _unit(source: str) -> CodeUnit:
    """A Python unit holding ``source``, the shape ``lint_counts`` lints (no path: no id needed)."""
    return CodeUnit(
        **dict.fromkeys(_UNUSED_FIELDS, ""),
        language="python",
        kind="function",
        code=source,
        start_line=1,
        end_line=max(1, source.count("\n")),
    )


def lint_findings(sources: Sequence[str]) -> tuple[list[int], list[int]]:
    """Ruff findings and physical lines per source, from one ruff run over all of them.

    A source is a complete piece of Python: for a body completion, the prompt's function header plus
    the generated body (a body alone is indented code outside any function). A source that does
    not parse has its syntax errors left out, like the repository's units: pair this metric with
    the syntax-valid rate.
    """
    files = [_as_file(source) if source.strip() else "" for source in sources]
    findings = lint_counts([_unit(text) for text in files])
    return findings, [text.count("\n") for text in files]


def findings_per_100_lines(sources: Sequence[str]) -> float:
    """Ruff findings per 100 lines over all ``sources`` together (0.0 when they have no lines).

    Use it for both sides: on generated sources, and on the repository's own units (their
    ``code``) for the reference rate.
    """
    findings, lines = lint_findings(sources)
    total_lines = sum(lines)
    return 100.0 * sum(findings) / total_lines if total_lines else 0.0


def style_consistency(prediction_rate: float, reference_rate: float) -> float:
    """The score in [0, 1] from two rates in findings per 100 lines (see the module doc)."""
    for name, rate in (("prediction_rate", prediction_rate), ("reference_rate", reference_rate)):
        if not rate >= 0:
            raise ValueError(f"`{name}` must be a rate >= 0 findings per 100 lines (got {rate})")
    return min(1.0, (reference_rate + 1.0) / (prediction_rate + 1.0))
