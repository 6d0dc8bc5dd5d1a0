"""LLM teachers wired through Prefect: saved `llm-endpoint` blocks, the task, and its artifact."""

from __future__ import annotations

import asyncio

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from repotune.config import AnnotateConfig, AugmentConfig, DatasetConfig, DedupConfig, TasksConfig
from repotune.errors import RepotuneError
from repotune.workspace import Workspace
from tests.conftest import make_repo
from tests.fake_openai import GOOD, running_fake_openai
from tests.unit.test_task_datasets import module, upstream

pytestmark = pytest.mark.e2e


async def _artifact(key: str) -> str:
    """The newest artifact with ``key`` (other tests of the session publish the same key)."""
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return str(found[0].data)


def test_teachers_from_blocks_label_the_task_datasets(prefect_api, tmp_path):
    from repotune.blocks import LLMEndpoint
    from repotune.tasks.data import build_task_datasets

    repo = make_repo(tmp_path / "repo", {f"pkg/m{i}.py": module(i) for i in range(10)})
    ws = Workspace.at(tmp_path / "ws")
    units, changes, completion = upstream(repo, ws)
    mixture = {"completion": 0.6, "instruction": 0.4}

    @flow
    def label(annotate: AnnotateConfig):
        return build_task_datasets(
            units,
            changes,
            completion,
            TasksConfig(mixture=mixture),
            DatasetConfig(),
            DedupConfig(),
            AugmentConfig(enabled=False),
            annotate,
            str(ws.root),
        )

    with running_fake_openai() as server:
        for name in ("good-a", "good-b"):
            LLMEndpoint(base_url=server.url, model=name, api_key="sk-e2e").save(
                f"teacher-{name}", overwrite=True
            )
        ref = label(AnnotateConfig(teachers=["teacher-good-a", "teacher-good-b"]))
    assert ref.manifest["llm_annotation"]["labelled"] == 10
    assert ref.manifest["llm_annotation"]["teachers"] == [
        f"{server.url}#good-a",
        f"{server.url}#good-b",
    ]
    assert {row["category"] for row in ref.read("samples")} == {GOOD["category"]}
    markdown = asyncio.run(_artifact("task-datasets"))
    assert "LLM annotation by 2 teacher(s), 2 must agree: 10 of 10 units labelled" in markdown

    with pytest.raises(RepotuneError, match="no `llm-endpoint` block named 'teacher-gone'"):
        label(AnnotateConfig(teachers=["teacher-gone"]))
