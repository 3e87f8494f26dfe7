"""The memory-server recipe (seed 000) as the benchmark implements it: its arithmetic and rules."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from learning_sim.recipe000 import Recipe000, score_tools
from learning_sim.reward import COST

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
TOOLS = ["kubectl_deploy", "ansible_run", "terraform_apply", "manual_ssh"]


class _AlwaysExplore(random.Random):
    """An RNG whose coin always says "explore" (``random() < 0.1``)."""

    def random(self) -> float:
        return 0.05

    def getrandbits(self, k: int) -> int:
        # Overriding this too keeps choice() on real random bits (see Random.__init_subclass__).
        return super().getrandbits(k)


def _recipe(rng: random.Random | None = None) -> Recipe000:
    return Recipe000(rng or random.Random(7))


def _tiny_memory(recipe: Recipe000) -> None:
    """Six outcomes, one minute apart, oldest first."""
    rows = [
        ("kubectl_deploy", "success", 2_000),
        ("kubectl_deploy", "success", 1_800),
        ("kubectl_deploy", "failure", 4_000),
        ("ansible_run", "failure", 45_000),
        ("ansible_run", "success", 20_000),
        ("terraform_apply", "success", 15_000),
    ]
    for minute, (tool, outcome, latency) in enumerate(rows):
        recipe.record(tool, "deploy", outcome, latency, now=NOW + timedelta(minutes=minute))


def _formula(successes: int, total: int, latencies: list[float]) -> float:
    """The document's formula, written out independently."""
    success_rate = successes / total
    avg_latency = sum(latencies) / len(latencies)
    speed_score = max(0, 1 - (avg_latency / 60_000))
    return success_rate * 0.7 + speed_score * 0.3


def test_scores_match_the_documents_formula_on_a_tiny_memory() -> None:
    """0.7 × success rate + 0.3 × max(0, 1 − mean latency / 60 s), per recalled tool."""
    recipe = _recipe()
    _tiny_memory(recipe)
    scores = score_tools(recipe.recall("deploy", NOW + timedelta(hours=1)), TOOLS)
    assert scores == pytest.approx(
        {
            "kubectl_deploy": _formula(2, 3, [2_000, 1_800, 4_000]),  # 0.753667
            "ansible_run": _formula(1, 2, [45_000, 20_000]),  # 0.4875
            "terraform_apply": _formula(1, 1, [15_000]),  # 0.925
        }
    )
    assert scores["kubectl_deploy"] == pytest.approx(0.7536667, abs=1e-6)


def test_tools_without_recalled_history_are_skipped() -> None:
    """A tool with no recalled record gets no score, so only exploration can pick it."""
    recipe = _recipe()
    _tiny_memory(recipe)
    scores = score_tools(recipe.recall("deploy", NOW + timedelta(hours=1)), TOOLS)
    assert "manual_ssh" not in scores


def test_best_tool_is_the_highest_score() -> None:
    """get_best_tool returns the strictly highest score."""
    recipe = _recipe()
    _tiny_memory(recipe)
    assert recipe.best_tool("deploy", TOOLS, NOW + timedelta(hours=1)) == "terraform_apply"


def test_importance_follows_the_outcome() -> None:
    """Success 0.88, partial 0.65, failure 0.42."""
    recipe = _recipe()
    got = [
        recipe.record("t", "deploy", outcome, 1_000, now=NOW).importance
        for outcome in ("success", "partial", "failure")
    ]
    assert got == [0.88, 0.65, 0.42]


def test_recall_keeps_the_ten_most_recent_records_of_the_task_type() -> None:
    """top_k = 10 by recency; other task types are not recalled."""
    recipe = _recipe()
    for minute in range(12):
        outcome = "failure" if minute < 2 else "success"  # the two oldest fall out
        recipe.record(
            "kubectl_deploy", "deploy", outcome, 1_000, now=NOW + timedelta(minutes=minute)
        )
    recipe.record("kubectl_deploy", "rollback", "failure", 1_000, now=NOW)
    recalled = recipe.recall("deploy", NOW + timedelta(hours=1))
    assert len(recalled) == 10
    assert all(m.outcome == "success" and m.task_type == "deploy" for m in recalled)
    scores = score_tools(recalled, TOOLS)
    assert scores["kubectl_deploy"] == pytest.approx(_formula(10, 10, [1_000] * 10))


def test_records_expire_after_thirty_days() -> None:
    """ttl_seconds = 2,592,000: a 31-day-old outcome is no longer recalled."""
    recipe = _recipe()
    recipe.record("kubectl_deploy", "deploy", "success", 1_000, now=NOW)
    assert len(recipe.recall("deploy", NOW + timedelta(days=29))) == 1
    assert recipe.recall("deploy", NOW + timedelta(days=31)) == []


def test_fewer_than_three_outcomes_means_a_uniform_random_pick() -> None:
    """Cold start: with two recalled outcomes every tool is chosen sometimes."""
    recipe = _recipe(random.Random(3))
    recipe.record("kubectl_deploy", "deploy", "success", 1_000, now=NOW)
    recipe.record("kubectl_deploy", "deploy", "success", 1_000, now=NOW)
    picks = Counter(recipe.best_tool("deploy", TOOLS, NOW) for _ in range(400))
    assert set(picks) == set(TOOLS)


def test_exploration_never_picks_the_best_tool() -> None:
    """The 10 % branch chooses among the other tools only."""
    recipe = _recipe(_AlwaysExplore(5))
    _tiny_memory(recipe)
    picks = {recipe.select("deploy", TOOLS, NOW + timedelta(hours=1)) for _ in range(200)}
    assert picks == set(TOOLS) - {"terraform_apply"}


def test_exploration_rate_is_about_ten_percent() -> None:
    """Without the coin forced, the best tool is chosen about 90 % of the time."""
    recipe = _recipe(random.Random(11))
    _tiny_memory(recipe)
    picks = Counter(recipe.select("deploy", TOOLS, NOW + timedelta(hours=1)) for _ in range(4_000))
    assert picks["terraform_apply"] / 4_000 == pytest.approx(0.9, abs=0.02)


def test_cost_objective_adds_the_cost_score() -> None:
    """Under the cost objective the score re-weights success, speed and 1 / (1 + cost)."""
    recipe = _recipe()
    recipe.record("premium_api", "q", "success", 6_000, now=NOW, cost=2.0)
    recipe.record("premium_api", "q", "failure", 6_000, now=NOW, cost=2.0)
    scores = score_tools(recipe.recall("q", NOW), ["premium_api"], COST)
    assert scores["premium_api"] == pytest.approx(0.5 * 0.5 + 0.1 * 0.9 + 0.4 / 3)
