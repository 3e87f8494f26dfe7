"""Rankings: cold start, objectives, strategies, exploration, explanations."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from toolwise.learning import LearningConfig, ObjectiveWeights, ReliabilityView

if TYPE_CHECKING:
    from conftest import FakeClock

TOOLS = ["kubectl_deploy", "ansible_run", "terraform_apply", "helm_upgrade"]


def _history(view: ReliabilityView) -> None:
    """kubectl 9/10 at 1.9 s; ansible 3/10 at 45 s (the DevOps scenario)."""
    for n in range(10):
        view.observe("kubectl_deploy", n != 0, context_class="deploy", latency_ms=1_900.0)
        view.observe("ansible_run", n < 3, context_class="deploy", latency_ms=45_000.0)


def test_cold_start_ranks_every_tool(view: ReliabilityView) -> None:
    """With no history at all, every candidate is ranked and nothing raises."""
    ranked = view.recommend(task_type="deploy", tools=TOOLS, seed=1)
    assert sorted(r.tool for r in ranked) == sorted(TOOLS)
    assert [r.rank for r in ranked] == [1, 2, 3, 4]
    assert all(r.reason.startswith("untried: no evidence yet") for r in ranked)


def test_untried_tools_get_explored(view: ReliabilityView) -> None:
    """A new tool next to a mediocre incumbent is put first by some seeds."""
    for n in range(10):
        view.observe("ansible_run", n < 6, context_class="deploy")
    firsts = {
        view.recommend(task_type="deploy", tools=["ansible_run", "helm_upgrade"], seed=s)[0].tool
        for s in range(30)
    }
    assert "helm_upgrade" in firsts


def test_the_reliable_fast_tool_ranks_first_greedily(view: ReliabilityView) -> None:
    """With evidence, the greedy ranking puts the reliable fast tool first."""
    _history(view)
    ranked = view.recommend(task_type="deploy", tools=TOOLS, strategy="greedy")
    assert ranked[0].tool == "kubectl_deploy"
    assert ranked[-1].tool == "ansible_run"


def test_balanced_score_is_seventy_thirty_success_and_speed(view: ReliabilityView) -> None:
    """The balanced score is 0.7 × success + 0.3 × speed, speed the mean of 1 − latency/60 s."""
    _history(view)
    (top,) = view.recommend(task_type="deploy", tools=["kubectl_deploy"], strategy="greedy")
    assert top.breakdown.weights == ObjectiveWeights(success=0.7, speed=0.3, cost=0.0)
    assert top.breakdown.speed == pytest.approx(1 - 1_900 / 60_000)
    assert top.score == pytest.approx(0.7 * top.rate + 0.3 * top.breakdown.speed)


def test_latency_objective_prefers_the_fast_tool(view: ReliabilityView) -> None:
    """A slightly more reliable but slow tool loses when latency matters most."""
    for n in range(40):
        view.observe("fast", n % 5 != 0, context_class="q", latency_ms=500.0)  # 80 %
        view.observe("slow", True, context_class="q", latency_ms=10_000.0)  # 100 %
    balanced = view.recommend(task_type="q", tools=["slow", "fast"], strategy="greedy")
    latency = view.recommend(
        task_type="q", tools=["slow", "fast"], strategy="greedy", objective="latency"
    )
    assert balanced[0].tool == "slow"
    assert latency[0].tool == "fast"


def test_cost_objective_prefers_the_cheap_tool(view: ReliabilityView) -> None:
    """Between equally reliable tools, the cost objective picks the cheaper one."""
    for _ in range(20):
        view.observe("web_scraper", True, context_class="lookup", cost=5.0)
        view.observe("cached_lookup", True, context_class="lookup", cost=0.01)
    ranked = view.recommend(
        task_type="lookup",
        tools=["web_scraper", "cached_lookup"],
        strategy="greedy",
        objective="cost",
    )
    assert ranked[0].tool == "cached_lookup"
    assert "mean cost" in ranked[0].reason


def test_custom_weights_are_normalised(view: ReliabilityView) -> None:
    """A mapping of weights is accepted and scaled to sum to one."""
    (top,) = view.recommend(task_type="q", tools=["a"], objective={"success": 2.0, "speed": 2.0})
    assert top.breakdown.weights == ObjectiveWeights(success=0.5, speed=0.5, cost=0.0)


def test_missing_latency_is_neutral_when_not_exploring(view: ReliabilityView) -> None:
    """Greedily, a tool with no latency samples scores 0.5 for speed: neither reward nor blame."""
    (top,) = view.recommend(task_type="q", tools=["a"], strategy="greedy")
    assert top.breakdown.speed == 0.5
    assert top.p50_latency_ms is None


@pytest.mark.parametrize("strategy", ["thompson", "ucb", "epsilon_greedy", "greedy"])
def test_every_strategy_ranks_every_tool(view: ReliabilityView, strategy: str) -> None:
    """All four strategies return a full ranking with finite scores."""
    _history(view)
    ranked = view.recommend(task_type="deploy", tools=TOOLS, strategy=strategy, seed=3)  # type: ignore[arg-type]
    assert sorted(r.tool for r in ranked) == sorted(TOOLS)
    assert all(math.isfinite(r.score) for r in ranked)
    assert all(r.strategy == strategy for r in ranked)


def test_ucb_is_optimistic_about_the_uncertain(view: ReliabilityView) -> None:
    """Bayes-UCB puts an untried tool above a well-known 70 % tool."""
    for n in range(50):
        view.observe("known", n % 10 < 7, context_class="q")
    ranked = view.recommend(task_type="q", tools=["known", "new"], strategy="ucb")
    assert ranked[0].tool == "new"
    assert ranked[0].explored
    assert ranked[0].sampled_success > ranked[0].rate


def test_epsilon_greedy_explores_about_epsilon_of_the_time(clock: FakeClock) -> None:
    """With epsilon 0.5, roughly half the decisions put a non-best tool first."""
    view = ReliabilityView(LearningConfig(epsilon=0.5), clock=clock)
    for _ in range(20):
        view.observe("best", True, context_class="q")
        view.observe("worse", False, context_class="q")
    explored = sum(
        view.recommend(task_type="q", tools=["best", "worse"], strategy="epsilon_greedy", seed=s)[
            0
        ].explored
        for s in range(200)
    )
    assert 70 < explored < 130


def test_epsilon_greedy_propensities_are_exact(view: ReliabilityView) -> None:
    """The best tool is picked with 1 − ε, each other with ε / (k − 1)."""
    _history(view)
    ranked = view.recommend(task_type="deploy", tools=TOOLS, strategy="epsilon_greedy", seed=0)
    by_tool = {r.tool: r.propensity for r in ranked}
    assert by_tool["kubectl_deploy"] == pytest.approx(0.9)
    assert by_tool["ansible_run"] == pytest.approx(0.1 / 3)


def test_thompson_propensities_sum_to_one(view: ReliabilityView) -> None:
    """The Monte Carlo pick probabilities of all tools sum to one."""
    _history(view)
    ranked = view.recommend(task_type="deploy", tools=TOOLS, seed=7)
    assert sum(r.propensity or 0.0 for r in ranked) == pytest.approx(1.0)


def test_greedy_never_explores(view: ReliabilityView) -> None:
    """The greedy strategy never marks a pick as exploration."""
    ranked = view.recommend(task_type="deploy", tools=TOOLS, strategy="greedy")
    assert not any(r.explored for r in ranked)


def test_reason_states_rate_calls_and_latency(view: ReliabilityView) -> None:
    """The reason reads like "90% success over 10 calls here, p50 1.9 s"."""
    _history(view)
    ranked = view.recommend(task_type="deploy", tools=["kubectl_deploy"], strategy="greedy")
    assert ranked[0].reason == "83% success over 10 calls here, p50 1.9 s"


def test_exploration_is_explained(view: ReliabilityView) -> None:
    """A pick made by exploration says so in its reason."""
    for n in range(50):
        view.observe("known", n % 10 < 7, context_class="q")
    top = view.recommend(task_type="q", tools=["known", "new"], strategy="ucb")[0]
    assert "picked for its optimistic upper bound" in top.reason


def test_duplicate_tools_are_ranked_once(view: ReliabilityView) -> None:
    """Repeating a tool name does not rank it twice."""
    ranked = view.recommend(task_type="q", tools=["a", "b", "a"], seed=1)
    assert sorted(r.tool for r in ranked) == ["a", "b"]


def test_recommendations_carry_evidence_counts(view: ReliabilityView) -> None:
    """Each recommendation reports its observations, confidence and credible interval."""
    _history(view)
    top = view.recommend(task_type="deploy", tools=["kubectl_deploy"], strategy="greedy")[0]
    assert (top.observations, top.confidence) == (10, "medium")
    low, high = top.credible_interval
    assert low < top.rate < high


def test_speed_is_the_mean_per_call_score_so_a_heavy_tail_counts(view: ReliabilityView) -> None:
    """Nine 1-second calls and one that hung for a minute: the median would say 0.98."""
    for n in range(10):
        latency = 60_000.0 if n == 9 else 1_000.0
        view.observe("flaky", True, context_class="deploy", latency_ms=latency)
    (top,) = view.recommend(task_type="deploy", tools=["flaky"], strategy="greedy")
    assert top.breakdown.speed == pytest.approx(0.9 * (1 - 1_000 / 60_000))


def test_a_ranking_is_the_same_whether_its_quantiles_were_remembered_or_not(
    view: ReliabilityView,
) -> None:
    """Posteriors that did not change since the last decision reuse what was worked out
    from them (the propensity grid's shares, the credible intervals): same scores,
    propensities and intervals."""
    from toolwise.learning import levels, posterior

    for n in range(12):  # two close leaders: both contend on the propensity grid
        view.observe("kubectl_deploy", n % 4 != 0, context_class="deploy")
        view.observe("helm_upgrade", n % 3 != 0, context_class="deploy")
        view.observe("ansible_run", n % 2 == 0, context_class="deploy")

    def ranking() -> list[tuple[str, float, float | None, tuple[float, float]]]:
        ranked = view.recommend(task_type="deploy", tools=TOOLS, seed=3)
        return [(r.tool, r.score, r.propensity, r.credible_interval) for r in ranked]

    levels.propensity_grid.cache_clear()
    levels.grid_memory.cache_clear()
    posterior.remembered_quantiles.cache_clear()
    computed = ranking()
    grid = LearningConfig().propensity_samples // levels.GRID_SHARE
    assert len(levels.propensity_grid(grid)._wins) >= 1
    assert ranking() == computed
    assert sum(p for _, _, p, _ in computed if p is not None) == pytest.approx(1.0)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NaN, as meant
def test_shared_draws_rank_every_tool_even_when_a_posterior_is_not_a_number() -> None:
    """Validation keeps NaN out of every record; were one to slip through, no tool contends
    on the propensity grid, and the decision must still rank every tool, not raise."""
    import numpy as np

    from toolwise.learning.arms import Arms
    from toolwise.learning.strategies import thompson

    arms = Arms(
        alpha=np.array([np.nan, 3.0]),
        beta=np.array([1.0, 2.0]),
        speed_mean=np.zeros(2),
        speed_sd=np.zeros(2),
        speed_known=np.array([False, False]),
        cost=np.zeros(2),
        weight=1.0,
        speed_weight=0.0,
        evidence=5.0,
    )
    choice = thompson(arms, np.random.default_rng(1), LearningConfig())
    assert sorted(choice.order) == [0, 1]
