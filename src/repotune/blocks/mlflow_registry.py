"""Prefect block that names the MLflow tracking server and registered model of a team."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr


class MLflowRegistry(Block):
    """Where repotune logs runs and registers models.

    Save one per environment (``MLflowRegistry(tracking_uri=...).save("prod")``) and point a run at
    it with ``registry.block: prod``: moving from the embedded SQLite store to a shared server is
    then configuration, never a code change.
    """

    _block_type_name = "MLflow Registry"
    _block_type_slug = "mlflow-registry"
    _description = "MLflow tracking server and registered model that repotune writes to."

    tracking_uri: str = Field(
        ..., description="MLflow tracking URI, e.g. http://mlflow.internal:5000 or sqlite:///x.db"
    )
    model_name: str | None = Field(
        None,
        description="Registered model name; empty keeps the run config's `registry.model_name`.",
    )
    token: SecretStr | None = Field(
        None, description="Bearer token for a tracking server that requires authentication."
    )
