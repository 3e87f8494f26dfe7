"""How a success rate is read from each tool's posterior before the tools are scored.

One function per strategy, all with the same signature (:data:`StrategyFn`), registered in
:data:`STRATEGIES`. Each returns the success value it used per tool, the scores, the ranking,
which pick was exploratory, and the probability it had of putting each tool first (for
offline evaluation of logged decisions, Li et al. 2011).

* ``thompson`` — a draw from each posterior (Thompson sampling): explores in proportion to
  the chance a tool is best; the default.
* ``ucb`` — the posterior's ``1 - 1/(t+1)`` quantile (Bayes-UCB), ``t`` the evidence so far:
  deterministic optimism that shrinks as evidence grows.

Both exploring strategies score with :attr:`Arms.optimistic` (an untried tool's unknown speed
and cost at their best, so it can outrank a good incumbent), and give a tool whose re-try is
due (see ``recovery``) the better of its current value and the Bayes-UCB index of its record
before the break: it is re-tried exactly when its old self, read optimistically, would win —
a deterministic probe, not a lottery ticket.

* ``epsilon_greedy`` — the posterior mean; with probability ``epsilon`` one of the other tools
  is put first at random (the memory-server recipe's 10 % exploration).
* ``greedy`` — the posterior mean, never exploring: for explanations and evaluation.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from toolwise.learning.config import LearningConfig
from toolwise.learning.grid import PropensityGrid, win_shares
from toolwise.learning.models import Strategy
from toolwise.learning.posterior import (
    RememberedQuantiles,
    beta_quantiles,
    interval_ends,
    remembered_quantiles,
    upper_quantiles,
)
from toolwise.learning.scoring import NEUTRAL

__all__ = ["STRATEGIES", "Arms", "Choice", "StrategyFn", "decision_levels"]

Vector = np.ndarray[tuple[int], np.dtype[np.float64]]
Matrix = np.ndarray[tuple[int, int], np.dtype[np.float64]]
_STANDARD_NORMAL = NormalDist()  # its quantile is scipy's ndtri, without importing scipy

_GRID_SHARE = 8  # shared draws: propensity on propensity_samples // 8 stratified levels


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


def _rank(scores: Vector, rng: np.random.Generator) -> list[int]:
    """Indices best first; exact ties in random order (drawn from the strategy's ``rng``).

    Tools with the same record score exactly alike (three tools at 0 of 2, two untried
    tools). Kept in the caller's order, the first of them won every tie and the last was
    tried only once all the others had failed again: a 0.57 best tool listed last had 1 call
    in 1,000 decisions on a development seed. Every strategy ranks through here.
    """
    shuffled = rng.permutation(len(scores))
    values = scores.tolist()
    if any(map(math.isnan, values)):  # numpy's sort puts NaN last; Python's has no order
        order: list[int] = shuffled[np.argsort(-scores[shuffled], kind="stable")].tolist()
        return order
    # The same stable sort on the same keys, in plain Python: a tenth of numpy's calls' cost
    # on the ten scores of a decision.
    return sorted(shuffled.tolist(), key=lambda i: -values[i])


def _top_shares(scores: Vector) -> Vector:
    """Per tool, its chance of coming first under :func:`_rank`: 1/m for m tools tied on top."""
    top = scores == scores.max()
    return np.asarray(top / top.sum(), dtype=np.float64)


def _explored(arms: Arms, order: list[int]) -> list[bool]:
    """Whether the tool put first is not what greedy would surely pick.

    A tool tied with the greedy best counts as explored: greedy itself would pick it only by
    a coin toss, so it was put first for its uncertainty, not its mean.
    """
    explored = [False] * len(order)
    greedy = _greedy_scores(arms)
    if any(map(math.isnan, greedy)):  # no score is the greedy best: nothing was explored
        return explored
    best = max(greedy)
    tied = greedy.count(best)
    # Its share of greedy's picks (_top_shares) is below one: tied, or not on top at all.
    explored[order[0]] = tied > 1 or greedy[order[0]] != best
    return explored


def _greedy_scores(arms: Arms) -> list[float]:
    """``arms.weight * arms.mean + arms.fixed``, the same IEEE operations in plain Python
    (numpy's calls cost more than the arithmetic on a decision's ten tools)."""
    weight, speed_weight = arms.weight, arms.speed_weight
    columns = (arms.alpha, arms.beta, arms.speed_mean, arms.speed_known, arms.cost)
    try:
        return [
            weight * (a / (a + b)) + (speed_weight * (s if known else NEUTRAL) + c)
            for a, b, s, known, c in zip(*(column.tolist() for column in columns), strict=True)
        ]
    except ZeroDivisionError:  # alpha + beta == 0: numpy's NaN or inf, as before
        return list((arms.weight * arms.mean + arms.fixed).tolist())


def _sampled_speed(arms: Arms, rng: np.random.Generator, size: int | None = None) -> Vector:
    """Speed scores drawn from their posteriors (Thompson sampling on the speed part too)."""
    if arms.speed_weight <= 0.0:
        shape = (len(arms.alpha),) if size is None else (len(arms.alpha), size)
        return np.zeros(shape)
    if size is None:
        noise = rng.standard_normal(len(arms.alpha))
        return np.clip(arms.speed_mean + arms.speed_sd * noise, 0.0, 1.0)
    noise = rng.standard_normal((len(arms.alpha), size))
    return np.clip(arms.speed_mean[:, None] + arms.speed_sd[:, None] * noise, 0.0, 1.0)


def _ranked_by(
    arms: Arms, success: Vector, fixed: Vector, rng: np.random.Generator
) -> tuple[Vector, list[int], list[bool]]:
    scores = arms.weight * success + fixed
    order = _rank(scores, rng)
    return scores, order, _explored(arms, order)


def _ucb_level(arms: Arms) -> float:
    """Bayes-UCB's quantile level, ``1 - 1/(t+1)`` with ``t`` the candidates' evidence + 1."""
    return 1.0 - 1.0 / (arms.evidence + 2.0)


def _normal_quantile(level: float) -> float:
    """The standard normal's ``level`` quantile (scipy's ``ndtri``, ±inf at 0 and 1)."""
    if not 0.0 < level < 1.0:
        return math.inf if level >= 1.0 else -math.inf
    return _STANDARD_NORMAL.inv_cdf(level)


def _normal_quantiles(levels: np.ndarray) -> np.ndarray:
    """:func:`_normal_quantile` of each level (a grid of at most a few hundred levels)."""
    flat = [_normal_quantile(float(level)) for level in levels.ravel()]
    return np.asarray(flat, dtype=np.float64).reshape(levels.shape)


def _retry_index(arms: Arms, due: list[int]) -> Vector:
    """The Bayes-UCB index of each due tool's record before its break."""
    pairs = [arms.retry[i] for i in due]
    alpha = np.array([pair[0] for pair in pairs if pair is not None])
    beta = np.array([pair[1] for pair in pairs if pair is not None])
    return upper_quantiles(alpha, beta, _ucb_level(arms))


