"""Augmented training samples: verified variants and injected-bug repair pairs of train units.

Only units of train-split files are augmented, and every augmented sample keeps its unit's file
(and so its split) and its unit's id as ``source_id``: it can never carry a held-out file's code
into training, and dedup treats it as the code it came from. Verification runs the unit's own
tests in a checkout materialized from the repository at the dataset's commit
(:mod:`repotune.augment`), within the configured unit and time bounds.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from repotune.augment import augment_units, repair_sample
from repotune.augment.verify import checkout
from repotune.config import AugmentConfig
from repotune.datasets.completion import completion_sample
from repotune.parsing.python_units import FileOrigin, extract_units
from repotune.records import CodeUnit, Sample


def _variant_sample(unit: CodeUnit, code: str, kind: str, verified: str, path: str) -> Sample | str:
    """A completion sample of a variant's code (top-level functions: a method's variant would
    lose its class context once dedented)."""
    if unit.kind != "function":
        return "method_variant"
    try:
        parsed = extract_units(textwrap.dedent(code), FileOrigin(unit.repo, unit.commit, unit.path))
    except (SyntaxError, ValueError):
        return "variant_unparsable"
    if not parsed:
        return "variant_without_body"
    sample = completion_sample(parsed[0], "train", path)
    labels = {**sample.labels, "origin": f"augment:{kind}", "verified": verified}
    return replace(sample, source_id=unit.id, labels=labels, id="")


def augmented_samples(
    units: list[CodeUnit],
    sources: list[dict[str, str]],
    key_of: Callable[[str, str], str],
    split_of: Callable[[str], str],
    cfg: AugmentConfig,
    drops: Counter[str],
) -> list[Sample]:
    """Repair samples from verified mutants and completion samples from verified variants of
    the train-split units, repository by repository."""
    if not cfg.enabled:
        return []
    samples: list[Sample] = []
    for source in sources:
        train = [
            unit
            for unit in units
            if unit.repo == source["repo"] and split_of(key_of(unit.repo, unit.path)) == "train"
        ]
        if not train:
            continue
        with (
            checkout(source["git_dir"], source["commit"])
            if cfg.verify_with_tests
            else contextlib.nullcontext(None)
        ) as root:
            result = augment_units(train, Path(root) if root else None, cfg)
        drops.update(result.drops)
        drops.update({f"augment:unverified_{k.removeprefix('augment:')}": n
                      for k, n in result.unverified.items()})  # fmt: skip
        by_id = {unit.id: unit for unit in train}
        for pair in result.repair_pairs:
            unit = by_id[pair.unit_id]
            sample = repair_sample(pair, unit, "train")
            samples.append(replace(sample, path=key_of(unit.repo, unit.path)))
        for variant in result.variants:
            unit = by_id[variant.unit_id]
            path = key_of(unit.repo, unit.path)
            made = _variant_sample(unit, variant.code, variant.kind, variant.verified, path)
            if isinstance(made, str):
                drops[f"augment:{made}"] += 1
            else:
                samples.append(made)
    return samples
