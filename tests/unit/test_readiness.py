"""The readiness gate's rules, one blocker sentence each, and the model card it feeds."""

from __future__ import annotations

import numpy as np

from repotune.config import PromotionConfig
from repotune.registry.model_card import CardFacts, model_card_markdown
from repotune.registry.readiness import assess

BASE = {"eval_loss": 2.0, "pass_at_1": 0.2, "general_humaneval_pass_at_1": 0.30}


def test_required_metrics_missing_or_short_each_block_with_a_sentence():
    cfg = PromotionConfig(required={"pass_at_1": 0.8, "eval_loss": 1.5, "syntax_valid_rate": 0.9})
    candidate = {"eval_loss": 1.6, "pass_at_1": 0.5, "general_humaneval_pass_at_1": 0.3}
    verdict = assess(candidate, BASE, None, cfg, "eval_loss")
    assert not verdict.ready and not verdict.challenger
    assert verdict.blockers == [
        "eval_loss is 1.6, it must be at most 1.5.",
        "pass_at_1 is 0.5, it must be at least 0.8.",
        "Metric `syntax_valid_rate` required by `promotion.required` was not measured "
        "(measured: eval_loss, general_humaneval_pass_at_1, pass_at_1).",
    ]


def test_a_general_skill_drop_blocks_even_a_better_fine_tune():
    cfg = PromotionConfig(max_general_skill_drop=0.05)
    candidate = {"eval_loss": 1.0, "general_humaneval_pass_at_1": 0.20}
    verdict = assess(candidate, BASE, None, cfg, "eval_loss")
    assert not verdict.ready
    assert verdict.blockers[0].startswith("General skill fell: general_humaneval_pass_at_1 0.2")
    small_drop = {"eval_loss": 1.0, "general_humaneval_pass_at_1": 0.26}
    assert assess(small_drop, BASE, None, cfg, "eval_loss").ready


def test_without_a_champion_beating_the_base_is_enough():
    verdict = assess({"eval_loss": 1.9}, BASE, None, PromotionConfig(), "eval_loss")
    assert verdict.ready and "no champion" in verdict.summary()
    worse = assess({"eval_loss": 2.1}, BASE, None, PromotionConfig(), "eval_loss")
    assert not worse.ready and "does not beat the base model's 2" in worse.blockers[0]


def test_the_champion_must_be_beaten_by_the_margin_and_significantly():
    cfg = PromotionConfig(min_improvement=0.02, significance=0.05, bootstrap_resamples=1000)
    champion = {"eval_loss": 1.0}
    small = assess({"eval_loss": 0.99}, BASE, champion, cfg, "eval_loss")
    assert not small.ready and small.challenger
    assert "by +1.00%, less than `promotion.min_improvement` 2%" in small.blockers[0]

    rng = np.random.default_rng(0)
    champion_scores = rng.normal(1.0, 0.3, 200)
    clearly_better = champion_scores - 0.1 + rng.normal(0, 0.01, 200)
    better = assess(
        {"eval_loss": 0.9}, BASE, champion, cfg, "eval_loss", (champion_scores, clearly_better)
    )
    assert better.ready and "significant" in better.summary()

    noise = champion_scores + rng.normal(0, 0.5, 200)
    lucky = assess({"eval_loss": 0.9}, BASE, champion, cfg, "eval_loss", (champion_scores, noise))
    assert not lucky.ready and lucky.challenger
    assert lucky.blockers[0].startswith("The improvement over the champion is not significant")


def test_higher_is_better_metrics_compare_the_other_way():
    cfg = PromotionConfig(min_improvement=0.1)
    verdict = assess({"pass_at_1": 0.5}, BASE, {"pass_at_1": 0.4}, cfg, "pass_at_1")
    assert verdict.ready  # +25 % relative
    kept = assess({"pass_at_1": 0.42}, BASE, {"pass_at_1": 0.4}, cfg, "pass_at_1")
    assert not kept.ready and kept.challenger


def test_model_card_shows_lineage_intervals_and_the_decision():
    facts = CardFacts(
        model_name="team-model",
        version="7",
        semver="1.3.0",
        semver_reason="training config changed since 1.2.4",
        base_model="repotune-offline-abc",
        sources={"git@host:team/api.git": "a" * 40},
        datasets={"tasks": "f" * 16},
        samples={"completion": 120, "fim": 40},
        training={"learning_rate": 0.001},
        comparison=[
            {
                "metric": "pass_at_1",
                "base": {"mean": 0.1, "low": 0.05, "high": 0.15},
                "candidate": {"mean": 0.3, "low": 0.2, "high": 0.4},
                "champion": None,
            }
        ],
        decision="promoted: ready",
        gates={"Dataset gate `tasks`": "passed"},
    )
    card = model_card_markdown(facts)
    assert card.startswith("# team-model 1.3.0 (version 7)")
    assert "| pass_at_1 | 0.1 [0.05, 0.15] | 0.3 [0.2, 0.4] | — |" in card
    assert f"| git@host:team/api.git | `{'a' * 40}` |" in card
    assert "- Promotion: promoted: ready" in card and "Dataset gate `tasks`: passed" in card
    assert '"learning_rate": 0.001' in card and "## Known limitations" in card
