"""Holds: when a task type's best tool breaks, the other tools' records become a weak prior.

In a regime swap the runner-up may have become the best at the moment the leader broke; a
long record of its old, poorer rate would keep it ranked low for dozens of decisions. Held,
that record lends at most ``hold_strength`` observations until the tool's new outcomes show
whether it still applies (``learning/hold.py``).
"""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import TYPE_CHECKING

from toolwise.learning import LearningConfig, ReliabilityView

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Agent, FakeClock


def _adopted_after(picks: list[str], tool: str) -> int:
    """Decisions until the first pick of ``tool`` that opens a window of 10 with ≥ 8 of it."""
    for start in range(len(picks) - 9):
        if picks[start] == tool and picks[start : start + 10].count(tool) >= 8:
            return start
    return len(picks)


def _swap(
    make_clock: Callable[..., FakeClock],
    make_agent: Callable[..., Agent],
    seed: int,
    strength: float,
) -> int:
    """A (90 %) breaks to 5 % as B, 40 calls at 40 % on record, rises to 95 %."""
    clock = make_clock()
    view = ReliabilityView(LearningConfig(hold_strength=strength), clock=clock)
    for i in range(40):
        clock.advance(timedelta(minutes=10))
        view.observe("B", i % 5 < 2, context_class="deploy", latency_ms=1_000.0)
    agent = make_agent(view, clock, {"A": 0.9, "B": 0.4, "C": 0.5}, seed=seed)
    agent.run(300)
    agent.rates.update(A=0.05, B=0.95)
    return _adopted_after(agent.run(150), "B")


def test_a_runner_up_that_became_the_best_is_adopted_quickly(
    make_clock: Callable[..., FakeClock], make_agent: Callable[..., Agent]
) -> None:
    """With holds the new best is adopted after a median ≤ 8 decisions, in every run;
    without them its 40-call record keeps it down (median > 8 on the same seeds)."""
    held = [
        _swap(make_clock, make_agent, seed, LearningConfig().hold_strength) for seed in range(12)
    ]
    unheld = [_swap(make_clock, make_agent, seed, 0.0) for seed in range(12)]
    assert statistics.median(held) <= 8
    assert max(held) < 150
    assert statistics.median(unheld) > 8


def _after_leader_breaks(strength: float) -> float:
    """B's rate after A's break and six successes of B; B had 40 calls at 40 % on record."""
    view = ReliabilityView(LearningConfig(hold_strength=strength))
    for i in range(40):
        view.observe("B", i % 5 < 2)
    for _ in range(50):
        view.observe("A", True)
    for _ in range(4):
        view.observe("A", False)  # A breaks: B's record is held
    for _ in range(6):
        prior = view.observe("B", True)
    return prior.rate


def test_a_held_record_lends_only_a_few_observations() -> None:
    """Six successes after the hold outweigh a held 40-call record at 40 % (it lends at most
    ``hold_strength`` observations, 3 by default); unheld, the record keeps B under 50 %."""
    assert _after_leader_breaks(LearningConfig().hold_strength) > 0.6
    assert _after_leader_breaks(0.0) < 0.5
