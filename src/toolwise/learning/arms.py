"""What a strategy decides from and what it decides: a decision's candidate tools
(:class:`Arms`) and its ranking of them (:class:`Choice`).

Every strategy (``learning.strategies``) has the signature :data:`StrategyFn`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from toolwise.learning.config import LearningConfig
from toolwise.learning.scoring import NEUTRAL

__all__ = ["Arms", "Choice", "Matrix", "StrategyFn", "Vector"]

Vector = np.ndarray[tuple[int], np.dtype[np.float64]]
Matrix = np.ndarray[tuple[int, int], np.dtype[np.float64]]


class Arms(NamedTuple):
    """The candidate tools of one decision, in the caller's order.

    A score is ``weight · success + speed_weight · speed + cost``. The success rate has a
    Beta posterior; the speed score (``max(0, 1 − latency / ceiling)``, averaged over the
    tool's recent calls) a normal one around its mean, with the variance of a mean of ``n``
    calls (plus 0.01 per call, so one fast call is not taken as certainty); cost is fixed.

    Attributes:
        alpha: success posterior pseudo-successes per tool.
        beta: success posterior pseudo-failures per tool.
        speed_mean: mean speed score per tool (0 when unknown).
        speed_sd: standard deviation of that mean (0 when unknown).
        speed_known: whether the tool has any latency on record.
        cost: the weighted cost score per tool (unknown: neutral).
        weight: the normalised weight of success in the score.
        speed_weight: the normalised weight of speed.
        evidence: total effective observations of the candidates here (UCB's horizon).
        optimistic: per tool, whether exploring strategies score its unknown speed and cost
            at their best (a tool never called here); ``None`` when no tool is.
        optimistic_cost: the weighted cost score at its best, for optimistic tools.
        retry: per tool, the ``(alpha, beta)`` of its record before a break when a re-try
            is due, else ``None``; an empty tuple when no tool is due.
    """

    alpha: Vector
    beta: Vector
    speed_mean: Vector
    speed_sd: Vector
    speed_known: np.ndarray[tuple[int], np.dtype[np.bool_]]
    cost: Vector
    weight: float
    speed_weight: float
    evidence: float
    optimistic: np.ndarray[tuple[int], np.dtype[np.bool_]] | None = None
    optimistic_cost: float = 0.0
    retry: tuple[tuple[float, float] | None, ...] = ()

    @property
    def mean(self) -> Vector:
        """Posterior mean success rate per tool."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def speed(self) -> Vector:
        """Posterior mean speed score per tool (neutral 0.5 when unknown)."""
        return np.where(self.speed_known, self.speed_mean, NEUTRAL)

    @property
    def fixed(self) -> Vector:
        """The speed and cost part of each score at the posterior mean (unknowns neutral)."""
        return self.speed_weight * self.speed + self.cost

    def exploring(self, speed: np.ndarray) -> np.ndarray:
        """The speed and cost part with sampled ``speed``; untried tools at their best.

        ``speed`` is one value per tool, or a ``(tools, draws)`` matrix of draws.
        """
        column = (slice(None), None) if speed.ndim == 2 else (slice(None),)
        part = self.speed_weight * np.where(self.speed_known[column], speed, NEUTRAL)
        part = part + self.cost[column]
        if self.optimistic is not None:
            best = self.speed_weight + self.optimistic_cost
            part = np.where(self.optimistic[column], best, part)
        return np.asarray(part)

    def scored_speed(self, speed: Vector) -> Vector:
        """The speed value each tool is scored with, given exploring draws ``speed``."""
        used = np.where(self.speed_known, speed, NEUTRAL)
        if self.optimistic is not None:
            used = np.where(self.optimistic, 1.0, used)
        return np.asarray(used)

    def due(self) -> list[int]:
        """Indices of the tools whose re-try is due."""
        return [i for i, pair in enumerate(self.retry) if pair is not None]

    def among(self, tools: np.ndarray) -> Arms:
        """These arms restricted to ``tools`` (indices), in that order."""
        return Arms(
            alpha=self.alpha[tools],
            beta=self.beta[tools],
            speed_mean=self.speed_mean[tools],
            speed_sd=self.speed_sd[tools],
            speed_known=self.speed_known[tools],
            cost=self.cost[tools],
            weight=self.weight,
            speed_weight=self.speed_weight,
            evidence=self.evidence,
            optimistic=None if self.optimistic is None else self.optimistic[tools],
            optimistic_cost=self.optimistic_cost,
            retry=tuple(self.retry[i] for i in tools.tolist()) if self.retry else (),
        )


class Choice(NamedTuple):
    """A strategy's decision: success and speed values, scores, ranking, exploration,
    propensities."""

    success: Vector
    scores: Vector
    order: list[int]
    explored: list[bool]
    propensity: list[float | None]
    speed: Vector


StrategyFn = Callable[[Arms, np.random.Generator, LearningConfig], Choice]
