"""The levels at which the strategies read each posterior, and the standard normal's
quantiles there (the speed part of a score is read at the same level as the success rate).

Bayes-UCB reads every tool at ``1 - 1/(t+1)`` (:func:`ucb_level`), as does a due re-try's
index (:func:`retry_index`). Shared Thompson reads one drawn level plus the strata of its
propensity grid (:func:`propensity_grid`), and remembers each posterior's quantiles at the
grid's two ends (:func:`grid_memory`, named by :func:`decision_levels`).
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np

from toolwise.learning.arms import Arms, Vector
from toolwise.learning.config import LearningConfig
from toolwise.learning.grid import PropensityGrid
from toolwise.learning.models import Strategy
from toolwise.learning.posterior import (
    RememberedQuantiles,
    interval_ends,
    remembered_quantiles,
    upper_quantiles,
)

__all__ = [
    "GRID_SHARE",
    "decision_levels",
    "grid_ends",
    "grid_memory",
    "normal_quantile",
    "normal_quantiles",
    "propensity_grid",
    "retry_index",
    "ucb_level",
]

_STANDARD_NORMAL = NormalDist()  # its quantile is scipy's ndtri, without importing scipy

GRID_SHARE = 8  # shared draws: propensity on propensity_samples // 8 stratified levels


def ucb_level(arms: Arms) -> float:
    """Bayes-UCB's quantile level, ``1 - 1/(t+1)`` with ``t`` the candidates' evidence + 1."""
    return 1.0 - 1.0 / (arms.evidence + 2.0)


def normal_quantile(level: float) -> float:
    """The standard normal's ``level`` quantile (scipy's ``ndtri``, ±inf at 0 and 1)."""
    if not 0.0 < level < 1.0:
        return math.inf if level >= 1.0 else -math.inf
    return _STANDARD_NORMAL.inv_cdf(level)


def normal_quantiles(levels: np.ndarray) -> np.ndarray:
    """:func:`normal_quantile` of each level (a grid of at most a few hundred levels)."""
    flat = [normal_quantile(float(level)) for level in levels.ravel()]
    return np.asarray(flat, dtype=np.float64).reshape(levels.shape)


def retry_index(arms: Arms, due: list[int]) -> Vector:
    """The Bayes-UCB index of each due tool's record before its break."""
    pairs = [arms.retry[i] for i in due]
    alpha = np.array([pair[0] for pair in pairs if pair is not None])
    beta = np.array([pair[1] for pair in pairs if pair is not None])
    return upper_quantiles(alpha, beta, ucb_level(arms))


@functools.cache
def propensity_grid(grid: int) -> PropensityGrid:
    """The propensity grid of ``grid`` strata (one per size, so its memory is shared)."""
    return PropensityGrid(grid, normal_quantiles)


@functools.cache
def grid_ends(grid: int) -> tuple[tuple[float, ...], Vector]:
    """The levels of the grid's lowest and highest strata, and the standard normal's
    quantiles there."""
    strata = propensity_grid(grid)
    ends = np.array([0, -1])
    levels: tuple[float, ...] = tuple(strata.levels[ends].tolist())
    return levels, strata.normals[ends]


@functools.cache
def grid_memory(grid: int) -> tuple[RememberedQuantiles, list[float]]:
    """Where shared Thompson remembers each posterior's quantiles at the grid's ends (and
    the credible interval's, see :func:`decision_levels`), and the normal's at the ends."""
    levels, normals = grid_ends(grid)
    return remembered_quantiles((*levels, *interval_ends())), normals.tolist()


def decision_levels(config: LearningConfig, strategy: Strategy) -> tuple[float, ...]:
    """The fixed levels ``strategy`` reads every posterior at, besides its credible
    interval's ends: shared Thompson's grid ends, none for the others.

    Both are remembered per posterior in one memory (``posterior.remembered_quantiles``),
    filled by one quantile call with the level drawn: a decision's quantiles are most of
    its arithmetic, and they change whenever a tool learns something.
    """
    grid = config.propensity_samples // GRID_SHARE
    if strategy != "thompson" or config.thompson_draws != "shared" or not grid:
        return ()
    return grid_ends(grid)[0]
