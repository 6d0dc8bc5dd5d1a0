"""Prefect blocks of repotune; register them with `prefect block register -m repotune.blocks`."""

from repotune.blocks.git_credentials import GitCredentials
from repotune.blocks.llm_endpoint import LLMEndpoint
from repotune.blocks.mlflow_registry import MLflowRegistry

__all__ = ["GitCredentials", "LLMEndpoint", "MLflowRegistry"]
