"""Every strategy breaks exact ties at random: the order tools are listed in decides nothing."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from toolwise.learning import LearningConfig, ReliabilityView, Strategy

if TYPE_CHECKING:
    from conftest import FakeClock

STRATEGIES: tuple[Strategy, ...] = ("thompson", "ucb", "epsilon_greedy", "greedy")
TOOLS = ["ansible_run", "kubectl_deploy", "helm_upgrade"]


def _tied(view: ReliabilityView) -> None:
    """Each tool failed once on the deploy task: three identical records."""
    for tool in TOOLS:
        view.observe(tool, False, context_class="deploy")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_tools_with_the_same_record_are_put_first_equally_often(
    view: ReliabilityView, strategy: Strategy
) -> None:
    _tied(view)
    firsts = [
        view.recommend(task_type="deploy", tools=TOOLS, strategy=strategy, seed=s)[0].tool
        for s in range(300)
    ]
    assert min(firsts.count(tool) for tool in TOOLS) >= 70


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_seeded_decision_breaks_its_tie_the_same_way_every_time(
    view: ReliabilityView, strategy: Strategy
) -> None:
    _tied(view)
    orders = {
        tuple(
            r.tool
            for r in view.recommend(task_type="deploy", tools=TOOLS, strategy=strategy, seed=7)
        )
        for _ in range(5)
    }
    assert len(orders) == 1


@pytest.mark.parametrize("strategy", ["ucb", "greedy"])
def test_deterministic_strategies_split_the_propensity_between_tied_tools(
    view: ReliabilityView, strategy: Strategy
) -> None:
    _tied(view)
    view.observe("helm_upgrade", False, context_class="deploy")  # now behind the other two
    ranked = view.recommend(task_type="deploy", tools=TOOLS, strategy=strategy, seed=1)
    shares = {r.tool: r.propensity for r in ranked}
    assert shares == {"ansible_run": 0.5, "kubectl_deploy": 0.5, "helm_upgrade": 0.0}


def test_epsilon_greedy_logs_the_chance_each_tool_really_had(clock: FakeClock) -> None:
    """Two tied leaders are each the greedy pick half the time, and explored otherwise."""
    view = ReliabilityView(LearningConfig(epsilon=0.2), clock=clock)
    _tied(view)
    view.observe("helm_upgrade", False, context_class="deploy")
    ranked = view.recommend(task_type="deploy", tools=TOOLS, strategy="epsilon_greedy", seed=1)
    shares = {r.tool: r.propensity for r in ranked}
    assert shares["ansible_run"] == pytest.approx(0.8 / 2 + 0.5 * 0.2 / 2)
    assert shares["kubectl_deploy"] == shares["ansible_run"]
    assert shares["helm_upgrade"] == pytest.approx(0.2 / 2)
    firsts = [
        view.recommend(task_type="deploy", tools=TOOLS, strategy="epsilon_greedy", seed=s)[0].tool
        for s in range(2_000)
    ]
    assert firsts.count("helm_upgrade") / 2_000 == pytest.approx(0.1, abs=0.02)
    assert firsts.count("ansible_run") / 2_000 == pytest.approx(0.45, abs=0.03)


def test_a_best_tool_listed_last_is_still_found_by_greedy(clock: FakeClock) -> None:
    """New tools start level and greedy locks onto whichever succeeds first.

    Listed last, the best tool used to be the first pick in no run and took over in 10 of
    these 30; now it is the first pick as often as any other and takes over in 25.
    """
    rates = {"ansible_run": 0.7, "kubectl_deploy": 0.7, "helm_upgrade": 0.95}
    found = 0
    for seed in range(30):
        view = ReliabilityView(clock=clock)
        outcomes = random.Random(seed)
        picks = []
        for decision in range(100):
            tool = view.recommend(
                task_type="deploy",
                tools=list(rates),
                strategy="greedy",
                seed=seed * 1_000 + decision,
            )[0].tool
            view.observe(tool, outcomes.random() < rates[tool], context_class="deploy")
            picks.append(tool)
        found += picks[-20:].count("helm_upgrade") > 10
    assert found >= 18
