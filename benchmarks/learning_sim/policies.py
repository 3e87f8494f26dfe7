"""The policies compared, and the registry the runner builds them from.

Each factory takes the run's :class:`~learning_sim.streams.Stream` (only the oracle reads the
truth in it; the others read the scenario's favourite and objective) and returns a fresh
policy seeded from the stream, so a run is reproducible.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from learning_sim.baselines import BASELINES
from learning_sim.decisions import Decision, Policy, Result
from learning_sim.priors002 import Priors002
from learning_sim.recipe000 import Recipe000
from learning_sim.reward import Objective
from learning_sim.streams import Stream

__all__ = [
    "BASE_POLICIES",
    "LABELS",
    "STANDARD",
    "FixedPrior",
    "Oracle",
    "ToolwisePolicy",
    "UniformRandom",
    "build",
]


class UniformRandom:
    """Any available tool, uniformly."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def choose(self, decision: Decision) -> str:
        return self._rng.choice(decision.tools)

    def learn(self, decision: Decision, tool: str, result: Result) -> None:
        pass


class FixedPrior:
    """Always the model's favourite (its training prior), whatever happens."""

    def __init__(self, favourite: str) -> None:
        self._favourite = favourite

    def choose(self, decision: Decision) -> str:
        return self._favourite if self._favourite in decision.tools else decision.tools[0]

    def learn(self, decision: Decision, tool: str, result: Result) -> None:
        pass


class Oracle:
    """Knows every tool's true expected reward at every decision; picks the best."""

    def __init__(self, stream: Stream) -> None:
        self._expected = np.nan_to_num(stream.expected, nan=-np.inf)
        self._tools = stream.scenario.tools

    def choose(self, decision: Decision) -> str:
        return self._tools[int(np.argmax(self._expected[decision.index]))]

    def learn(self, decision: Decision, tool: str, result: Result) -> None:
        pass


class ToolwisePolicy:
    """toolwise's :class:`~toolwise.learning.ReliabilityView`, fed every outcome.

    Thompson sampling with the scenario's objective; the simulated clock drives ``now=``,
    the outcomes' timestamps and the view's clock, so decay and time buckets see sim time.

    Args:
        objective: the scenario's objective; toolwise is asked for the same weights.
        seed: base of the per-decision ``seed=`` that makes each ranking reproducible.
        config: ``LearningConfig`` fields to change; ``None`` keeps the default config.
        similarity: task-type name similarity, as a ``Toolwise`` would give its view.
    """

    def __init__(
        self,
        objective: Objective,
        seed: int,
        config: Mapping[str, Any] | None = None,
        similarity: Callable[[str, str], float] | None = None,
    ) -> None:
        from toolwise.learning import LearningConfig, ReliabilityView

        self._now: datetime | None = None
        self.view = ReliabilityView(
            LearningConfig(**dict(config or {})), similarity, clock=self._clock
        )
        self._objective = {
            "success": objective.success,
            "speed": objective.speed,
            "cost": objective.cost,
        }
        self._seed = seed

    def _clock(self) -> datetime:
        assert self._now is not None, "the view read its clock before the first decision"
        return self._now

    def choose(self, decision: Decision) -> str:
        self._now = decision.time
        ranked = self.view.recommend(
            task_type=decision.context,
            tools=decision.tools,
            objective=self._objective,
            strategy="thompson",
            seed=(self._seed * 1_000_003 + decision.index) % 2**32,
            now=decision.time,
        )
        return ranked[0].tool

    def learn(self, decision: Decision, tool: str, result: Result) -> None:
        from toolwise.models import ToolOutcome

        self._now = decision.time
        self.view.observe_outcome(
            ToolOutcome(
                tool=tool,
                task_type=decision.context,
                outcome="success" if result.success else "failure",
                latency_ms=result.latency_ms,
                cost=result.cost,
                timestamp=decision.time,
            )
        )


Factory = Callable[[Stream, Mapping[str, Any]], Policy]
"""Builds a policy for one run; the mapping holds ``LearningConfig`` fields (custom toolwise)."""


def _rng(stream: Stream, name: str) -> random.Random:
    return random.Random(f"{stream.scenario.name}/{stream.seed}/{name}")


def _seed(stream: Stream) -> int:
    return stream.seed * 7919 + len(stream.scenario.name)


def _toolwise(config: Mapping[str, Any] | None) -> Factory:
    return lambda stream, _: ToolwisePolicy(
        stream.scenario.objective, _seed(stream), config, stream.scenario.similarity
    )


FACTORIES: dict[str, Factory] = {
    "random": lambda stream, _: UniformRandom(_rng(stream, "random")),
    "fixed_prior": lambda stream, _: FixedPrior(stream.scenario.favourite),
    "recipe_000": lambda stream, _: Recipe000(
        _rng(stream, "recipe_000"), stream.scenario.objective
    ),
    "priors_002": lambda stream, _: Priors002(_rng(stream, "priors_002")),
    "toolwise": _toolwise(None),
    "toolwise_buckets": _toolwise({"time_buckets": "weekday_daypart"}),
    "toolwise_custom": lambda stream, custom: ToolwisePolicy(
        stream.scenario.objective, _seed(stream), custom, stream.scenario.similarity
    ),
    "oracle": lambda stream, _: Oracle(stream),
}


def _baseline(name: str) -> Factory:
    make = BASELINES[name]
    return lambda stream, _: make(
        stream.scenario.objective, len(stream), _seed(stream) + zlib.crc32(name.encode())
    )


FACTORIES.update({name: _baseline(name) for name in BASELINES})

STANDARD = tuple(BASELINES)
"""The standard bandit baselines (``baselines.py``), compared with toolwise per scenario."""

BASE_POLICIES = (
    "random",
    "fixed_prior",
    "recipe_000",
    "priors_002",
    *STANDARD,
    "toolwise",
    "oracle",
)

LABELS = {
    "random": "uniform random",
    "fixed_prior": "fixed model prior",
    "recipe_000": "000 recipe",
    "priors_002": "002 priors + rule",
    "toolwise": "toolwise (default)",
    "toolwise_buckets": "toolwise (weekday_daypart)",
    "toolwise_custom": "toolwise (custom config)",
    "oracle": "oracle",
    "thompson": "Thompson (Beta 1,1)",
    "dts_0.99": "discounted TS γ=0.99",
    "dts_0.995": "discounted TS γ=0.995",
    "sw_ucb": "sliding-window UCB",
    "glr_klucb": "GLR-klUCB (local)",
    "bayes_ucb": "Bayes-UCB",
    "eps_recency": "ε-greedy w/ recency",
}


def build(name: str, stream: Stream, custom: Mapping[str, Any] | None = None) -> Policy:
    """A fresh policy ``name`` for one run of ``stream`` (``custom``: see :data:`Factory`)."""
    return FACTORIES[name](stream, custom or {})
