"""The base model that gets fine-tuned: a configured one, or a small one built offline.

There is no model hub here, so by default repotune builds its own base: a byte-level BPE tokenizer
trained on a corpus (see ``repotune.modeling.corpus``: the standard library by default, or the
repository's train-split files) and a small Llama pretrained on it for a few hundred steps.
That is enough for LoRA fine-tuning to have something to adapt, and it makes the whole pipeline run
on a laptop CPU. The build is content-addressed (``corpus_fingerprint``) so it happens once per
corpus and configuration and is reused from the workspace afterwards.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

from repotune.config import BaseModelConfig
from repotune.errors import RepotuneError
from repotune.workspace import Workspace, atomic_dir

BUILDER_VERSION = "1"
"""Bump when the build recipe changes, so cached base models are rebuilt."""

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
FIM_TOKENS = ("<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>")
BLOCK_SIZE = 256
BATCH_SIZE = 8
MAX_POSITIONS = 2048
BUILD_INFO_FILE = "repotune_base.json"
STAGE = "base_model"


@dataclass(frozen=True)
class BaseModelInfo:
    """Where the base model is and what to record about it (``name`` is the MLflow tag)."""

    path: str
    name: str
    fingerprint: str
    built: bool
    stats: dict[str, Any] = field(default_factory=dict)


def corpus_fingerprint(texts: list[str], cfg: BaseModelConfig) -> str:
    """16-hex content address of an offline build: the texts in order, the config, the recipe."""
    digest = hashlib.sha256()
    recipe = {
        "builder": BUILDER_VERSION,
        "block_size": BLOCK_SIZE,
        "batch_size": BATCH_SIZE,
        "config": cfg.model_dump(exclude={"name_or_path"}),
    }
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    for text in texts:
        data = text.encode("utf-8", errors="surrogatepass")
        # Length-prefixed so that ["ab", "c"] and ["a", "bc"] differ.
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:16]


def train_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE on ``texts``; every byte is encodable and decoding is exact.

    Newlines are isolated before BPE so a token never spans a line break. A prompt that ends with
    "\\n" then tokenizes to a prefix of prompt + completion, which is what completion-only loss and
    generation from the prompt both assume.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\n"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS, PAD, *FIM_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(FIM_TOKENS),
        padding_side="left",
    )


def _token_blocks(texts: list[str], tokenizer: PreTrainedTokenizerBase) -> tuple[torch.Tensor, int]:
    """Concatenate ``text + eos`` for all texts and cut into ``BLOCK_SIZE`` blocks.

    A corpus shorter than one block is repeated until it fills one, so tiny repositories still
    build (the model just memorises more).
    """
    stream: list[int] = []
    for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(tokenizer.eos_token_id)
    n_tokens = len(stream)
    if len(stream) < BLOCK_SIZE:
        stream = stream * math.ceil(BLOCK_SIZE / len(stream))
    n_blocks = len(stream) // BLOCK_SIZE
    return torch.tensor(stream[: n_blocks * BLOCK_SIZE]).view(n_blocks, BLOCK_SIZE), n_tokens


def _lr_factor(step: int, total: int) -> float:
    """Linear warmup over 10% of the steps, then cosine decay to 10% of the peak."""
    warmup = max(1, total // 10)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))


def _pretrain(model: LlamaForCausalLM, blocks: torch.Tensor, cfg: BaseModelConfig) -> list[float]:
    """Plain causal-LM loop; batches walk seeded permutations of the blocks, epoch after epoch."""
    generator = torch.Generator().manual_seed(cfg.seed)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.pretrain_learning_rate, betas=(0.9, 0.95), weight_decay=0.01
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, cfg.pretrain_steps)
    )
    batch_size = min(BATCH_SIZE, len(blocks))
    order = torch.empty(0, dtype=torch.long)
    losses: list[float] = []
    model.train()
    for _ in range(cfg.pretrain_steps):
        if len(order) < batch_size:
            order = torch.cat([order, torch.randperm(len(blocks), generator=generator)])
        batch, order = blocks[order[:batch_size]], order[batch_size:]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    model.eval()
    return losses


def build_offline_base(texts: list[str], cfg: BaseModelConfig, out_dir: Path) -> dict[str, Any]:
    """Train the tokenizer, initialise and pretrain a Llama, save both into ``out_dir``.

    Deterministic for the same texts and config. Returns build statistics; the loss keys are
    present only when ``pretrain_steps > 0``.
    """
    if not any(text.strip() for text in texts):
        raise RepotuneError(
            STAGE,
            "no text to build the offline base model from (the corpus is empty)",
            "add source files (check `source.include`/`source.exclude`) or set "
            "`base_model.name_or_path` to an existing model",
        )
    started = time.perf_counter()
    tokenizer = train_tokenizer(texts, cfg.vocab_size)
    blocks, n_tokens = _token_blocks(texts, tokenizer)
    torch.manual_seed(cfg.seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=MAX_POSITIONS,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    losses = _pretrain(model, blocks, cfg)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    stats: dict[str, Any] = {
        "params": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(tokenizer),
        "tokens": n_tokens,
        "blocks": len(blocks),
        "pretrain_steps": cfg.pretrain_steps,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if losses:
        tail = losses[-min(10, len(losses)) :]
        stats["pretrain_loss_first"] = losses[0]
        stats["pretrain_loss_final"] = sum(tail) / len(tail)
    return stats


def _configured_base(name_or_path: str) -> BaseModelInfo:
    """A user-chosen base: an existing local model directory, or a hub id passed through."""
    path = Path(name_or_path).expanduser()
    looks_local = path.is_absolute() or name_or_path.startswith((".", "~"))
    if path.exists() or looks_local:
        if not (path / "config.json").is_file():
            raise RepotuneError(
                STAGE,
                f"`base_model.name_or_path` is {name_or_path!r}, which is not a model directory "
                "(no config.json there)",
                "point it at a directory written by save_pretrained, or leave it empty to build "
                "the offline base model",
            )
        name_or_path = str(path.resolve())
    fingerprint = hashlib.sha256(name_or_path.encode()).hexdigest()[:16]
    return BaseModelInfo(path=name_or_path, name=name_or_path, fingerprint=fingerprint, built=False)


def ensure_base_model(
    texts: list[str], cfg: BaseModelConfig, workspace: Workspace
) -> BaseModelInfo:
    """Return the base model to fine-tune, building and caching the offline one when needed."""
    if cfg.name_or_path:
        return _configured_base(cfg.name_or_path)
    fingerprint = corpus_fingerprint(texts, cfg)
    final = workspace.base_model_dir(fingerprint)
    name = f"repotune-offline-{fingerprint}"
    info_file = final / BUILD_INFO_FILE
    if (final / "config.json").is_file() and info_file.is_file():
        stats = json.loads(info_file.read_text(encoding="utf-8"))
        return BaseModelInfo(str(final), name, fingerprint, built=False, stats=stats)
    if final.exists():
        raise RepotuneError(
            STAGE,
            f"the cached base model at {final} is incomplete",
            "delete that directory and run again",
        )
    with atomic_dir(final) as tmp:
        stats = build_offline_base(texts, cfg, tmp)
        (tmp / BUILD_INFO_FILE).write_text(json.dumps(stats, indent=2), encoding="utf-8")
    return BaseModelInfo(str(final), name, fingerprint, built=True, stats=stats)


def model_load_error(path: str, err: Exception) -> RepotuneError:
    """One sentence for a model that does not load: a hub id missing offline, or a bad folder.

    transformers says "couldn't connect to huggingface.co" over several lines; what the user
    needs is that repotune runs offline and how to point it at a local copy instead.
    """
    if Path(path).expanduser().exists():
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return RepotuneError(
            "model",
            f"the model folder {path} does not load ({first_line})",
            "point `base_model.name_or_path` at a folder written by save_pretrained "
            "(config.json, weights, tokenizer files)",
        )
    return RepotuneError(
        "model",
        f"the base model {path!r} cannot be loaded offline: it is not a local folder and not in "
        "the local Hugging Face cache",
        f"download it once where there is network (`hf download {path} --local-dir DIR`) and "
        "set `base_model.name_or_path` to that DIR, or leave it empty to build the offline base",
    )


def load_model_and_tokenizer(
    path: str, adapter_dir: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a base model (plus a LoRA adapter on top) in eval mode, for left-padded batches."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    except (OSError, ValueError) as err:
        raise model_load_error(path, err) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    if adapter_dir is not None:
        if not (Path(adapter_dir) / "adapter_config.json").is_file():
            raise RepotuneError(
                "model",
                f"{adapter_dir} holds no LoRA adapter (adapter_config.json is missing)",
                "pass the directory that train_lora saved the adapter into",
            )
        model = PeftModel.from_pretrained(model, adapter_dir)
    model.eval()
    return model, tokenizer
