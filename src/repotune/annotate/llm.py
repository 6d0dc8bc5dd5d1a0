"""Optional LLM labels (category, intent, instruction) from teachers behind OpenAI-compatible APIs.

The static annotator is always on; this layer only *improves* its labels and never blocks a run.
Every (item, teacher) question is asked at temperature 0 with a strict JSON answer format, and the
answer is validated: garbage, wrong keys or an unknown category count as a failed attempt, exactly
like a timeout, a 429 or a 5xx. Failed attempts are retried with backoff (ours, not the client's:
the client is built with ``max_retries=0`` so the failure can be counted by reason); after the last
retry the question is given up, the reason is counted, and the item keeps its static labels.

Consensus rule, over the teachers that answered an item (failed teachers have no vote):

- the winning category is the most voted one; a tie goes to the category of the earliest teacher
  in the configured order;
- it is kept when at least ``agree`` teachers voted for it (``agreement`` is ``"votes/answered"``,
  e.g. ``"2/3"``); otherwise the static category stays, ``source`` is ``"static"`` and the votes are
  recorded on the label (:attr:`LLMResult.disagreements`);
- ``intent`` and ``instruction`` come from the first teacher (configured order) that voted for the
  winner, so one coherent answer is used rather than a mix of sentences.

Answers are cached by :class:`~repotune.annotate.llm_cache.ResponseCache`; requests run on a thread
pool of ``max_concurrency`` workers, so no endpoint ever sees more in-flight requests than that.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import openai

from repotune.annotate.category import RULES
from repotune.annotate.llm_cache import CacheKey, ResponseCache

CATEGORIES: tuple[str, ...] = (*dict.fromkeys(name for name, _ in RULES), "other")
"""The static annotator's categories: a teacher must answer one of these."""

PROMPT_VERSION = "llm-annotate-v1"
"""Part of every prompt hash: change it when the prompt changes, so old answers are not reused."""

MAX_CODE_CHARS = 6000
"""Longer code is cut: the head of a unit says what it is for, and the cost stays bounded."""

SYSTEM_PROMPT = (
    "You label source code for a code-assistant training set. Answer with one JSON object and "
    'nothing else, exactly: {"category": "<one of: ' + ", ".join(CATEGORIES) + '>", '
    '"intent": "<one sentence: what the code is for>", '
    '"instruction": "<the request a developer would write to get this code>"}'
)

_FLUSH_EVERY = 64
"""New answers written to the cache per transaction: a crash loses at most this many."""


@dataclass(frozen=True)
class Teacher:
    """One OpenAI-compatible endpoint and model; the key is kept out of ``repr`` and logs."""

    base_url: str
    model: str
    api_key: str = field(repr=False)
    timeout_s: float = 60.0

    @property
    def key(self) -> str:
        """Cache and vote identity: the same model behind another URL is another teacher."""
        return f"{self.base_url.rstrip('/')}#{self.model}"


@dataclass(frozen=True)
class LLMItem:
    """A code unit to label, with the static labels it keeps if the teachers fail or disagree."""

    unit_id: str
    code: str
    static_intent: str
    static_category: str = "other"


@dataclass(frozen=True)
class LLMLabel:
    """The labels of one item; ``votes`` maps teacher key to category for teachers that answered."""

    unit_id: str
    category: str
    intent: str
    instruction: str
    agreement: str
    source: str
    votes: dict[str, str] = field(default_factory=dict)


@dataclass
class LLMResult:
    """Labels in item order plus the counters a run manifest reports."""

    labels: list[LLMLabel]
    failures: Counter[str] = field(default_factory=Counter)
    cache_hits: int = 0
    requests: int = 0
    """HTTP requests sent, retries included."""

    @property
    def disagreements(self) -> list[LLMLabel]:
        """Items some teacher answered whose category still stayed static: below ``agree``."""
        return [label for label in self.labels if label.source == "static" and label.votes]


class GarbageAnswer(ValueError):
    """The teacher answered, but not the JSON object the prompt asks for."""


def parse_answer(text: str | None) -> dict[str, str]:
    """The validated answer; raises :class:`GarbageAnswer` for anything else."""
    body = (text or "").strip()
    if body.startswith("```") and body.endswith("```"):  # one fenced block is still an answer
        body = body.strip("`").removeprefix("json").strip()
    try:
        answer = json.loads(body)
    except ValueError as error:
        raise GarbageAnswer(f"not JSON: {body[:80]!r}") from error
    if not isinstance(answer, dict) or set(answer) != {"category", "intent", "instruction"}:
        raise GarbageAnswer(f"wrong shape: {body[:80]!r}")
    if not all(isinstance(value, str) and value.strip() for value in answer.values()):
        raise GarbageAnswer("empty or non-string field")
    if answer["category"] not in CATEGORIES:
        raise GarbageAnswer(f"unknown category {answer['category']!r}")
    return {name: value.strip() for name, value in answer.items()}


