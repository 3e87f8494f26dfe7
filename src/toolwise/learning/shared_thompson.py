"""Thompson sampling with one shared level: every tool read at the same quantile of its
posterior, the level drawn once per decision (``thompson_draws="shared"``, the default).

The tools' propensities are their shares of the strata of a stratified grid of levels
(:mod:`toolwise.learning.grid`), read through the memory of ``learning.levels``.
"""

from __future__ import annotations

import numpy as np

from toolwise.learning.arms import Arms, Choice, Matrix, Vector
from toolwise.learning.config import LearningConfig
from toolwise.learning.grid import PropensityGrid, win_shares
from toolwise.learning.levels import (
    GRID_SHARE,
    grid_memory,
    normal_quantile,
    normal_quantiles,
    propensity_grid,
    retry_index,
)
from toolwise.learning.ordering import exploration, rank
from toolwise.learning.posterior import beta_quantiles

__all__ = ["shared_thompson"]


def _shared_scores(
    arms: Arms, levels: Vector, normals: Vector | None = None
) -> tuple[Matrix, Matrix, Matrix]:
    """Success values, speed values and scores of every tool at each level (tools × levels).

    ``normals``: the standard normal's quantiles at ``levels``, when known already.
    """
    column = levels[None, :]
    success = beta_quantiles(arms.alpha[:, None], arms.beta[:, None], column)
    return _scored(arms, success, normal_quantiles(column) if normals is None else normals)


def _scored(arms: Arms, quantiles: Matrix, normals: np.ndarray) -> tuple[Matrix, Matrix, Matrix]:
    """:func:`_shared_scores` from the tools' Beta ``quantiles`` at the levels (tools ×
    levels) and the standard normal's ``normals`` there; ``quantiles`` is updated in place."""
    success = quantiles
    due = arms.due()
    if due:
        success[due] = np.maximum(success[due], retry_index(arms, due)[:, None])
    normal = normals.reshape(1, -1)
    speed = np.clip(arms.speed_mean[:, None] + arms.speed_sd[:, None] * normal, 0.0, 1.0)
    scores = arms.weight * success + arms.exploring(speed)
    return success, speed, scores


def _contest(arms: Arms) -> bytes:
    """Everything the tools' scores on the propensity grid depend on, as one key."""
    parts = [arms.alpha, arms.beta, arms.speed_mean, arms.speed_sd, arms.cost, arms.speed_known]
    if arms.optimistic is not None:
        parts.append(arms.optimistic)
    shared = (arms.weight, arms.speed_weight, arms.optimistic_cost, arms.optimistic is None)
    due = arms.retry if arms.due() else ()
    evidence = arms.evidence if due else None  # the re-try index's horizon
    # A repr holds no NUL byte, and the tool count and ``optimistic`` fix the parts' lengths.
    head = repr((len(arms.alpha), shared, due, evidence)).encode() + b"\0"
    return b"".join([head, *(part.tobytes() for part in parts)])


def _grid_wins(arms: Arms, grid: PropensityGrid, ends: Matrix) -> Vector:
    """Per tool, the grid's strata at which it wins (see :meth:`PropensityGrid.wins`);
    ``ends``: the tools' scores at the first and last strata, computed already."""

    def score(columns: np.ndarray) -> Matrix:
        return _shared_scores(arms, grid.levels[columns], grid.normals[columns])[2]

    return grid.wins(_contest(arms), score, ends=ends)


def shared_thompson(arms: Arms, rng: np.random.Generator, config: LearningConfig) -> Choice:
    """Thompson sampling with one shared level: every tool read at the same quantile.

    The level is ``u = max(U₁, U₂)`` of two uniforms (density ``2u``). Read at a common
    level, a tool with a wide posterior beats a well-known leader only when the level is
    high *and* its upper quantile clears the leader's at that level — the comparison
    Bayes-UCB makes, at a random level instead of ``1 − 1/t``. Independent draws also let a
    newcomer win when the leader's draw happens to be low, which spends calls on tools that
    are not better without making a change any easier to see. Measured on the benchmark's
    development seeds (``docs/ranking.md`` §3): 14 % less regret than independent draws in
    stationary worlds and 29 % less in the new-tool family, about the same in the others.

    Propensities stay real probabilities: the chance of each tool coming first is the
    share of levels at which it wins, computed on a stratified grid of
    ``propensity_samples // 8`` levels (:mod:`toolwise.learning.grid`) plus the level actually
    drawn (so the chosen tool never gets a propensity of zero).
    """
    level = float(np.sqrt(rng.random()))  # max of two uniforms: P(u <= x) = x²
    grid = config.propensity_samples // GRID_SHARE
    strata = propensity_grid(grid) if grid else None
    # Scores at the level drawn and at the grid's two ends, computed together.
    k = len(arms.alpha)
    normals = [normal_quantile(level)]
    if strata is None:
        quantiles = beta_quantiles(arms.alpha[:, None], arms.beta[:, None], np.array([[level]]))
    else:
        remembered, end_normals = grid_memory(grid)
        quantiles = remembered.after(arms.alpha, arms.beta, level)[:, :3]
        normals.extend(end_normals)
    at_levels = _scored(arms, quantiles, np.array(normals))
    success: Vector = at_levels[0][:, 0]
    speed: Vector = at_levels[1][:, 0]
    scores: Vector = at_levels[2][:, 0]
    order = rank(scores, rng)
    explored = exploration(arms, order)
    propensity: list[float | None]
    if k == 1:
        propensity = [1.0]
    elif strata is None:
        propensity = [None] * k
    else:
        # Scores rise with the level, so a tool whose score at the top stratum is below some
        # tool's score at the bottom one never wins: only the others are computed (and a
        # lone contender wins every stratum).
        ends = at_levels[2][:, 1:]
        contenders = np.flatnonzero(ends[:, 1] >= ends[:, 0].max())
        counts = np.zeros(k)
        if len(contenders) == 1:
            counts[contenders[0]] = float(grid)
        elif len(contenders):
            counts[contenders] = _grid_wins(arms.among(contenders), strata, ends[contenders])
        else:  # NaN scores: every tool at -inf, the strata shared evenly
            counts = win_shares(np.full((k, grid), -np.inf))
        counts[order[0]] += 1.0  # the level drawn counts as one more stratum
        propensity = [c / (grid + 1) for c in counts.tolist()]
    return Choice(success, scores, order, explored, propensity, arms.scored_speed(speed))
