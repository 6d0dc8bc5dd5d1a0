"""The model card of a registered version: what it is, what it learned from, how good it is.

It is written as the version's description, which the MLflow UI renders as markdown on the
version's page, and logged as ``model_card.md`` with the run. Everything in it comes from the run:
nothing is typed by hand, so a card never disagrees with its version's tags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

LIMITATIONS = (
    "Trained on the listed repositories only: it knows their code, not the world's.",
    "Held-out metrics are measured on files of the same repositories, split by file; new "
    "projects may score lower.",
    "Generated code runs only in the sandbox during evaluation; review it before running it.",
)


@dataclass
class CardFacts:
    """What a card says; ``comparison`` rows are ``{metric, base, candidate, champion}`` where
    each value is ``{mean, low, high}`` (an interval) or ``None``."""

    model_name: str
    version: str
    semver: str
    semver_reason: str
    base_model: str
    sources: dict[str, str]
    datasets: dict[str, str]
    samples: dict[str, int]
    training: dict[str, Any]
    comparison: list[dict[str, Any]]
    decision: str
    gates: dict[str, Any] = field(default_factory=dict)
    limitations: tuple[str, ...] = LIMITATIONS


def _interval(value: dict[str, float] | None) -> str:
    if not value:
        return "—"
    mean, low, high = value["mean"], value.get("low"), value.get("high")
    if low is None or high is None:
        return f"{mean:.4g}"
    return f"{mean:.4g} [{low:.4g}, {high:.4g}]"


def model_card_markdown(facts: CardFacts) -> str:
    """The card as markdown."""
    lines = [
        f"# {facts.model_name} {facts.semver} (version {facts.version})",
        "",
        f"LoRA adapter on `{facts.base_model}`. Semver: {facts.semver_reason}.",
        "",
        "## Data",
        "",
        "| source | commit |",
        "|---|---|",
        *(f"| {origin} | `{commit}` |" for origin, commit in facts.sources.items()),
        "",
        "| dataset | fingerprint |",
        "|---|---|",
        *(f"| {name} | `{fp}` |" for name, fp in facts.datasets.items()),
        "",
        "Samples: " + ", ".join(f"{name} {n}" for name, n in facts.samples.items()) + ".",
        "",
        "## Training",
        "",
        "```json",
        json.dumps(facts.training, indent=2, sort_keys=True),
        "```",
        "",
        "## Evaluation",
        "",
        "Mean on the held-out split, with its 95 % bootstrap interval.",
        "",
        "| metric | base | this version | champion |",
        "|---|---:|---:|---:|",
        *(
            f"| {row['metric']} | {_interval(row.get('base'))} | "
            f"{_interval(row.get('candidate'))} | {_interval(row.get('champion'))} |"
            for row in facts.comparison
        ),
        "",
        "## Gates",
        "",
        f"- Promotion: {facts.decision}",
        *(f"- {name}: {result}" for name, result in facts.gates.items()),
        "",
        "## Known limitations",
        "",
        *(f"- {text}" for text in facts.limitations),
    ]
    return "\n".join(lines) + "\n"
