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
_REMEMBERED = 50_000
# Intervals per (alpha, beta, level): a posterior stays the same from one decision to the next
# until its tool learns something (nothing decays by default). Plain dict operations, atomic
# under the GIL; emptied when full.
_INTERVALS: dict[tuple[float, float, float], tuple[float, float]] = {}


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
    """Exact equal-tailed credible intervals of Beta(alpha, beta), vectorised, remembered.

    Returns:
        One ``(low, high)`` per pair; the posterior mean always lies inside.
    """
    keys = [(float(a), float(b), level) for a, b in zip(alpha, beta, strict=True)]
    found = [_INTERVALS.get(key) for key in keys]
    missing = [key for key, interval in zip(keys, found, strict=True) if interval is None]
    if missing:
        a = np.array([key[0] for key in missing])
        b = np.array([key[1] for key in missing])
        tail = (1.0 - level) / 2.0
        low, high = betaincinv(a, b, np.array([[tail], [1.0 - tail]]))  # both ends at once
        new = {key: (float(lo), float(hi)) for key, lo, hi in zip(missing, low, high, strict=True)}
        if len(_INTERVALS) + len(new) > _REMEMBERED:
            _INTERVALS.clear()
        _INTERVALS.update(new)
        found = [interval or new[key] for key, interval in zip(keys, found, strict=True)]
    return found  # type: ignore[return-value]  # every None was filled in


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
