"""The tool-priors API (seed 002) with its routing rule, made into a complete policy.

The seed gives the estimate and a guard, not a chooser:

* ``observe(tool, success, contextClass)`` updates a Beta(1, 1) prior per tool × context;
  ``rate`` is the posterior mean; confidence is ``low`` below 5 observations, ``medium``
  from 5 to 20, ``high`` from 20.
* "If ``confidence === 'low'`` and ``rate < 0.3``, consider an alternative."

Completed as the benchmark brief asks: among the available tools, drop those the rule flags
(low confidence and rate < 0.3); pick the highest rate among the rest (all of them if every
tool is flagged); break ties uniformly at random. No decay, no latency, no cost: the seed's
priors know only success, so under any objective the policy maximises the success rate.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from learning_sim.decisions import Decision, Result

__all__ = ["Priors002", "ToolPriorSummary", "routable"]

Confidence = Literal["low", "medium", "high"]
LOW_BELOW = 5
HIGH_FROM = 20
ROUTE_AWAY_BELOW = 0.3


@dataclass(frozen=True, slots=True)
class ToolPriorSummary:
    """The part of the seed's ``ToolPriorSummary`` the routing rule reads."""

    tool: str
    context_class: str
    rate: float
    confidence: Confidence
    observations: float
    alpha: float
    beta: float


def _confidence(observations: float) -> Confidence:
    if observations < LOW_BELOW:
        return "low"
    return "medium" if observations < HIGH_FROM else "high"


def routable(prior: ToolPriorSummary) -> bool:
    """False when the seed's rule says to consider an alternative."""
    return not (prior.confidence == "low" and prior.rate < ROUTE_AWAY_BELOW)


class Priors002:
    """Beta(1, 1) per tool × context, greedy on the rate, routed away from flagged tools.

    Args:
        rng: breaks ties between equally rated tools.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._counts: dict[tuple[str, str], list[float]] = {}  # [alpha, beta, observations]

    def observe(
        self, tool: str, success: bool, context_class: str = "", weight: float = 1.0
    ) -> ToolPriorSummary:
        """``tools.observe``: one Bernoulli outcome; returns the updated summary."""
        entry = self._counts.setdefault((tool, context_class), [1.0, 1.0, 0.0])
        entry[0 if success else 1] += weight
        entry[2] += weight
        return self.prior(tool, context_class)

    def prior(self, tool: str, context_class: str = "") -> ToolPriorSummary:
        """The current summary (Beta(1, 1) for a tool never observed here)."""
        alpha, beta, n = self._counts.get((tool, context_class), (1.0, 1.0, 0.0))
        return ToolPriorSummary(
            tool=tool,
            context_class=context_class,
            rate=alpha / (alpha + beta),
            confidence=_confidence(n),
            observations=n,
            alpha=alpha,
            beta=beta,
        )

    def route(self, tools: Sequence[str], context_class: str) -> str:
        """The highest-rate tool the rule does not flag (ties at random)."""
        priors = [self.prior(tool, context_class) for tool in tools]
        candidates = [p for p in priors if routable(p)] or priors
        top = max(p.rate for p in candidates)
        return self._rng.choice([p.tool for p in candidates if p.rate == top])

    # the Policy protocol

    def choose(self, decision: Decision) -> str:
        return self.route(decision.tools, decision.context)

    def learn(self, decision: Decision, tool: str, result: Result) -> None:
        self.observe(tool, result.success, decision.context)