def thompson(arms: Arms, rng: np.random.Generator, config: LearningConfig) -> Choice:
    """Score each tool with a draw from its posterior (a due re-try: at least its index).

    With ``thompson_draws="shared"`` (the default) one level ``u`` is drawn per decision and
    every tool is read at the ``u``-quantile of its posterior (see :func:`_shared`);
    ``"independent"`` draws each tool on its own, as textbook Thompson sampling does.
    """
    if config.thompson_draws == "shared":
        return _shared(arms, rng, config)
    due = arms.due()
    success = rng.beta(arms.alpha, arms.beta)
    if due:
        index = _retry_index(arms, due)
        success[due] = np.maximum(success[due], index)
    drawn = _sampled_speed(arms, rng)
    fixed = arms.exploring(drawn)
    scores, order, explored = _ranked_by(arms, success, fixed, rng)
    k, draws = len(order), config.propensity_samples
    propensity: list[float | None]
    if k == 1:
        propensity = [1.0]
    elif draws == 0:
        propensity = [None] * k
    else:
        sampled = rng.beta(arms.alpha[:, None], arms.beta[:, None], size=(k, draws))
        if due:
            sampled[due] = np.maximum(sampled[due], index[:, None])
        speeds = _sampled_speed(arms, rng, draws)
        counts = win_shares(arms.weight * sampled + arms.exploring(speeds))
        propensity = [float(c) / draws for c in counts]
    return Choice(success, scores, order, explored, propensity, arms.scored_speed(drawn))


def _shared_scores(
    arms: Arms, levels: Vector, normals: Vector | None = None
) -> tuple[Matrix, Matrix, Matrix]:
    """Success values, speed values and scores of every tool at each level (tools × levels).

    ``normals``: the standard normal's quantiles at ``levels``, when known already.
    """
    column = levels[None, :]
    success = beta_quantiles(arms.alpha[:, None], arms.beta[:, None], column)
    return _scored(arms, success, _normal_quantiles(column) if normals is None else normals)


def _scored(arms: Arms, quantiles: Matrix, normals: np.ndarray) -> tuple[Matrix, Matrix, Matrix]:
    """:func:`_shared_scores` from the tools' Beta ``quantiles`` at the levels (tools ×
    levels) and the standard normal's ``normals`` there; ``quantiles`` is updated in place."""
    success = quantiles
    due = arms.due()
    if due:
        success[due] = np.maximum(success[due], _retry_index(arms, due)[:, None])
    normal = normals.reshape(1, -1)
    speed = np.clip(arms.speed_mean[:, None] + arms.speed_sd[:, None] * normal, 0.0, 1.0)
    scores = arms.weight * success + arms.exploring(speed)
    return success, speed, scores


@functools.cache
def _grid(grid: int) -> PropensityGrid:
    """The propensity grid of ``grid`` strata (one per size, so its memory is shared)."""
    return PropensityGrid(grid, _normal_quantiles)


