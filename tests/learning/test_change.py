"""Non-stationarity: a tool that breaks is abandoned fast, a tool that recovers is re-adopted."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.changepoint import binomial_tail, kl_bernoulli

if TYPE_CHECKING:
    from conftest import Agent, FakeClock


def _after_break(
    make_clock: Callable[..., FakeClock], make_agent: Callable[..., Agent], seed: int
) -> list[str]:
    """The 50 decisions after a 90 % best tool breaks to 0 % (10-minute steps)."""
    clock = make_clock()
    view = ReliabilityView(LearningConfig(), clock=clock)
    agent = make_agent(view, clock, {"A": 0.9, "B": 0.7, "C": 0.5}, seed=seed)
    agent.run(300)
    agent.rates["A"] = 0.0
    return agent.run(50)


def _abandoned_after(picks: list[str], tool: str) -> int:
    """Decisions until the first one that skips ``tool`` and opens a 10-decision window in
    which it holds at most 20 % (the benchmark's definition: later re-tries do not undo it)."""
    for start in range(len(picks) - 9):
        window = picks[start : start + 10]
        if picks[start] != tool and window.count(tool) <= 2:
            return start
    return len(picks)


def test_a_broken_tool_is_abandoned_within_five_decisions(
    make_clock: Callable[..., FakeClock], make_agent: Callable[..., Agent]
) -> None:
    """Median over seeds: a 90 % best tool that breaks is dropped after at most 5 decisions."""
    runs = [_after_break(make_clock, make_agent, seed) for seed in range(15)]
    assert statistics.median(_abandoned_after(picks, "A") for picks in runs) <= 5


def test_a_broken_tool_is_only_re_tried_on_schedule(
    make_clock: Callable[..., FakeClock], make_agent: Callable[..., Agent]
) -> None:
    """After the break, re-tries back off: at most ten picks of the broken tool in 50."""
    runs = [_after_break(make_clock, make_agent, seed) for seed in range(15)]
    assert statistics.median(picks.count("A") for picks in runs) <= 10
    assert max(picks[-20:].count("A") for picks in runs) <= 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_recovered_tool_is_retried_and_readopted(
    make_clock: Callable[..., FakeClock], make_agent: Callable[..., Agent], seed: int
) -> None:
    """A tool that broke and then recovered is tried again and becomes the choice again."""
    clock = make_clock()
    view = ReliabilityView(LearningConfig(), clock=clock)
    agent = make_agent(
        view, clock, {"A": 0.95, "B": 0.7, "C": 0.5}, seed=seed, step=timedelta(hours=1)
    )
    agent.run(200)
    agent.rates["A"] = 0.0
    broken = agent.run(60)
    agent.rates["A"] = 0.95
    recovered = agent.run(1_000)
    assert broken[-20:].count("A") <= 2
    assert "A" in recovered[:30]  # a scheduled re-try, not a lucky draw
    assert recovered[-100:].count("A") >= 80


def test_consecutive_failures_of_a_reliable_tool_reset_its_record(view: ReliabilityView) -> None:
    """Four failures in a row after 50 successes is a change: the old record is set aside."""
    for _ in range(50):
        view.observe("A", True)
    for _ in range(4):
        prior = view.observe("A", False)
    assert prior.changes == 1
    assert prior.observations == 4
    assert prior.rate < 0.25


def test_a_single_failure_of_a_reliable_tool_is_not_a_change(view: ReliabilityView) -> None:
    """One failure after a long record of successes only nudges the estimate."""
    for _ in range(50):
        view.observe("A", True)
    prior = view.observe("A", False)
    assert prior.changes == 0
    assert prior.rate > 0.9


def test_a_failing_tool_that_starts_succeeding_is_reset_upward(view: ReliabilityView) -> None:
    """A run of successes from a tool that used to fail is a change too (recovery)."""
    for _ in range(50):
        view.observe("A", False)
    for _ in range(5):
        prior = view.observe("A", True)
    assert prior.changes == 1
    assert prior.rate > 0.8


def test_recommendations_mention_a_recent_change(view: ReliabilityView) -> None:
    """A tool whose record was reset says it is re-learning."""
    for _ in range(50):
        view.observe("A", True)
    for _ in range(4):
        view.observe("A", False)
    (top,) = view.recommend(task_type="", tools=["A"], strategy="greedy")
    assert "re-learning since a change detected" in top.reason


@given(
    n=st.integers(min_value=1, max_value=40),
    k=st.integers(min_value=0, max_value=40),
    p=st.floats(min_value=0.01, max_value=0.99),
)
def test_binomial_tail_matches_scipy(n: int, k: int, p: float) -> None:
    """The hand-rolled exact tail agrees with scipy's binomial distribution."""
    k = min(k, n)
    assert binomial_tail(k, n, p, upper=False) == pytest.approx(binom.cdf(k, n, p), abs=1e-9)
    assert binomial_tail(k, n, p, upper=True) == pytest.approx(binom.sf(k - 1, n, p), abs=1e-9)


@given(x=st.floats(min_value=0.0, max_value=1.0), p=st.floats(min_value=0.001, max_value=0.999))
def test_kl_is_non_negative_and_zero_only_at_equality(x: float, p: float) -> None:
    """The Bernoulli KL divergence is never negative and vanishes when x equals p."""
    assert kl_bernoulli(x, p) >= -1e-12
    assert kl_bernoulli(p, p) == pytest.approx(0.0, abs=1e-12)


def test_one_failure_of_a_flawless_tool_is_not_a_change(view: ReliabilityView) -> None:
    """Even after thousands of successes, a single failure never resets a tool's record."""
    view.observe("A", True, weight=4_000.0)
    prior = view.observe("A", False)
    assert prior.changes == 0
    assert prior.rate > 0.99


def test_two_failures_of_a_flawless_tool_are_a_change(view: ReliabilityView) -> None:
    """Two failures in a row from a tool that never failed in 4,000 calls is a break."""
    view.observe("A", True, weight=4_000.0)
    view.observe("A", False)
    prior = view.observe("A", False)
    assert prior.changes == 1
