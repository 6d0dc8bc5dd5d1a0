"""Extraction as its own flow: per-file work fans out over the task runner the config asks for.

Batches of files are parsed by ``parse-files`` tasks on a local process pool by default, or on Ray
(``RayTaskRunner``) when ``parallel.ray_address`` is set. A small job stays in the flow's process:
starting a pool of fresh interpreters costs seconds that a few hundred files never pay back.

Batches and results travel between tasks ``Sealed``: Prefect otherwise walks every element of a
task's inputs (to find futures), which on the stdlib took longer than parsing it.
"""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from repotune.config import ParallelConfig, SourceConfig
from repotune.datasets.store import DatasetRef
from repotune.parsing.blob_cache import BlobResult
from repotune.sources.git import Snapshot
from repotune.tasks.data import (
    Sealed,
    find_extracted_units,
    parse_files,
    plan_extraction,
    write_units,
)


def task_runner_for(parallel: ParallelConfig, todo_bytes: int) -> TaskRunner:
    """Ray when an address is configured, a process pool for big jobs, else this process."""
    if parallel.ray_address:
        from prefect_ray import RayTaskRunner

        if parallel.ray_address == "local":
            return RayTaskRunner(
                init_kwargs={"num_cpus": parallel.workers, "include_dashboard": False}
            )
        return RayTaskRunner(address=parallel.ray_address)
    if todo_bytes < parallel.min_parallel_bytes or parallel.workers == 1:
        return ThreadPoolTaskRunner(max_workers=1)
    return ProcessPoolTaskRunner(max_workers=parallel.workers)


@flow(name="extract-code-units")
def extract_code_units(
    snapshots: list[Snapshot],
    source: SourceConfig,
    parallel: ParallelConfig,
    workspace: str,
    use_cache: bool = True,
) -> tuple[DatasetRef, bool]:
    """Units of every snapshot; True when an earlier run had already stored exactly these."""
    existing = find_extracted_units(snapshots, source, workspace)
    if existing is not None and use_cache:
        return existing, True
    plan, batches = plan_extraction(snapshots, source, workspace, parallel.batch_bytes).value
    todo_bytes = sum(len(job.raw) for batch in batches for job in batch)
    fresh: dict[tuple[str, str], BlobResult] = {}
    with task_runner_for(parallel, todo_bytes) as runner:
        futures = [runner.submit(parse_files, {"batch": Sealed(batch)}) for batch in batches]
        for future in futures:
            fresh.update(future.result())
    return write_units(Sealed(plan), Sealed(fresh), source, workspace), False
