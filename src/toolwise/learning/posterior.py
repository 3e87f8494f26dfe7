"""Beta–Bernoulli arithmetic: confidence labels, exact credible intervals, upper quantiles.

The quantiles come from :mod:`toolwise.learning.quantile`: toolwise's own until scipy has
loaded on a background thread, so neither ``import toolwise`` nor the first decision pays for
importing scipy (``docs/performance.md``, cold start). Recording an outcome never asks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np

from toolwise.learning.models import Confidence
from toolwise.learning.quantile import betaincinv

__all__ = [
    "CREDIBLE_LEVEL",
    "RememberedQuantiles",
    "beta_quantiles",
    "confidence_of",
    "credible_intervals",
    "upper_quantiles",
]

CREDIBLE_LEVEL = 0.9
_MEDIUM = 5.0
_HIGH = 20.0
_REMEMBERED = 20_000  # posteriors whose quantiles are kept, per set of levels


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
    return [
        (low, high)
        for low, high in (row.tolist() for row in _interval_ends(level).rows(alpha, beta))
    ]


@functools.cache
def _interval_ends(level: float) -> RememberedQuantiles:
    """The quantiles that bound a ``level`` credible interval, remembered per posterior."""
    tail = (1.0 - level) / 2.0
    return RememberedQuantiles(np.array([tail, 1.0 - tail]))


class RememberedQuantiles:
    """The quantiles of Beta posteriors at fixed ``levels``, remembered per ``(alpha, beta)``.

    A tool's posterior stays the same from one decision to the next until it learns
    something (nothing decays by default), and its quantiles are most of a recommend's
    arithmetic. Thread-safe (plain dict operations, atomic under the GIL); emptied when it
    holds ``size`` posteriors.
    """

    def __init__(self, levels: np.ndarray, size: int = _REMEMBERED) -> None:
        self.levels = levels
        self._size = size
        self._rows: dict[tuple[float, float], np.ndarray] = {}

    def rows(self, alpha: Iterable[float], beta: Iterable[float]) -> list[np.ndarray]:
        """One read-only row of quantiles per ``(alpha, beta)`` pair; the unknown ones are
        computed in one call."""
        keys = [(float(a), float(b)) for a, b in zip(alpha, beta, strict=True)]
        known = self._rows
        found = [known.get(key) for key in keys]
        missing = [key for key, row in zip(keys, found, strict=True) if row is None]
        if not missing:
            return found  # type: ignore[return-value]  # no None left
        computed = betaincinv(
            np.array([key[0] for key in missing])[:, None],
            np.array([key[1] for key in missing])[:, None],
            self.levels[None, :],
        )
        computed.flags.writeable = False
        new = dict(zip(missing, computed, strict=True))
        if len(known) + len(new) > self._size:
            known.clear()
        known.update(new)
        return [row if row is not None else new[key] for key, row in zip(keys, found, strict=True)]


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
