"""What a tool call is worth: latency models, a tool's behaviour, and the objective.

A call's realised reward is ``w_success · success + w_speed · speed + w_cost · cost_score`` with
``speed = max(0, 1 - latency / 60 s)`` and ``cost_score = 1 / (1 + cost / 1.0)`` — the
normalisations toolwise's default ``LearningConfig`` uses, so the benchmark scores every policy
with the objective toolwise is asked to optimise. A tool's *expected* reward is the exact
expectation of that per-call reward under its behaviour (closed form for log-normal latency):
regret is measured against it, never against a noisy draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "BALANCED",
    "COST",
    "Behaviour",
    "Latency",
    "Objective",
    "cost_score",
    "expected_reward",
    "realised_reward",
    "speed_of",
]

CEILING_MS = 60_000.0
COST_REFERENCE = 1.0


def _phi(x: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _lognormal_speed(median_ms: float, sigma: float, ceiling_ms: float) -> float:
    """``E[max(0, 1 - L / c)]`` for ``L ~ LogNormal(ln median, sigma)``.

    ``P(L < c) - E[L · 1{L < c}] / c`` with ``E[L · 1{L < c}] = e^(μ+σ²/2) Φ(a - σ)``.
    """
    if sigma <= 0.0:
        return max(0.0, 1.0 - median_ms / ceiling_ms)
    mu = math.log(median_ms)
    a = (math.log(ceiling_ms) - mu) / sigma
    return _phi(a) - math.exp(mu + sigma * sigma / 2.0) * _phi(a - sigma) / ceiling_ms


@dataclass(frozen=True, slots=True)
class Latency:
    """Log-normal latency, optionally heavy-tailed: a share of calls come from a slow mode.

    Attributes:
        median_ms: median of the main mode.
        sigma: log-scale spread of the main mode.
        tail_share: probability that a call hangs in the slow mode (0 for none).
        tail_median_ms: median of the slow mode (e.g. a timeout).
        tail_sigma: log-scale spread of the slow mode.
    """

    median_ms: float
    sigma: float = 0.5
    tail_share: float = 0.0
    tail_median_ms: float = 0.0
    tail_sigma: float = 0.3

    def sample(self, z: float, u_tail: float) -> float:
        """A latency from a standard normal ``z`` and a uniform ``u_tail`` (drawn upstream)."""
        if u_tail < self.tail_share:
            return self.tail_median_ms * math.exp(self.tail_sigma * z)
        return self.median_ms * math.exp(self.sigma * z)

    def expected_speed(self, ceiling_ms: float = CEILING_MS) -> float:
        """Exact ``E[max(0, 1 - latency / ceiling)]``."""
        main = _lognormal_speed(self.median_ms, self.sigma, ceiling_ms)
        if self.tail_share <= 0.0:
            return main
        tail = _lognormal_speed(self.tail_median_ms, self.tail_sigma, ceiling_ms)
        return (1.0 - self.tail_share) * main + self.tail_share * tail


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What one tool does at one moment: success probability, latencies, price per call.

    Failures have their own latency (an SSH timeout takes longer than a deploy).
    """

    p: float
    success_latency: Latency
    failure_latency: Latency
    cost: float = 0.0


@dataclass(frozen=True, slots=True)
class Objective:
    """Weights of success, speed and cost; ``name`` is the toolwise preset that matches."""

    name: str
    success: float
    speed: float
    cost: float = 0.0


BALANCED = Objective("balanced", 0.7, 0.3, 0.0)
COST = Objective("cost", 0.5, 0.1, 0.4)
SUCCESS = Objective("success", 1.0, 0.0, 0.0)
"""Only success counts: regret in lost successes per decision."""


def speed_of(latency_ms: float) -> float:
    """``max(0, 1 - latency / 60 s)``: the recipe's and toolwise's speed normalisation."""
    return max(0.0, 1.0 - latency_ms / CEILING_MS)


def cost_score(cost: float) -> float:
    """``1 / (1 + cost / reference)``: 1 when free, 0.5 at the reference price."""
    return 1.0 / (1.0 + max(cost, 0.0) / COST_REFERENCE)


def realised_reward(success: bool, latency_ms: float, cost: float, objective: Objective) -> float:
    """The reward of one call as it happened."""
    return (
        objective.success * float(success)
        + objective.speed * speed_of(latency_ms)
        + objective.cost * cost_score(cost)
    )


@lru_cache(maxsize=4096)
def expected_reward(behaviour: Behaviour, objective: Objective) -> float:
    """The exact expectation of :func:`realised_reward` for one call of ``behaviour``."""
    p = behaviour.p
    speed = (
        p * behaviour.success_latency.expected_speed()
        + (1.0 - p) * behaviour.failure_latency.expected_speed()
    )
    return (
        objective.success * p
        + objective.speed * speed
        + objective.cost * cost_score(behaviour.cost)
    )
