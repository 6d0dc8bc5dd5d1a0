"""Prefect blocks of repotune; register them with `prefect block register -m repotune.blocks`."""

from repotune.blocks.mlflow_registry import MLflowRegistry

__all__ = ["MLflowRegistry"]
