"""The priors API: observe one outcome, read Beta estimates with confidence and advice."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from scipy.stats import beta as beta_dist

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.models import ToolOutcome

if TYPE_CHECKING:
    from conftest import FakeClock


def test_observe_returns_the_updated_prior_for_its_key(view: ReliabilityView) -> None:
    """observe() hands back the prior of exactly the key it updated."""
    prior = view.observe("web_search", True, context_class="market-research")
    assert (prior.tool, prior.context_class, prior.agent_id) == (
        "web_search",
        "market-research",
        "default",
    )
    assert prior.observations == 1
    assert prior.rate == pytest.approx(2 / 3)  # Beta(1, 1) plus one success


def test_rate_is_the_beta_posterior_mean(view: ReliabilityView) -> None:
    """Seven successes and three failures on Beta(1, 1) give a mean of 8/12."""
    for success in [True] * 7 + [False] * 3:
        prior = view.observe("web_search", success)
    assert prior.rate == pytest.approx(8 / 12)
    assert (prior.alpha, prior.beta) == pytest.approx((8.0, 4.0))
    assert (prior.successes, prior.failures) == pytest.approx((7.0, 3.0))


def test_credible_interval_is_the_exact_90_percent_beta_interval(view: ReliabilityView) -> None:
    """The interval matches scipy's Beta quantiles at 5 % and 95 %."""
    for success in [True] * 7 + [False] * 3:
        prior = view.observe("web_search", success)
    expected = (float(beta_dist.ppf(0.05, 8.0, 4.0)), float(beta_dist.ppf(0.95, 8.0, 4.0)))
    assert prior.credible_interval == pytest.approx(expected)


@pytest.mark.parametrize(
    ("count", "label"), [(4, "low"), (5, "medium"), (19, "medium"), (20, "high")]
)
def test_confidence_follows_effective_observations(
    view: ReliabilityView, count: int, label: str
) -> None:
    """Confidence is low below 5, medium from 5 to 20, high from 20 observations."""
    for _ in range(count):
        prior = view.observe("web_search", True)
    assert prior.confidence == label


def test_weight_scales_the_evidence(view: ReliabilityView) -> None:
    """An observation of weight 3 counts as three observations' worth of mass."""
    prior = view.observe("web_search", False, weight=3.0)
    assert prior.failures == pytest.approx(3.0)
    assert prior.effective_observations == pytest.approx(3.0)


def test_latency_percentiles_come_from_recent_calls(view: ReliabilityView) -> None:
    """p50 and p95 are read from the bounded reservoir of recent latencies."""
    for latency in range(1, 101):
        prior = view.observe("web_search", True, latency_ms=float(latency))
    assert prior.p50_latency_ms == pytest.approx(50.5)
    assert prior.p95_latency_ms == pytest.approx(95.05)
    assert prior.mean_latency_ms == pytest.approx(50.5)


def test_latency_reservoir_keeps_only_the_most_recent(clock: FakeClock) -> None:
    """Old latencies leave the reservoir, so a tool that got faster looks faster."""
    view = ReliabilityView(LearningConfig(latency_reservoir=10), clock=clock)
    for _ in range(10):
        view.observe("web_search", True, latency_ms=9_000.0)
    for _ in range(10):
        prior = view.observe("web_search", True, latency_ms=100.0)
    assert prior.p95_latency_ms == pytest.approx(100.0)


def test_last_errors_keep_the_three_most_recent(view: ReliabilityView) -> None:
    """Only the last three error messages are kept, newest last."""
    for n in range(5):
        view.observe_outcome(
            ToolOutcome(
                tool="ansible_run", outcome="failure", error_type="Timeout", error_message=str(n)
            )
        )
    (prior,) = view.priors()
    assert prior.last_errors == ("Timeout: 2", "Timeout: 3", "Timeout: 4")


def test_mean_cost_is_reported(view: ReliabilityView) -> None:
    """The mean of recent costs is part of the prior."""
    view.observe("web_search", True, cost=0.02)
    prior = view.observe("web_search", True, cost=0.04)
    assert prior.mean_cost == pytest.approx(0.03)


