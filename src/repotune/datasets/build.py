"""The completion dataset as a content-addressed step over the units dataset (:mod:`.units`).

Each step's fingerprint is computed from its inputs alone (commit, config, code version), before any
work is done. That is the Prefect cache key and the directory name, so an unchanged repository
re-runs without reading a file, and a changed one can never be served a stale dataset.
"""

from __future__ import annotations

from repotune import __version__
from repotune.config import BaseModelConfig, DatasetConfig
from repotune.datasets.completion import (
    FileKeys,
    build_completion_samples,
    split_counts,
    split_files,
)
from repotune.datasets.store import DatasetRef, dataset_ref, fingerprint, write_dataset
from repotune.errors import RepotuneError
from repotune.modeling.corpus import stdlib_corpus
from repotune.records import CodeUnit
from repotune.sources.git import recently_changed
from repotune.workspace import Workspace

COMPLETION_STAGE = "completion"


def completion_fingerprint(units: DatasetRef, cfg: DatasetConfig) -> str:
    return fingerprint(COMPLETION_STAGE, units.fingerprint, cfg.model_dump(), __version__)


def build_completion_dataset(
    units_ref: DatasetRef, cfg: DatasetConfig, workspace: Workspace
) -> DatasetRef:
    """Turn code units into split completion samples (or find them already built)."""
    fp = completion_fingerprint(units_ref, cfg)
    existing = dataset_ref(workspace, COMPLETION_STAGE, fp)
    if existing.exists():
        return existing
    units = [CodeUnit.from_dict(row) for row in units_ref.read("units")]
    keys = FileKeys(units_ref.manifest["sources"])
    file_paths = [keys(row["repo"], row["path"]) for row in units_ref.read("files")]
    recent = {
        keys(source["repo"], path)
        for source in units_ref.manifest["sources"]
        for path in recently_changed(source["git_dir"], source["commit"], cfg.holdout_commits)
    }
    file_splits = split_files(file_paths, cfg.test_fraction, cfg.split_salt, recent)
    samples, drops = build_completion_samples(units, file_splits, cfg, keys)
    if not samples:
        raise RepotuneError(
            "dataset",
            f"all {len(units)} code units were dropped ({dict(drops)})",
            "relax `dataset.min_completion_chars` / `dataset.max_completion_chars`",
        )
    units_manifest = units_ref.manifest
    manifest = {
        "task": "completion",
        "sources": units_manifest["sources"],
        "units_fingerprint": units_ref.fingerprint,
        "config": cfg.model_dump(),
        **split_counts(samples, file_splits),
        "time_holdout_files": len(recent & set(file_splits)),
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
    keys = FileKeys(units_ref.manifest["sources"])
    files = [
        (split_of.get(keys(row["repo"], row["path"])), row["text"])
        for row in units_ref.read("files")
    ]
    if base.corpus == "train_files":
        return [text for split, text in files if split == "train"]
    test_texts = {text for split, text in files if split == "test"}
    return [text for text in stdlib_corpus(base.corpus_max_bytes) if text not in test_texts]


def dataset_summary_markdown(completion_ref: DatasetRef) -> str:
    """A short human summary of a completion dataset, for a Prefect artifact and the CLI."""
    manifest = completion_ref.manifest
    sources = ", ".join(
        f"`{source['name']}` @ `{source['commit'][:12]}` ({source['ref']})"
        for source in manifest["sources"]
    )
    lines = [
        f"# Completion dataset `{completion_ref.fingerprint}`",
        "",
        f"Sources: {sources}",
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
