"""What the training benchmarks train on: a cpu-tiny-sized model and stdlib functions.

The model is the offline builder's tokenizer and Llama at the cpu-tiny preset's size (4096 vocab,
256 wide, 4 layers) with random weights (``pretrain_steps=0``: speed does not depend on them).
The rows are CPython standard-library functions through the dataset stage's length filters:
prompt = class headers + signature + docstring, completion = body. Code of very mixed length.
"""

from __future__ import annotations

from repotune.config import BaseModelConfig
from repotune.modeling.corpus import stdlib_root
from repotune.parsing.python_units import FileOrigin, extract_units

BASE = BaseModelConfig(
    vocab_size=4096, hidden_size=256, num_layers=4, num_heads=4, num_kv_heads=2,
    intermediate_size=768, pretrain_steps=0, corpus_max_bytes=2_000_000,
)  # fmt: skip


def stdlib_rows(limit: int) -> list[dict[str, str]]:
    """Prompt/completion rows of stdlib functions, files in sorted order, until ``limit``."""
    rows: list[dict[str, str]] = []
    for path in sorted(stdlib_root().glob("*.py")):
        try:
            units = extract_units(path.read_text(encoding="utf-8"), FileOrigin("cpython", "", ""))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for unit in units:
            prompt, body = unit.enclosing + unit.header, unit.body
            if 16 <= len(body.strip()) and len(body) <= 2000 and len(prompt) <= 2000:
                rows.append({"prompt": prompt, "completion": body, "path": path.name})
        if len(rows) >= limit:
            break
    return rows[:limit]
