"""Training tokens/s: repotune's trainer (packed rows) vs a plain ``transformers.Trainer`` loop.

    .venv/bin/python benchmarks/trainer_tokens_per_s.py [--steps N] [--samples N] [--repeats N]

Data: functions of the CPython standard library (``extract_units``), prompt = class headers +
signature + docstring, completion = body, the dataset stage's length filters (16-2000 characters):
code samples of very mixed length. Model: the offline base builder's tokenizer and Llama at the
cpu-tiny preset's size (4096 vocab, 256 wide, 4 layers; random weights, as speed does not depend on
them), LoRA r=16 on all linear layers, completion-only loss, batch 8, ``max_seq_len`` 512, fp32 on
CPU, the same number of optimizer steps for every row of the table.

- ``repotune train_lora``: tokenize (cached), hold out 10 % for eval, pack samples into rows of 512
  tokens with per-sample positions (``repotune.training.packing``), train with TRL's SFTTrainer.
- ``Trainer, pad to longest``: the plain loop, each random batch of 8 samples right-padded to its
  longest sample (attention mask), the same tokens and labels.
- ``Trainer, group_by_length``: the same, with batches drawn among samples of similar length.
- ``TRL packing=True``: TRL's own packing (BFD + padding-free: the batch flattened into one row).
- ``repotune, packing off``: ``train_lora`` with ``train.packing: false`` (batches grouped by
  length, padded).

Tokens are counted the same way everywhere: the non-padding tokens of the training batches
(``include_num_input_tokens_seen="non_padding"``; the offline tokenizer's pad id is its own).
Time is from the first step's start to the last step's end (a callback on each trainer): model
loading, tokenization, evaluation before training and the final evaluation are outside it. The
trainers run in rounds, in rotated order, and each reports its median over the rounds. Tokens per
process CPU second are shown too: on a shared machine they move less with the neighbours' load than
wall-clock tokens/s. Goal: repotune >= 1.3x the plain loop's tokens/s.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}.items():
    os.environ.setdefault(_key, _value)

import torch  # noqa: E402
from _training_data import BASE, stdlib_rows  # noqa: E402
from datasets import Dataset  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from trl import SFTConfig, SFTTrainer  # noqa: E402

from repotune.config import TrainConfig  # noqa: E402
from repotune.modeling.base import build_offline_base  # noqa: E402
from repotune.modeling.corpus import stdlib_corpus  # noqa: E402
from repotune.training.data import prepare_rows  # noqa: E402
from repotune.training.guards import TrainingDidNotLearn  # noqa: E402
from repotune.training.sft import train_lora  # noqa: E402
from repotune.training.token_cache import tokenize_rows  # noqa: E402

GOAL = 1.3
BATCH, MAX_LEN, LR = 8, 512, 1e-3
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


Run = tuple[float, float, float]
"""Tokens, wall seconds and process CPU seconds of one trainer's steps."""


class StepClock(TrainerCallback):
    """Wall and process CPU seconds from the first step's start to the last step's end."""

    def __init__(self) -> None:
        self.start: tuple[float, float] | None = None
        self.end = (0.0, 0.0)

    def on_step_begin(self, args, state, control, **kwargs):
        if self.start is None:
            self.start = (time.perf_counter(), time.process_time())

    def on_step_end(self, args, state, control, **kwargs):
        self.end = (time.perf_counter(), time.process_time())

    @property
    def seconds(self) -> tuple[float, float]:
        start = self.start or self.end
        return self.end[0] - start[0], self.end[1] - start[1]


def lora() -> LoraConfig:
    return LoraConfig(task_type="CAUSAL_LM", r=16, lora_alpha=32, lora_dropout=0.0,
                      target_modules=TARGETS)  # fmt: skip


def common_args(out: str, steps: int) -> dict:
    return dict(
        output_dir=out, max_steps=steps, per_device_train_batch_size=BATCH, learning_rate=LR,
        logging_steps=steps, save_strategy="no", report_to="none", disable_tqdm=True,
        use_cpu=True, bf16=False, fp16=False, dataloader_pin_memory=False, seed=0,
        include_num_input_tokens_seen="non_padding",
    )  # fmt: skip


def run_repotune(base: str, rows: list[dict], steps: int, packing: bool = True) -> Run:
    cfg = TrainConfig(
        learning_rate=LR, num_epochs=1000, max_steps=steps, batch_size=BATCH, max_seq_len=MAX_LEN,
        lora_dropout=0.0, save_steps=10 * steps, min_eval_improvement=0.0, seed=0,
        packing=packing,
    )  # fmt: skip
    clock = StepClock()
    with tempfile.TemporaryDirectory(prefix="bench-repotune-") as out:
        try:
            metrics = train_lora(base, rows, cfg, Path(out) / "adapter", callbacks=[clock]).metrics
        except TrainingDidNotLearn as err:  # a few steps on random weights: speed still counts
            metrics = err.metrics
    return metrics["train_tokens"], *clock.seconds