def test_suggestion_asks_for_exploration_with_little_evidence(view: ReliabilityView) -> None:
    """A prior with under 5 observations says to keep exploring."""
    prior = view.observe("web_search", False)
    assert prior.suggestion == "too little evidence: keep exploring"


def test_suggestion_names_the_better_tool_when_unreliable(view: ReliabilityView) -> None:
    """An unreliable tool's suggestion points at the best alternative in the same context."""
    for n in range(20):
        view.observe("kubectl_deploy", n % 10 != 0, context_class="deploy")
        view.observe("ansible_run", n % 3 == 0, context_class="deploy")
    (prior,) = view.priors(tool="ansible_run")
    assert prior.suggestion.startswith("unreliable here: prefer kubectl_deploy (")


def test_suggestion_calls_a_good_tool_reliable(view: ReliabilityView) -> None:
    """A tool with a high rate and enough evidence is called reliable."""
    for _ in range(20):
        prior = view.observe("kubectl_deploy", True)
    assert prior.suggestion == "reliable"


def test_priors_filter_by_tool_context_and_environment(view: ReliabilityView) -> None:
    """Each filter narrows the listing to matching keys."""
    view.observe("a", True, context_class="x", environment="prod")
    view.observe("a", True, context_class="y", environment="prod")
    view.observe("b", True, context_class="x", environment="staging")
    assert [p.context_class for p in view.priors(tool="a")] == ["x", "y"]
    assert [p.tool for p in view.priors(context_class="x")] == ["a", "b"]
    assert [p.tool for p in view.priors(environment="staging")] == ["b"]
    assert len(view.priors(limit=2)) == 2


def test_priors_are_per_agent(view: ReliabilityView) -> None:
    """Agents never see each other's evidence."""
    view.observe("a", True, agent_id="devops-deploy")
    view.observe("a", False, agent_id="devops-search")
    assert [p.agent_id for p in view.priors(agent_id="devops-deploy")] == ["devops-deploy"]
    assert len(view.priors(agent_id=None)) == 2


def test_seeds_rank_untried_tools(view: ReliabilityView) -> None:
    """An LLM-given prior orders tools before any evidence exists."""
    view.seed_prior("kubectl_deploy", 0.95, 20.0)
    view.seed_prior("manual_ssh", 0.2, 20.0)
    ranked = view.recommend(
        task_type="deploy", tools=["manual_ssh", "kubectl_deploy"], strategy="greedy"
    )
    assert ranked[0].tool == "kubectl_deploy"


def test_known_task_types_lists_non_empty_contexts(view: ReliabilityView) -> None:
    """The task types with evidence, sorted, without the uncategorised one."""
    for context in ["search", "deploy", "", "deploy"]:
        view.observe("a", True, context_class=context)
    assert view.known_task_types("default") == ["deploy", "search"]


def test_last_seen_is_the_newest_outcome_timestamp(view: ReliabilityView, clock: FakeClock) -> None:
    """last_seen follows the newest timestamp, even when older ones arrive later."""
    newest = clock.now
    view.observe("a", True, timestamp=newest)
    view.observe("a", True, timestamp=newest - timedelta(hours=1))
    assert view.last_seen == newest


def test_stats_reports_sizes(view: ReliabilityView) -> None:
    """stats() counts contexts, overall records and observations."""
    view.observe("a", True, context_class="x")
    view.observe("b", True, context_class="x")
    stats = view.stats()
    assert (stats["contexts"], stats["overall"], stats["observed"]) == (2, 2, 2)


def test_prior_summary_and_id_are_stable_strings(view: ReliabilityView) -> None:
    """The computed id and summary identify the key and read well in logs."""
    prior = view.observe("web_search", True, context_class="research", environment="prod")
    assert prior.id == "default|web_search|research|prod"
    assert prior.summary == "web_search for research: 67% (low, 1 call)"


def test_a_zero_weight_outcome_records_latency_but_no_observation(view: ReliabilityView) -> None:
    """weight=0 adds a latency sample without counting as evidence."""
    prior = view.observe("web_search", False, weight=0.0, latency_ms=120.0)
    assert (prior.observations, prior.failures) == (0, 0.0)
    assert prior.p50_latency_ms == 120.0
