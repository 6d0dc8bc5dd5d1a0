"""The dataset stages as content-addressed steps: extract units, then build the completion dataset.

Each step's fingerprint is computed from its inputs alone (commit, config, code version), before any
work is done. That is the Prefect cache key and the directory name, so an unchanged repository
re-runs without reading a file, and a changed one can never be served a stale dataset.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from repotune import __version__
from repotune.config import BaseModelConfig, DatasetConfig, SourceConfig
from repotune.datasets.completion import (
    build_completion_samples,
    split_counts,
    split_files,
)
from repotune.datasets.store import DatasetRef, dataset_ref, fingerprint, write_dataset
from repotune.errors import RepotuneError
from repotune.modeling.corpus import stdlib_corpus
from repotune.parsing.blob_cache import BlobCache
from repotune.parsing.extract import extract_snapshot
from repotune.parsing.python_units import EXTRACTOR_VERSION
from repotune.records import CodeUnit
from repotune.sources.git import Snapshot
from repotune.workspace import Workspace

UNITS_STAGE = "units"
COMPLETION_STAGE = "completion"


def units_fingerprint(snapshot: Snapshot, source: SourceConfig) -> str:
    return fingerprint(
        UNITS_STAGE, snapshot.repo, snapshot.commit, source.model_dump(), EXTRACTOR_VERSION
    )


def completion_fingerprint(units: DatasetRef, cfg: DatasetConfig) -> str:
    return fingerprint(COMPLETION_STAGE, units.fingerprint, cfg.model_dump(), __version__)


def build_units_dataset(
    snapshot: Snapshot, source: SourceConfig, workspace: Workspace
) -> DatasetRef:
    """Extract the snapshot's code units (or find them already extracted) and store them."""
    fp = units_fingerprint(snapshot, source)
    existing = dataset_ref(workspace, UNITS_STAGE, fp)
    if existing.exists():
        return existing
    extraction = extract_snapshot(snapshot, source, BlobCache(workspace.extraction_cache))
    manifest = {
        "source": {"repo": snapshot.repo, "ref": snapshot.ref, "commit": snapshot.commit},
        "extractor_version": EXTRACTOR_VERSION,
        "files_seen": extraction.files_seen,
        "files_parsed": len(extraction.files),
        "files_from_cache": extraction.files_cached,
        "units": len(extraction.units),
        "units_by_kind": dict(Counter(unit.kind for unit in extraction.units)),
        "units_by_language": dict(Counter(unit.language for unit in extraction.units)),
        "drops": dict(sorted(extraction.drops.items())),
        "secrets_scrubbed": dict(sorted(extraction.findings.items())),
    }
    tables = {
        "units": [unit.to_dict() for unit in extraction.units],
        "files": extraction.files,
    }
    return write_dataset(workspace, UNITS_STAGE, fp, tables, manifest)


def build_completion_dataset(
    units_ref: DatasetRef, cfg: DatasetConfig, workspace: Workspace
) -> DatasetRef:
    """Turn code units into split completion samples (or find them already built)."""
    fp = completion_fingerprint(units_ref, cfg)
    existing = dataset_ref(workspace, COMPLETION_STAGE, fp)
    if existing.exists():
        return existing
    units = [CodeUnit.from_dict(row) for row in units_ref.read("units")]
    file_paths = [row["path"] for row in units_ref.read("files")]
    file_splits = split_files(file_paths, cfg.test_fraction, cfg.split_salt)
    samples, drops = build_completion_samples(units, file_splits, cfg)
    if not samples:
        raise RepotuneError(
            "dataset",
            f"all {len(units)} code units were dropped ({dict(drops)})",
            "relax `dataset.min_completion_chars` / `dataset.max_completion_chars`",
        )
    units_manifest = units_ref.manifest
    manifest = {
        "task": "completion",
        "source": units_manifest["source"],
        "units_fingerprint": units_ref.fingerprint,
        "config": cfg.model_dump(),
        **split_counts(samples, file_splits),
        "drops": dict(sorted(drops.items())),
        "upstream_drops": units_manifest["drops"],
    }
    tables = {
        "samples": [sample.to_dict() for sample in samples],
        "files": [{"path": path, "split": split} for path, split in sorted(file_splits.items())],
    }
    return write_dataset(workspace, COMPLETION_STAGE, fp, tables, manifest)


def pretraining_corpus(
    units_ref: DatasetRef, completion_ref: DatasetRef, base: BaseModelConfig
) -> list[str]:
    """What an offline base model may learn from: never a test-split file.

    With ``corpus: stdlib`` the standard library is used, minus any file identical to one of the
    repository's test files (a repository that vendors stdlib modules must not have its held-out
    files memorised by the base). With ``corpus: train_files`` it is the train-split files.
    """
    split_of = {row["path"]: row["split"] for row in completion_ref.read("files")}
    files = units_ref.read("files")
    if base.corpus == "train_files":
        return [row["text"] for row in files if split_of.get(row["path"]) == "train"]
    test_texts = {row["text"] for row in files if split_of.get(row["path"]) == "test"}
    return [text for text in stdlib_corpus(base.corpus_max_bytes) if text not in test_texts]


def split_rows(completion_ref: DatasetRef, split: str) -> list[dict[str, str]]:
    """Samples of one split as ``{id, prompt, completion, path}`` rows."""
    return [
        {key: row[key] for key in ("id", "prompt", "completion", "path")}
        for row in completion_ref.read("samples")
        if row["split"] == split
    ]


def dataset_summary_markdown(completion_ref: DatasetRef) -> str:
    """A short human summary of a completion dataset, for a Prefect artifact and the CLI."""
    manifest = completion_ref.manifest
    source = manifest["source"]
    lines = [
        f"# Completion dataset `{completion_ref.fingerprint}`",
        "",
        f"Source: `{Path(source['repo']).name}` @ `{source['commit'][:12]}` ({source['ref']})",
        "",
        "| split | samples | files |",
        "|---|---:|---:|",
    ]
    for split in manifest["rows"]:
        lines.append(f"| {split} | {manifest['rows'][split]} | {manifest['files'][split]} |")
    drops = {**manifest["upstream_drops"], **manifest["drops"]}
    lines += ["", "| dropped because | count |", "|---|---:|"]
    lines += [f"| {reason} | {count} |" for reason, count in sorted(drops.items())] or ["| — | 0 |"]
    return "\n".join(lines) + "\n"
