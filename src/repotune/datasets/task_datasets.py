"""The task datasets: every training task built from the units and the history, split by file, and
the training mixture drawn from them.

All tasks share the completion dataset's file split: a file's units and its history pairs are on
the same side for every task, so no test sample of any task shares a file with a training sample
of another. A history pair's file that is no longer in the tree gets the split the same salted
hash would have given it. The mixture (``tasks.mixture``) picks which training samples are
trained on; the test split of every task is kept whole for evaluation.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from repotune import __version__
from repotune.annotate import ANNOTATOR_VERSION, annotate_units
from repotune.annotate.llm import Teacher
from repotune.config import (
    AnnotateConfig,
    AugmentConfig,
    DatasetConfig,
    DedupConfig,
    TasksConfig,
)
from repotune.datasets.completion import TRAINED_LANGUAGES, FileKeys, file_split
from repotune.datasets.diversity import EMBEDDING_MODEL, diverse_pick
from repotune.datasets.mixture import mixture_ids
from repotune.datasets.store import (
    DatasetRef,
    dataset_ref,
    fingerprint,
    list_datasets,
    write_dataset,
)
from repotune.datasets.task_augment import augmented_samples
from repotune.datasets.task_curation import (
    annotation_columns,
    category_counts,
    deduplicated,
    rescrubbed,
)
from repotune.datasets.task_llm import (
    label_columns,
    llm_labelled,
    llm_settings,
    llm_summary_markdown,
)
from repotune.datasets.task_samples import (
    TASKS,
    docstring_sample,
    fim_sample,
    history_sample,
    instruction_sample,
    messages,
    naming_sample,
)
from repotune.errors import RepotuneError
from repotune.records import ChangePair, CodeUnit, Sample
from repotune.workspace import Workspace

TASKS_STAGE = "tasks"
TASKS_FORMAT = "tasks-3"
"""Table and manifest layout; part of the fingerprint, so an older layout is never reused."""
EMPTY_CAUSES = {
    "completion": "no unit kept a body within `dataset` length bounds",
    "fim": "no unit has a body of 3 or more lines",
    "naming": "no unit has a descriptive name",
    "docstring": "no unit has a docstring",
    "instruction": "no unit has a docstring and no commit was classified `feature`",
    "repair": "no commit in the walked history was classified `bugfix` (raise "
    "`history.max_commits` or check the history drops)",
    "refactor": "no commit in the walked history was classified `refactor`",
}


def tasks_fingerprint(
    units: DatasetRef,
    changes: DatasetRef,
    completion: DatasetRef,
    cfg: TasksConfig,
    dedup: DedupConfig,
    augment: AugmentConfig,
    llm: dict[str, Any] | None = None,
) -> str:
    """``llm`` is :func:`~repotune.datasets.task_llm.llm_settings` (``None``: static labels)."""
    parts = (units.fingerprint, changes.fingerprint, completion.fingerprint)
    settings = (cfg.model_dump(), dedup.model_dump(), augment.model_dump(), ANNOTATOR_VERSION, llm)
    settings = (*settings, TASKS_FORMAT, __version__)
    return fingerprint(TASKS_STAGE, *parts, *settings)


def _unit_samples(
    unit: CodeUnit, path: str, split: str, cfg: TasksConfig, drops: Counter[str]
) -> list[Sample]:
    built = {
        "fim": fim_sample(unit, path, split, tuple(cfg.fim_tokens), cfg.fim_spm_rate),
        "naming": naming_sample(unit, path, split),
        "docstring": docstring_sample(unit, path, split),
        "instruction": instruction_sample(unit, path, split),
    }
    kept = []
    for task, result in built.items():
        if isinstance(result, str):
            drops[f"{task}:{result}"] += 1
        else:
            kept.append(result)
    return kept


def _bounded(samples: list[Sample], cfg: DatasetConfig, drops: Counter[str]) -> list[Sample]:
    """Length bounds of ``dataset`` on every task, and one sample per id."""
    kept, seen = [], set()
    for sample in samples:
        if len(sample.prompt) > cfg.max_prompt_chars:
            drops[f"{sample.task}:prompt_too_long"] += 1
        elif len(sample.completion) > cfg.max_completion_chars:
            drops[f"{sample.task}:completion_too_long"] += 1
        elif not sample.completion.strip():
            drops[f"{sample.task}:empty_completion"] += 1
        elif sample.id in seen:
            drops[f"{sample.task}:duplicate"] += 1
        else:
            seen.add(sample.id)
            kept.append(sample)
    return kept


def build_task_datasets(
    units_ref: DatasetRef,
    changes_ref: DatasetRef,
    completion_ref: DatasetRef,
    cfg: TasksConfig,
    dataset: DatasetConfig,
    dedup: DedupConfig,
    augment: AugmentConfig,
    workspace: Workspace,
    annotate: AnnotateConfig | None = None,
    teachers: Sequence[Teacher] = (),
) -> DatasetRef:
    """Build every task's samples (or find them built) and mark the training mixture.

    ``teachers`` (loaded from ``annotate.teachers``) add LLM labels; none: static labels only.
    """
    annotate = annotate or AnnotateConfig()
    llm = llm_settings(annotate, teachers)
    fp = tasks_fingerprint(units_ref, changes_ref, completion_ref, cfg, dedup, augment, llm)
    existing = dataset_ref(workspace, TASKS_STAGE, fp)
    if existing.exists():
        return existing
    keys = FileKeys(units_ref.manifest["sources"])
    splits = {row["path"]: row["split"] for row in completion_ref.read("files")}

    def split_of(path: str) -> str:
        return splits.get(path) or file_split(path, dataset.test_fraction, dataset.split_salt)

    drops: Counter[str] = Counter()
    samples = [
        Sample(**{**row, "labels": _labels(row["labels"])})
        for row in completion_ref.read("samples")
    ]
    sources: dict[str, str] = {}
    trained: list[CodeUnit] = []
    for row in units_ref.read("units"):
        unit = CodeUnit.from_dict(row)
        sources[unit.id] = unit.code
        if unit.language not in TRAINED_LANGUAGES:
            continue
        trained.append(unit)
        path = keys(unit.repo, unit.path)
        samples.extend(_unit_samples(unit, path, split_of(path), cfg, drops))
    annotations = {a.unit_id: a for a in annotate_units(trained)}
    labels: dict[str, Any] = {}
    llm_summary = None
    if teachers:

        def path_of(unit: CodeUnit) -> tuple[str, str]:
            path = keys(unit.repo, unit.path)
            return path, split_of(path)

        labels, written, llm_summary = llm_labelled(
            trained, annotations, teachers, annotate, workspace.llm_cache, path_of
        )
        samples.extend(written)
    sources_manifest = units_ref.manifest["sources"]
    samples.extend(augmented_samples(trained, sources_manifest, keys, split_of, augment, drops))
    for row in changes_ref.read("pairs"):
        pair = ChangePair.from_dict(row)
        sources[pair.id] = pair.after
        path = keys(pair.repo, pair.path)
        sample = history_sample(pair, path, split_of(path))
        if pair.language not in TRAINED_LANGUAGES:
            drops[f"history:{pair.kind}_language_not_trained"] += 1
        elif sample is None:
            drops[f"history:{pair.kind}_not_a_task"] += 1
        else:
            samples.append(sample)
    samples, rescrub_findings = rescrubbed(samples)
    samples = _bounded(samples, dataset, drops)
    samples, dedup_stats = deduplicated(samples, sources, dedup, drops)
    counts = Counter(sample.task for sample in samples)
    for task in TASKS:
        if cfg.mixture.get(task, 0) > 0 and not counts[task]:
            raise RepotuneError(
                "dataset",
                f"the `{task}` task dataset is empty: {EMPTY_CAUSES[task]}",
                f"fix the cause, or leave the task out with --set tasks.mixture.{task}=0",
            )
    diverse = cfg.max_train_samples is not None and cfg.selection == "diverse"
    chosen = mixture_ids(
        samples, cfg.mixture, cfg.max_train_samples, diverse_pick if diverse else None
    )
    manifest = {
        "sources": units_ref.manifest["sources"],
        "settings_key": fingerprint(
            cfg.model_dump(), dedup.model_dump(), augment.model_dump(), llm
        ),
        "upstream": {
            "units": units_ref.fingerprint,
            "changes": changes_ref.fingerprint,
            "completion": completion_ref.fingerprint,
        },
        "config": cfg.model_dump(),
        "rows": _per_task_split(samples),
        "mixture": dict(sorted(Counter(s.task for s in samples if s.id in chosen).items())),
        "mixture_selection": {
            "cap": cfg.max_train_samples,
            "selection": cfg.selection if cfg.max_train_samples else "all",
            "embedding_model": EMBEDDING_MODEL if diverse else None,
        },
        "llm_annotation": llm_summary,
        "dedup": dedup_stats,
        "secrets_rescrubbed": rescrub_findings,
        "annotator_version": ANNOTATOR_VERSION,
        "categories": category_counts(samples, annotations),
        "drops": dict(sorted(drops.items())),
    }
    table = pa.Table.from_pylist(
        [
            {
                **s.to_dict(),
                **annotation_columns(annotations.get(s.source_id)),
                **label_columns(labels.get(s.source_id)),
                "messages": messages(s),
                "in_mixture": s.id in chosen,
            }
            for s in samples
        ]
    )
    return write_dataset(workspace, TASKS_STAGE, fp, {"samples": table}, manifest)


def _labels(raw: Any) -> dict[str, str]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw or {})


def _per_task_split(samples: list[Sample]) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = {}
    for sample in samples:
        rows.setdefault(sample.task, {"train": 0, "test": 0})[sample.split] += 1
    return dict(sorted(rows.items()))


def previous_version(workspace: Workspace, ref: DatasetRef) -> DatasetRef | None:
    """The newest other task dataset built from the same repositories with the same settings:
    what drift compares to (a changed mixture or augmentation moves the distributions on purpose;
    drift is about what new commits did to the data)."""
    repos = {source["repo"] for source in ref.manifest["sources"]}
    settings = ref.manifest.get("settings_key")
    for other in list_datasets(workspace):
        if other.stage != TASKS_STAGE or other.fingerprint == ref.fingerprint:
            continue
        manifest = other.manifest
        same_repos = {source["repo"] for source in manifest["sources"]} == repos
        if same_repos and manifest.get("settings_key") == settings:
            return other
    return None


def tasks_summary_markdown(ref: DatasetRef) -> str:
    """Samples per task and split, the mixture, and the drops, for a Prefect artifact."""
    manifest = ref.manifest
    lines = [
        f"# Task datasets `{ref.fingerprint}`",
        "",
        "| task | train | test | in the training mixture |",
        "|---|---:|---:|---:|",
    ]
    for task, rows in manifest["rows"].items():
        mixed = manifest["mixture"].get(task, 0)
        lines.append(f"| {task} | {rows['train']} | {rows['test']} | {mixed} |")
    lines += ["", "| dropped because | count |", "|---|---:|"]
    lines += [f"| {reason} | {n} |" for reason, n in manifest["drops"].items()] or ["| — | 0 |"]
    lines += llm_summary_markdown(manifest.get("llm_annotation"))
    return "\n".join(lines) + "\n"
