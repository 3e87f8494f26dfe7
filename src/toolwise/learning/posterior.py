"""Beta–Bernoulli arithmetic: confidence labels, exact credible intervals, upper quantiles.

The quantiles come from :mod:`toolwise.learning.quantile`: toolwise's own until scipy has
loaded on a background thread, so neither ``import toolwise`` nor the first decision pays for
importing scipy (``docs/performance.md``, cold start). Recording an outcome never asks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from toolwise.learning.models import Confidence
from toolwise.learning.quantile import betaincinv

__all__ = [
    "CREDIBLE_LEVEL",
    "beta_quantiles",
    "confidence_of",
    "credible_intervals",
    "upper_quantiles",
]

CREDIBLE_LEVEL = 0.9
_MEDIUM = 5.0
_HIGH = 20.0


def confidence_of(effective_observations: float) -> Confidence:
    """``low`` below 5 effective observations, ``medium`` from 5 to 20, ``high`` from 20."""
    if effective_observations >= _HIGH:
        return "high"
    if effective_observations >= _MEDIUM:
        return "medium"
    return "low"


def credible_intervals(
    alpha: Sequence[float], beta: Sequence[float], level: float = CREDIBLE_LEVEL
) -> list[tuple[float, float]]:
    """Exact equal-tailed credible intervals of Beta(alpha, beta), vectorised.

    Returns:
        One ``(low, high)`` per pair; the posterior mean always lies inside.
    """
    if not alpha:
        return []
    a = np.asarray(alpha, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    tail = (1.0 - level) / 2.0
    low, high = betaincinv(a, b, np.array([[tail], [1.0 - tail]]))  # both ends in one call
    return [(float(lo), float(hi)) for lo, hi in zip(low, high, strict=True)]


def upper_quantiles(
    alpha: np.ndarray[tuple[int], np.dtype[np.float64]],
    beta: np.ndarray[tuple[int], np.dtype[np.float64]],
    q: float,
) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """The ``q``-quantile of each Beta(alpha, beta): the optimistic index of Bayes-UCB."""
    return betaincinv(alpha, beta, q)


def beta_quantiles(alpha: np.ndarray, beta: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The quantiles of Beta(alpha, beta) at ``levels``, broadcast (shared Thompson draws)."""
    return betaincinv(alpha, beta, levels)