def run_plain(base: str, rows: list[dict], steps: int, group_by_length: bool) -> Run:
    tokenizer = AutoTokenizer.from_pretrained(base)
    columns = tokenize_rows(prepare_rows(rows, tokenizer.eos_token), tokenizer, MAX_LEN)
    dataset = Dataset.from_dict({"input_ids": columns["input_ids"], "labels": columns["labels"]})
    dataset = dataset.map(lambda row: {"attention_mask": [1] * len(row["input_ids"])})
    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), lora())
    clock = StepClock()
    with tempfile.TemporaryDirectory(prefix="bench-plain-") as out:
        args = TrainingArguments(
            **common_args(out, steps),
            train_sampling_strategy="group_by_length" if group_by_length else "random",
        )
        collator = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
        trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                          callbacks=[clock])  # fmt: skip
        trainer.train()
    return trainer.state.num_input_tokens_seen, *clock.seconds


def run_trl_packing(base: str, rows: list[dict], steps: int) -> Run:
    tokenizer = AutoTokenizer.from_pretrained(base)
    dataset = Dataset.from_list(
        [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]
    )
    clock = StepClock()
    with tempfile.TemporaryDirectory(prefix="bench-trl-") as out:
        args = SFTConfig(**common_args(out, steps), max_length=MAX_LEN, packing=True,
                         packing_strategy="bfd", completion_only_loss=True,
                         activation_checkpointing=False)  # fmt: skip
        torch.manual_seed(0)
        trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(base), args=args,
                             train_dataset=dataset, processing_class=tokenizer,
                             peft_config=lora(), callbacks=[clock])  # fmt: skip
        trainer.train()
    return trainer.state.num_input_tokens_seen, *clock.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24, help="Optimizer steps per trainer.")
    parser.add_argument("--samples", type=int, default=2000, help="stdlib functions to train on.")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="Rounds (each trainer once per round, order rotated).",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(os.cpu_count() or 2)
    rows = stdlib_rows(args.samples)
    runs: dict[str, list[Run]] = {name: [] for name in TRAINERS}
    with tempfile.TemporaryDirectory(prefix="bench-base-") as base:
        build_offline_base(stdlib_corpus(BASE.corpus_max_bytes), BASE, Path(base))
        tokenizer = AutoTokenizer.from_pretrained(base)
        lengths = sorted(
            len(ids)
            for ids in tokenize_rows(prepare_rows(rows, tokenizer.eos_token), tokenizer, MAX_LEN)[
                "input_ids"
            ]
        )
        names = list(TRAINERS)
        for round_ in range(args.repeats):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                runs[name].append(TRAINERS[name](base, rows, args.steps))
    print(
        f"\nLoRA SFT on {len(rows)} stdlib functions: tokens per sample median "
        f"{lengths[len(lengths) // 2]}, p90 {lengths[int(0.9 * len(lengths))]}, max {lengths[-1]} "
        f"(cut at {MAX_LEN}); {args.steps} steps of batch {BATCH}, {torch.get_num_threads()} "
        f"CPU threads; median of {args.repeats} rounds\n"
    )
    wall = {name: statistics.median(r[0] / r[1] for r in results) for name, results in runs.items()}
    cpu = {name: statistics.median(r[0] / r[2] for r in results) for name, results in runs.items()}
    head = ("trainer", "tokens", "tokens/s", "ratio", "tokens/CPU-s", "ratio")
    print("| {:<26} | {:>7} | {:>8} | {:>6} | {:>12} | {:>6} |".format(*head))
    print("|" + "|".join("-" * (w + 2) for w in (26, 7, 8, 6, 12, 6)) + "|")
    for name, results in runs.items():
        print(
            f"| {name:<26} | {results[0][0]:>7.0f} | {wall[name]:>8.0f} "
            f"| {wall[name] / wall[PLAIN]:>5.2f}x | {cpu[name]:>12.0f} "
            f"| {cpu[name] / cpu[PLAIN]:>5.2f}x |"
        )
    ratio = wall[OURS] / wall[PLAIN]
    print(
        f"\nGoal: >= {GOAL}x the plain loop's tokens/s -> {ratio:.2f}x "
        f"({cpu[OURS] / cpu[PLAIN]:.2f}x per CPU second), {'met' if ratio >= GOAL else 'NOT met'}"
    )


PLAIN, OURS = "Trainer, pad to longest", "repotune train_lora"
TRAINERS = {
    PLAIN: lambda base, rows, steps: run_plain(base, rows, steps, group_by_length=False),
    "Trainer, group_by_length": lambda base, rows, steps: run_plain(base, rows, steps, True),
    "TRL packing=True (flat)": run_trl_packing,
    OURS: run_repotune,
    "repotune, packing off": lambda base, rows, steps: run_repotune(base, rows, steps, False),
}


if __name__ == "__main__":
    main()