def _messages(item: LLMItem) -> list[dict[str, str]]:
    user = (
        f"Code:\n{item.code[:MAX_CODE_CHARS]}\n\n"
        f"A static analyser's guess at its intent: {item.static_intent}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _prompt_hash(messages: list[dict[str, str]]) -> str:
    payload = json.dumps([PROMPT_VERSION, messages], sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()


def _failure_reason(error: Exception) -> str | None:
    """The counted reason of a retryable failure; ``None`` for an error retrying cannot fix."""
    if isinstance(error, GarbageAnswer):
        return "llm:garbage"
    if isinstance(error, openai.APITimeoutError):  # before its parent, APIConnectionError
        return "llm:timeout"
    if isinstance(error, openai.APIConnectionError):
        return "llm:connection"
    if isinstance(error, openai.RateLimitError):
        return "llm:rate_limited"
    if isinstance(error, openai.InternalServerError):
        return "llm:server_error"
    return None


class LLMAnnotator:
    """Ask every teacher about every item; keep a category when ``agree`` of them vote for it."""

    def __init__(
        self,
        teachers: list[Teacher],
        cache_path: Path,
        max_concurrency: int = 4,
        retries: int = 3,
        backoff_s: tuple[float, ...] = (1, 2, 4),
        agree: int = 2,
    ) -> None:
        if not teachers or len({t.key for t in teachers}) != len(teachers):
            raise ValueError("`teachers` must be non-empty, each base URL + model listed once")
        if not 1 <= agree <= len(teachers):
            raise ValueError(
                f"`agree` is {agree} with {len(teachers)} teacher(s): set it between 1 and "
                f"{len(teachers)} (1 for a single teacher)"
            )
        if max_concurrency < 1 or retries < 0 or not backoff_s:
            raise ValueError(
                "`max_concurrency` must be >= 1, `retries` >= 0, `backoff_s` non-empty"
            )
        self.teachers = teachers
        self.cache = ResponseCache(cache_path)
        self.max_concurrency = max_concurrency
        self.retries = retries
        self.backoff_s = backoff_s
        self.agree = agree

    def annotate(self, items: list[LLMItem]) -> LLMResult:
        """Labels for ``items``: cached answers first, then the missing questions in parallel."""
        messages = {item.unit_id: _messages(item) for item in items}
        if len(messages) != len(items):
            raise ValueError("`items` repeat a `unit_id`: labels are keyed by it")
        hashes = {unit: _prompt_hash(prompt) for unit, prompt in messages.items()}
        questions = [(item.unit_id, teacher) for item in items for teacher in self.teachers]
        cached = self.cache.get_many((t.key, hashes[unit]) for unit, t in questions)
        result = LLMResult(labels=[])
        answers: dict[tuple[str, str], dict[str, str]] = {}
        todo: list[tuple[str, Teacher]] = []
        for unit, teacher in questions:
            if (teacher.key, hashes[unit]) in cached:
                answers[(unit, teacher.key)] = parse_answer(cached[(teacher.key, hashes[unit])])
                result.cache_hits += 1
            else:
                todo.append((unit, teacher))
        clients = {
            t.key: openai.OpenAI(
                base_url=t.base_url, api_key=t.api_key, max_retries=0, timeout=t.timeout_s
            )
            for t in self.teachers
        }
        pending: dict[CacheKey, str] = {}
        try:
            with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="llm") as pool:
                futures = {
                    pool.submit(self._ask, clients[t.key], t.model, messages[unit]): (unit, t.key)
                    for unit, t in todo
                }
                for future in as_completed(futures):
                    unit, teacher_key = futures[future]
                    answer, attempts, reason = future.result()
                    result.requests += attempts
                    if answer is None:
                        result.failures[reason] += 1
                        continue
                    answers[(unit, teacher_key)] = answer
                    pending[(teacher_key, hashes[unit])] = json.dumps(answer, sort_keys=True)
                    if len(pending) >= _FLUSH_EVERY:
                        self.cache.put_many(pending)
                        pending = {}
        finally:
            self.cache.put_many(pending)
            for client in clients.values():
                client.close()
        result.labels = [self._consensus(item, answers) for item in items]
        return result

    def _ask(
        self, client: openai.OpenAI, model: str, messages: list[dict[str, str]]
    ) -> tuple[dict[str, str] | None, int, str]:
        """``(answer or None, requests sent, reason of the last failure)`` for one question.

        Retry ``n`` waits ``backoff_s[n - 1]``; the last configured delay repeats.
        """
        attempts = 0
        while True:
            attempts += 1
            try:
                response = client.chat.completions.create(
                    model=model,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=0,
                )
                choices = response.choices or []
                return parse_answer(choices[0].message.content if choices else None), attempts, ""
            except (openai.OpenAIError, GarbageAnswer) as error:
                reason = _failure_reason(error)
                if reason is None:  # a 4xx such as a wrong key or model: asking again cannot help
                    return None, attempts, "llm:rejected"
            if attempts > self.retries:
                return None, attempts, reason
            time.sleep(self.backoff_s[min(attempts, len(self.backoff_s)) - 1])

    def _consensus(self, item: LLMItem, answers: dict[tuple[str, str], dict[str, str]]) -> LLMLabel:
        votes = {
            t.key: answers[(item.unit_id, t.key)]["category"]
            for t in self.teachers
            if (item.unit_id, t.key) in answers
        }
        if votes:
            winner, count = Counter(votes.values()).most_common(1)[0]  # ties: earliest teacher
            if count >= self.agree:
                first = next(key for key, category in votes.items() if category == winner)
                answer = answers[(item.unit_id, first)]
                return LLMLabel(
                    unit_id=item.unit_id,
                    category=winner,
                    intent=answer["intent"],
                    instruction=answer["instruction"],
                    agreement=f"{count}/{len(votes)}",
                    source="llm",
                    votes=votes,
                )
        top = Counter(votes.values()).most_common(1)[0][1] if votes else 0
        return LLMLabel(
            unit_id=item.unit_id,
            category=item.static_category,
            intent=item.static_intent,
            instruction="",
            agreement=f"{top}/{len(votes)}",
            source="static",
            votes=votes,
        )
