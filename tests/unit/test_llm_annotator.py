"""LLM annotators against a real local HTTP server speaking the OpenAI chat-completions protocol
(:mod:`tests.fake_openai`, scripted by model name), through the real ``openai`` client."""

import json
import time
from collections import Counter

import pytest

from repotune.annotate.llm import CATEGORIES, LLMAnnotator, LLMItem, Teacher, parse_answer
from repotune.blocks import LLMEndpoint
from tests.fake_openai import GOOD, FakeOpenAI, running_fake_openai

SECRET = "sk-test-do-not-leak-4242"


@pytest.fixture
def server():
    with running_fake_openai() as running:
        yield running


def teachers(server: FakeOpenAI, *models: str, timeout_s: float = 5.0) -> list[Teacher]:
    return [Teacher(server.url, model, SECRET, timeout_s) for model in models]


def items(n: int) -> list[LLMItem]:
    return [
        LLMItem(f"u{i}", f"def get_user_{i}(id):\n    return db[id]\n", "Get a user.", "utils")
        for i in range(n)
    ]


def annotator(tmp_path, teachers_: list[Teacher], **kwargs) -> LLMAnnotator:
    kwargs = {"backoff_s": (0.01,), "agree": 1, **kwargs}
    return LLMAnnotator(teachers_, tmp_path / "llm.sqlite", **kwargs)


def test_consensus_keeps_the_majority_and_records_the_vote(server, tmp_path):
    result = annotator(
        tmp_path, teachers(server, "disagree", "good-a", "good-b"), agree=2
    ).annotate(items(2))
    label = result.labels[0]
    assert (label.category, label.agreement, label.source) == ("api", "2/3", "llm")
    assert (label.intent, label.instruction) == (GOOD["intent"], GOOD["instruction"])
    assert sorted(label.votes.values()) == ["api", "api", "data-access"]
    assert not result.failures and not result.disagreements
    assert server.keys == {f"Bearer {SECRET}"}


def test_disagreement_below_agree_keeps_static_labels_and_records_votes(server, tmp_path):
    result = annotator(tmp_path, teachers(server, "good", "disagree"), agree=2).annotate(items(1))
    label = result.labels[0]
    assert (label.category, label.intent, label.instruction) == ("utils", "Get a user.", "")
    assert (label.source, label.agreement) == ("static", "1/2")
    assert result.disagreements == [label]
    assert sorted(label.votes.values()) == ["api", "data-access"]


def test_garbage_is_retried_then_counted_and_static_labels_stay(server, tmp_path):
    result = annotator(tmp_path, teachers(server, "garbage"), retries=2).annotate(items(1))
    assert server.hits["garbage"] == 3  # first attempt + 2 retries
    assert result.failures == Counter({"llm:garbage": 1})
    assert result.requests == 3
    label = result.labels[0]
    assert (label.category, label.intent, label.source, label.agreement) == (
        "utils",
        "Get a user.",
        "static",
        "0/0",
    )


def test_rate_limits_are_retried_with_backoff_and_succeed(server, tmp_path):
    started = time.monotonic()
    result = annotator(tmp_path, teachers(server, "flaky"), backoff_s=(0.2, 0.3)).annotate(items(1))
    assert server.hits["flaky"] == 3
    assert time.monotonic() - started >= 0.5  # both backoffs were waited
    assert not result.failures
    assert (result.labels[0].source, result.labels[0].category) == ("llm", "api")


def test_a_timeout_is_retried_then_counted(server, tmp_path):
    slow = teachers(server, "slow", timeout_s=0.2)
    result = annotator(tmp_path, slow, retries=1).annotate(items(1))
    assert result.failures == Counter({"llm:timeout": 1})
    assert server.hits["slow"] == 2
    assert result.labels[0].source == "static"


def test_server_errors_are_retried_then_counted(server, tmp_path):
    result = annotator(tmp_path, teachers(server, "broken"), retries=1).annotate(items(1))
    assert result.failures == Counter({"llm:server_error": 1})
    assert server.hits["broken"] == 2


def test_only_teachers_that_answered_vote(server, tmp_path):
    mixed = teachers(server, "garbage", "good")
    one = annotator(tmp_path, mixed, retries=0, agree=1).annotate(items(1)).labels[0]
    assert (one.source, one.agreement, one.votes) == ("llm", "1/1", {mixed[1].key: "api"})
    two = annotator(tmp_path, mixed, retries=0, agree=2).annotate(items(1))
    assert (two.labels[0].source, two.failures) == ("static", Counter({"llm:garbage": 1}))


def test_an_unreachable_endpoint_is_counted_as_connection(tmp_path):
    dead = [Teacher("http://127.0.0.1:9/v1", "good", SECRET, 1.0)]
    result = annotator(tmp_path, dead, retries=1).annotate(items(1))
    assert result.failures == Counter({"llm:connection": 1})


def test_a_second_run_is_served_from_the_cache(server, tmp_path):
    teachers_ = teachers(server, "good-a", "good-b")
    first = annotator(tmp_path, teachers_, agree=2).annotate(items(5))
    hits = sum(server.hits.values())
    assert (hits, first.cache_hits) == (10, 0)
    second = annotator(tmp_path, teachers_, agree=2).annotate(items(5))
    assert sum(server.hits.values()) == hits
    assert (second.cache_hits, second.requests) == (10, 0)
    assert second.labels == first.labels


def test_failures_are_not_cached_so_a_rerun_asks_again(server, tmp_path):
    annotator(tmp_path, teachers(server, "garbage"), retries=0).annotate(items(1))
    annotator(tmp_path, teachers(server, "garbage"), retries=0).annotate(items(1))
    assert server.hits["garbage"] == 2


def test_concurrency_never_exceeds_the_bound(server, tmp_path):
    annotator(tmp_path, teachers(server, "good-a", "good-b"), max_concurrency=3).annotate(items(12))
    assert sum(server.hits.values()) == 24
    assert 2 <= server.peak <= 3


def test_the_api_key_stays_out_of_repr_and_the_cache(server, tmp_path):
    teacher = teachers(server, "good")[0]
    assert SECRET not in repr(teacher)
    annotator(tmp_path, [teacher]).annotate(items(3))
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("llm.sqlite*"))
    assert b"good" in stored and SECRET.encode() not in stored


def test_block_builds_a_teacher_and_hides_its_key():
    block = LLMEndpoint(base_url="http://x/v1", model="m", api_key=SECRET, timeout_s=7)
    assert block.to_teacher() == Teacher("http://x/v1", "m", SECRET, 7.0)
    assert SECRET not in repr(block) and SECRET not in repr(block.to_teacher())


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({**GOOD, "category": "frontend"}),
        json.dumps({"category": "api", "intent": "x"}),
        json.dumps({**GOOD, "extra": "y"}),
        json.dumps({**GOOD, "intent": " "}),
        None,
    ],
)
def test_parse_answer_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_answer(text)


def test_parse_answer_accepts_one_fenced_block():
    assert parse_answer(f"```json\n{json.dumps(GOOD)}\n```") == GOOD
    assert "other" in CATEGORIES and "data-access" in CATEGORIES


def test_bad_settings_name_the_parameter(tmp_path):
    with pytest.raises(ValueError, match="`agree`"):
        LLMAnnotator([Teacher("http://x/v1", "m", SECRET)], tmp_path / "c.sqlite", agree=2)
