"""Serve the pipeline as a Prefect deployment from this process — no work pool needed.

`prefect deploy` with `prefect.yaml` is the route for shared work pools; this is the one-command
route for a single machine: the deployment appears in the Prefect UI, runs on its cron, and can be
launched by hand from the UI form, whose defaults are the config given here.
"""

from __future__ import annotations

from prefect.deployments.runner import EntrypointType, RunnerDeployment

from repotune.config import PipelineConfig
from repotune.flows.pipeline import build_model


def pipeline_deployment(
    config: PipelineConfig, name: str = "build-model", cron: str | None = None
) -> RunnerDeployment:
    """A deployment of ``build_model`` whose default parameters are ``config``."""
    return build_model.to_deployment(
        name=name,
        cron=cron,
        parameters={"config": config.model_dump(mode="json")},
        tags=["repotune"],
        description="Build, evaluate and register a code model from a repository.",
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def serve_pipeline(config: PipelineConfig, name: str = "build-model", cron: str | None = None):
    """Block, serving the deployment until interrupted (Ctrl-C pauses its schedule)."""
    from prefect import serve

    serve(pipeline_deployment(config, name, cron))
