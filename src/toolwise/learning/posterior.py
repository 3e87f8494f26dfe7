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
    "interval_ends",
    "remembered_quantiles",
    "upper_quantiles",
]

CREDIBLE_LEVEL = 0.9
_MEDIUM = 5.0
_HIGH = 20.0
_REMEMBERED = 20_000  # posteriors whose quantiles are kept, per set of levels

Vector = np.ndarray[tuple[int], np.dtype[np.float64]]
Matrix = np.ndarray[tuple[int, int], np.dtype[np.float64]]


def confidence_of(effective_observations: float) -> Confidence:
    """``low`` below 5 effective observations, ``medium`` from 5 to 20, ``high`` from 20."""
    if effective_observations >= _HIGH:
        return "high"
    if effective_observations >= _MEDIUM:
        return "medium"
    return "low"


def credible_intervals(
    alpha: Sequence[float],
    beta: Sequence[float],
    level: float = CREDIBLE_LEVEL,
    *,
    beside: tuple[float, ...] = (),
) -> list[tuple[float, float]]:
    """Exact equal-tailed credible intervals of Beta(alpha, beta), vectorised, remembered.

    Args:
        beside: other levels remembered with the interval's ends (:func:`decision_levels`),
            so that what a decision reads at fixed levels is computed in one call.

    Returns:
        One ``(low, high)`` per pair; the posterior mean always lies inside.
    """
    rows = remembered_quantiles((*beside, *interval_ends(level))).rows(alpha, beta)
    return [(row[-2], row[-1]) for row in rows]


def interval_ends(level: float = CREDIBLE_LEVEL) -> tuple[float, float]:
    """The levels of the quantiles that bound a ``level`` credible interval."""
    tail = (1.0 - level) / 2.0
    return tail, 1.0 - tail


@functools.cache
def remembered_quantiles(levels: tuple[float, ...]) -> RememberedQuantiles:
    """The one memory of posteriors' quantiles at ``levels``, shared by all who read them."""
    return RememberedQuantiles(np.array(levels))


class RememberedQuantiles:
    """The quantiles of Beta posteriors at fixed ``levels``, remembered per ``(alpha, beta)``.

    A tool's posterior stays the same from one decision to the next until it learns
    something (nothing decays by default), and its quantiles are most of a recommend's
    arithmetic. Thread-safe (plain dict operations, atomic under the GIL); emptied when it
    holds ``size`` posteriors.
    """

    def __init__(self, levels: np.ndarray, size: int = _REMEMBERED) -> None:
        self.levels = levels
        self._level_list: list[float] = levels.tolist()
        self._size = size
        self._rows: dict[tuple[float, float], tuple[float, ...]] = {}

    def rows(self, alpha: Iterable[float], beta: Iterable[float]) -> list[tuple[float, ...]]:
        """One row of quantiles per ``(alpha, beta)`` pair; the unknown ones are computed in
        one call."""
        keys = [(float(a), float(b)) for a, b in zip(alpha, beta, strict=True)]
        known = self._rows
        found = [known.get(key) for key in keys]
        if None not in found:
            return found  # type: ignore[return-value]  # no None left
        missing = [key for key, row in zip(keys, found, strict=True) if row is None]
        computed = betaincinv(
            np.array([key[0] for key in missing])[:, None],
            np.array([key[1] for key in missing])[:, None],
            self.levels[None, :],
        )
        new = self._remember(missing, computed)
        return [row if row is not None else new[key] for key, row in zip(keys, found, strict=True)]

    def after(self, alpha: Vector, beta: Vector, level: float) -> Matrix:
        """Each posterior's quantile at ``level``, then its row (posteriors × 1 + levels).

        One quantile call either way: at ``level`` alone when every row is remembered, else
        at every level for every posterior (an agent that learns between two decisions has
        changed most of them, and a second call would cost more than the few known rows).
        """
        keys = list(zip(alpha.tolist(), beta.tolist(), strict=True))
        known = self._rows
        found = [known.get(key) for key in keys]
        if None not in found:
            quantiles = np.empty((len(keys), 1 + len(self.levels)))
            quantiles[:, 0] = betaincinv(alpha, beta, level)
            quantiles[:, 1:] = found
            return quantiles
        at = np.array([[level, *self._level_list]])
        quantiles = betaincinv(alpha[:, None], beta[:, None], at)
        missing = [key for key, row in zip(keys, found, strict=True) if row is None]
        if len(missing) == len(keys):  # the usual case when any is: all of them changed
            self._remember(missing, quantiles[:, 1:])
        else:
            self._remember(missing, quantiles[[row is None for row in found], 1:])
        return quantiles

    def _remember(
        self, keys: list[tuple[float, float]], rows: np.ndarray
    ) -> dict[tuple[float, float], tuple[float, ...]]:
        """Keep ``rows`` (one per key), emptying the memory first when it would overflow."""
        new = dict(zip(keys, map(tuple, rows.tolist()), strict=True))
        known = self._rows
        if len(known) + len(new) > self._size:
            known.clear()
        known.update(new)
        return new


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