@functools.cache
def _grid_ends(grid: int) -> tuple[tuple[float, ...], Vector]:
    """The levels of the grid's lowest and highest strata, and the standard normal's
    quantiles there."""
    strata = _grid(grid)
    ends = np.array([0, -1])
    levels: tuple[float, ...] = tuple(strata.levels[ends].tolist())
    return levels, strata.normals[ends]


@functools.cache
def _grid_memory(grid: int) -> tuple[RememberedQuantiles, list[float]]:
    """Where shared Thompson remembers each posterior's quantiles at the grid's ends (and
    the credible interval's, see :func:`decision_levels`), and the normal's at the ends."""
    levels, normals = _grid_ends(grid)
    return remembered_quantiles((*levels, *interval_ends())), normals.tolist()


def decision_levels(config: LearningConfig, strategy: Strategy) -> tuple[float, ...]:
    """The fixed levels ``strategy`` reads every posterior at, besides its credible
    interval's ends: shared Thompson's grid ends, none for the others.

    Both are remembered per posterior in one memory (``posterior.remembered_quantiles``),
    filled by one quantile call with the level drawn: a decision's quantiles are most of
    its arithmetic, and they change whenever a tool learns something.
    """
    grid = config.propensity_samples // _GRID_SHARE
    if strategy != "thompson" or config.thompson_draws != "shared" or not grid:
        return ()
    return _grid_ends(grid)[0]


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


def _shared(arms: Arms, rng: np.random.Generator, config: LearningConfig) -> Choice:
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
    grid = config.propensity_samples // _GRID_SHARE
    strata = _grid(grid) if grid else None
    # Scores at the level drawn and at the grid's two ends, computed together.
    k = len(arms.alpha)
    normals = [_normal_quantile(level)]
    if strata is None:
        quantiles = beta_quantiles(arms.alpha[:, None], arms.beta[:, None], np.array([[level]]))
    else:
        remembered, end_normals = _grid_memory(grid)
        quantiles = remembered.after(arms.alpha, arms.beta, level)[:, :3]
        normals.extend(end_normals)
    at_levels = _scored(arms, quantiles, np.array(normals))
    success: Vector = at_levels[0][:, 0]
    speed: Vector = at_levels[1][:, 0]
    scores: Vector = at_levels[2][:, 0]
    order = _rank(scores, rng)
    explored = _explored(arms, order)
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


def ucb(arms: Arms, rng: np.random.Generator, config: LearningConfig) -> Choice:
    """Score each tool with an upper quantile of its posterior (Bayes-UCB).

    Deterministic but for exact ties, which ``rng`` breaks (and which split the propensity).
    """
    del config
    level = _ucb_level(arms)
    success = upper_quantiles(arms.alpha, arms.beta, level)
    due = arms.due()
    if due:
        success[due] = np.maximum(success[due], _retry_index(arms, due))
    speed = np.clip(arms.speed_mean + arms.speed_sd * _normal_quantile(level), 0.0, 1.0)
    scores, order, explored = _ranked_by(arms, success, arms.exploring(speed), rng)
    propensity: list[float | None] = [float(p) for p in _top_shares(scores)]
    return Choice(success, scores, order, explored, propensity, arms.scored_speed(speed))


def epsilon_greedy(arms: Arms, rng: np.random.Generator, config: LearningConfig) -> Choice:
    """Rank by posterior mean; with probability epsilon put another tool first.

    With ``m`` tools tied on top, each is the greedy pick one time in ``m``; the propensity
    of a tied tool is therefore ``(1 − ε)/m`` plus its chance of being explored when another
    tied tool was the pick.
    """
    success = arms.mean
    scores = arms.weight * success + arms.fixed
    order = _rank(scores, rng)
    k = len(order)
    explored = [False] * k
    if k > 1 and rng.random() < config.epsilon:
        pick = order[1 + int(rng.integers(k - 1))]
        order = [pick, *(i for i in order if i != pick)]
        explored[pick] = True
    if k == 1:
        return Choice(success, scores, order, explored, [1.0], arms.speed)
    greedy_pick = _top_shares(scores)
    explore = config.epsilon / (k - 1)
    propensity: list[float | None] = [
        float((1.0 - config.epsilon) * g + (1.0 - g) * explore) for g in greedy_pick
    ]
    return Choice(success, scores, order, explored, propensity, arms.speed)


def greedy(arms: Arms, rng: np.random.Generator, config: LearningConfig) -> Choice:
    """Rank by posterior mean, never exploring; ``rng`` only breaks exact ties."""
    del config
    success = arms.mean
    scores = arms.weight * success + arms.fixed
    order = _rank(scores, rng)
    propensity: list[float | None] = [float(p) for p in _top_shares(scores)]
    return Choice(success, scores, order, [False] * len(order), propensity, arms.speed)


STRATEGIES: dict[Strategy, StrategyFn] = {
    "thompson": thompson,
    "ucb": ucb,
    "epsilon_greedy": epsilon_greedy,
    "greedy": greedy,
}
