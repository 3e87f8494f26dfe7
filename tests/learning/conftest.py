"""Fixtures for the learning layer: a clock that only moves when a test moves it, a simulator.

Helpers are handed out as fixtures (not imported) so the tests need no package layout.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from tests.conftest import FakeClock

from toolwise.learning import LearningConfig, ReliabilityView

__all__ = ["FakeClock"]  # re-exported for the tests' type hints


class Agent:
    """Follows the view's top recommendation on simulated Bernoulli tools, step by step."""

    def __init__(
        self,
        view: ReliabilityView,
        clock: FakeClock,
        rates: dict[str, float],
        *,
        seed: int = 0,
        task_type: str = "deploy",
        step: timedelta = timedelta(minutes=10),
    ) -> None:
        self.view, self.clock, self.rates = view, clock, rates
        self.rng = random.Random(seed)
        self.seed = seed
        self.task_type = task_type
        self.step = step
        self.decisions = 0
        self.history: list[str] = []

    def act(self) -> str:
        """Advance the clock, take the top recommendation, observe an outcome for it."""
        self.clock.advance(self.step)
        self.decisions += 1
        tool = self.view.recommend(
            task_type=self.task_type,
            tools=list(self.rates),
            seed=self.seed * 1_000_003 + self.decisions,
        )[0].tool
        success = self.rng.random() < self.rates[tool]
        self.view.observe(tool, success, context_class=self.task_type, latency_ms=1_000.0)
        self.history.append(tool)
        return tool

    def run(self, steps: int) -> list[str]:
        """Act ``steps`` times; returns the tools chosen."""
        return [self.act() for _ in range(steps)]


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting on a Monday morning."""
    return FakeClock()


@pytest.fixture
def make_clock() -> Callable[..., FakeClock]:
    """Build more fake clocks (e.g. one per simulated run)."""
    return FakeClock


@pytest.fixture
def view(clock: FakeClock) -> ReliabilityView:
    """A view with the default configuration and the fake clock."""
    return ReliabilityView(LearningConfig(), clock=clock)


@pytest.fixture
def make_agent() -> Callable[..., Agent]:
    """Build simulated agents: ``make_agent(view, clock, {"a": 0.9}, seed=1)``."""
    return Agent
