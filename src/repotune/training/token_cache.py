"""Tokenized training rows, cached on disk by what they depend on.

Tokenizing is the same work on every re-run of an unchanged dataset, and on big datasets it is not
free, so the result is stored under a key made of the rows' content, the tokenizer, ``max_seq_len``
and this recipe's version. A different tokenizer (another base model, a retrained offline BPE)
changes the key, so a stale cache can never be reused; identical inputs hit the cache and the
tokenizer is not called at all.

The rows are tokenized exactly as TRL's ``SFTTrainer`` does for prompt/completion data (prompt and
prompt+completion tokenized separately, the completion starting where they diverge, labels -100
on the prompt, keep-start truncation, rows left without a completion token dropped), so handing
TRL the result with ``skip_prepare_dataset`` trains on the same tokens TRL would have built.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset
from transformers import PreTrainedTokenizerBase
from trl.data_utils import common_prefix_length

from repotune.workspace import atomic_dir

RECIPE_VERSION = "1"
"""Bump when ``tokenize_rows`` changes, so cached datasets are rebuilt."""
MANIFEST = "manifest.json"
IGNORE = -100


@dataclass(frozen=True)
class TokenizedRows:
    """``input_ids``/``labels``/``row`` columns (``row`` indexes the input rows) and cache facts."""

    dataset: Dataset
    key: str
    cache_hit: bool
    dropped: int
    path: str | None = None


def tokenizer_hash(tokenizer: PreTrainedTokenizerBase) -> str:
    """16-hex hash of everything that decides token ids: model, normalisation, special tokens.

    Fast tokenizers hash their serialised backend (vocab, merges, pre-tokenizer, post-processor,
    added tokens) minus padding and truncation state, which calls switch on and off at run time.
    Others hash the files ``save_pretrained`` writes.
    """
    digest = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        state = json.loads(backend.to_str())
        state.pop("padding", None)
        state.pop("truncation", None)
        digest.update(json.dumps(state, sort_keys=True).encode())
    else:
        with tempfile.TemporaryDirectory(prefix="repotune-tok-") as tmp:
            tokenizer.save_pretrained(tmp)
            for file in sorted(Path(tmp).iterdir()):
                digest.update(file.name.encode() + b"\0" + file.read_bytes())
    specials = {"class": type(tokenizer).__name__, "special": tokenizer.special_tokens_map}
    digest.update(json.dumps(specials, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def rows_digest(rows: list[dict[str, str]]) -> str:
    """16-hex content hash of prompt/completion pairs in order (length-prefixed, unambiguous)."""
    digest = hashlib.sha256()
    for row in rows:
        for text in (row["prompt"], row["completion"]):
            data = text.encode("utf-8", errors="surrogatepass")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    return digest.hexdigest()[:16]


def tokenize_rows(
    rows: list[dict[str, str]], tokenizer: PreTrainedTokenizerBase, max_seq_len: int
) -> dict[str, list]:
    """Token ids and completion-only labels per row, truncated to ``max_seq_len``.

    Rows whose completion is cut away entirely (a prompt filling ``max_seq_len``) are left out:
    they carry no loss. ``row`` holds each kept row's index into ``rows``.
    """
    prompt_ids = tokenizer([row["prompt"] for row in rows])["input_ids"]
    full_ids = tokenizer([row["prompt"] + row["completion"] for row in rows])["input_ids"]
    columns: dict[str, list] = {"input_ids": [], "labels": [], "row": []}
    for index, (prompt, full) in enumerate(zip(prompt_ids, full_ids, strict=True)):
        prompt_len = common_prefix_length(prompt, full)
        ids = full[:max_seq_len]
        labels = [IGNORE] * min(prompt_len, len(ids)) + ids[prompt_len:]
        if all(label == IGNORE for label in labels):
            continue
        columns["input_ids"].append(ids)
        columns["labels"].append(labels)
        columns["row"].append(index)
    return columns


def key_parts(
    rows: list[dict[str, str]], tokenizer: PreTrainedTokenizerBase, max_seq_len: int
) -> dict[str, str | int]:
    """What the tokenized rows depend on; their hash is the cache key."""
    return {
        "recipe": RECIPE_VERSION,
        "rows_digest": rows_digest(rows),
        "tokenizer_hash": tokenizer_hash(tokenizer),
        "max_seq_len": max_seq_len,
    }


def tokenized_rows(
    rows: list[dict[str, str]],
    tokenizer: PreTrainedTokenizerBase,
    max_seq_len: int,
    cache_dir: Path | None = None,
    dataset_fingerprint: str | None = None,
) -> TokenizedRows:
    """Tokenize ``rows`` or load them from ``cache_dir/<key>`` (no cache when ``cache_dir`` is
    None).

    The key is always the rows' own content hash: a stored dataset's fingerprint does not pin the
    rows a caller picks from it, so ``dataset_fingerprint`` is only recorded in the entry's
    manifest, for lineage.
    """
    parts = key_parts(rows, tokenizer, max_seq_len)
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]
    entry = None if cache_dir is None else Path(cache_dir) / key
    if entry is not None and (entry / MANIFEST).is_file():
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        dataset = Dataset.load_from_disk(str(entry / "data"))
        return TokenizedRows(dataset, key, True, manifest["dropped"], str(entry))
    columns = tokenize_rows(rows, tokenizer, max_seq_len)
    dataset = Dataset.from_dict(columns)
    dropped = len(rows) - len(dataset)
    if entry is None:
        return TokenizedRows(dataset, key, False, dropped)
    with atomic_dir(entry) as tmp:
        dataset.save_to_disk(str(tmp / "data"))
        manifest = {
            "key": key,
            **parts,
            "dataset_fingerprint": dataset_fingerprint,
            "rows": len(rows),
            "kept": len(dataset),
            "dropped": dropped,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return TokenizedRows(dataset, key, False, dropped, str(entry))
