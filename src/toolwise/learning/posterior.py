"""Beta–Bernoulli arithmetic: confidence labels, exact credible intervals, upper quantiles.

scipy is used only here and only off the hot path (``priors()``, explanations, Bayes-UCB);
recording an outcome never calls it. It is imported on the first interval asked for, not with
this module: ``import toolwise`` need not pay for it (``docs/performance.md``, cold start).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from toolwise.learning.models import Confidence

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


def _betaincinv(a: Any, b: Any, q: Any) -> Any:
    """scipy's inverse regularised incomplete beta function (imported once, on first use)."""
    from scipy.special import betaincinv

    return betaincinv(a, b, q)


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
    low = _betaincinv(a, b, tail)
    high = _betaincinv(a, b, 1.0 - tail)
    return [(float(lo), float(hi)) for lo, hi in zip(low, high, strict=True)]


def upper_quantiles(
    alpha: np.ndarray[tuple[int], np.dtype[np.float64]],
    beta: np.ndarray[tuple[int], np.dtype[np.float64]],
    q: float,
) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """The ``q``-quantile of each Beta(alpha, beta): the optimistic index of Bayes-UCB."""
    return np.asarray(_betaincinv(alpha, beta, q), dtype=np.float64)


def beta_quantiles(alpha: np.ndarray, beta: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The quantiles of Beta(alpha, beta) at ``levels``, broadcast (shared Thompson draws)."""
    return np.asarray(_betaincinv(alpha, beta, levels), dtype=np.float64)
