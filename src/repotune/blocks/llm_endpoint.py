"""Prefect block naming an OpenAI-compatible endpoint that the optional LLM annotators ask."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from repotune.annotate.llm import Teacher
from repotune.errors import RepotuneError


class LLMEndpoint(Block):
    """One teacher model behind any OpenAI-compatible API (OpenAI, vLLM, `transformers serve`, ...).

    Save one per teacher (``LLMEndpoint(base_url=..., model=..., api_key=...).save("teacher-a")``):
    the key lives in Prefect, never in a run config, and switching provider is configuration.
    """

    _block_type_name = "LLM Endpoint"
    _block_type_slug = "llm-endpoint"
    _description = "OpenAI-compatible endpoint and model that repotune's LLM annotators ask."

    base_url: str = Field(
        ..., description="API base URL including the version, e.g. http://vllm.internal:8000/v1"
    )
    model: str = Field(..., description="Model name sent with every request.")
    api_key: SecretStr = Field(
        ..., description="API key; a local server that checks none accepts any value."
    )
    timeout_s: float = Field(60.0, gt=0, description="Seconds before one request times out.")

    def to_teacher(self) -> Teacher:
        return Teacher(
            base_url=self.base_url,
            model=self.model,
            api_key=self.api_key.get_secret_value(),
            timeout_s=self.timeout_s,
        )


def load_teachers(block_names: list[str]) -> list[Teacher]:
    """The teachers of ``annotate.teachers``, each from its saved ``llm-endpoint`` block."""
    teachers = []
    for name in block_names:
        try:
            block = LLMEndpoint.load(name)
        except ValueError:
            raise RepotuneError(
                "annotate",
                f"no `llm-endpoint` block named {name!r} is saved",
                f"save one, e.g. `LLMEndpoint(base_url=..., model=..., api_key=...).save({name!r})`"
                ", or remove it from `annotate.teachers`",
            ) from None
        teachers.append(block.to_teacher())
    return teachers
