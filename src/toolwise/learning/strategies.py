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

Their inputs and outputs are in ``learning.arms``, the levels they read posteriors at in
``learning.levels``, the ranking they share in ``learning.ordering``, and shared Thompson in
``learning.shared_thompson``.
"""

from __future__ import annotations

import numpy as np

from toolwise.learning.arms import Arms, Choice, StrategyFn, Vector
from toolwise.learning.config import LearningConfig
from toolwise.learning.grid import win_shares
from toolwise.learning.levels import normal_quantile, retry_index, ucb_level
from toolwise.learning.models import Strategy
from toolwise.learning.ordering import rank, ranked_by, top_shares
from toolwise.learning.posterior import upper_quantiles
from toolwise.learning.shared_thompson import shared_thompson

__all__ = ["STRATEGIES", "epsilon_greedy", "greedy", "thompson", "ucb"]


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


def thompson(arms: Arms, rng: np.random.Generator, config: LearningConfig) -> Choice:
    """Score each tool with a draw from its posterior (a due re-try: at least its index).

    With ``thompson_draws="shared"`` (the default) one level ``u`` is drawn per decision and
    every tool is read at the ``u``-quantile of its posterior (see ``learning.shared_thompson``);
    ``"independent"`` draws each tool on its own, as textbook Thompson sampling does.
    """
    if config.thompson_draws == "shared":
        return shared_thompson(arms, rng, config)
    due = arms.due()
    success = rng.beta(arms.alpha, arms.beta)
    if due:
        index = retry_index(arms, due)
        success[due] = np.maximum(success[due], index)
    drawn = _sampled_speed(arms, rng)
    fixed = arms.exploring(drawn)
    scores, order, explored = ranked_by(arms, success, fixed, rng)
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


def ucb(arms: Arms, rng: np.random.Generator, config: LearningConfig) -> Choice:
    """Score each tool with an upper quantile of its posterior (Bayes-UCB).

    Deterministic but for exact ties, which ``rng`` breaks (and which split the propensity).
    """
    del config
    level = ucb_level(arms)
    success = upper_quantiles(arms.alpha, arms.beta, level)
    due = arms.due()
    if due:
        success[due] = np.maximum(success[due], retry_index(arms, due))
    speed = np.clip(arms.speed_mean + arms.speed_sd * normal_quantile(level), 0.0, 1.0)
    scores, order, explored = ranked_by(arms, success, arms.exploring(speed), rng)
    propensity: list[float | None] = [float(p) for p in top_shares(scores)]
    return Choice(success, scores, order, explored, propensity, arms.scored_speed(speed))


def epsilon_greedy(arms: Arms, rng: np.random.Generator, config: LearningConfig) -> Choice:
    """Rank by posterior mean; with probability epsilon put another tool first.

    With ``m`` tools tied on top, each is the greedy pick one time in ``m``; the propensity
    of a tied tool is therefore ``(1 − ε)/m`` plus its chance of being explored when another
    tied tool was the pick.
    """
    success = arms.mean
    scores = arms.weight * success + arms.fixed
    order = rank(scores, rng)
    k = len(order)
    explored = [False] * k
    if k > 1 and rng.random() < config.epsilon:
        pick = order[1 + int(rng.integers(k - 1))]
        order = [pick, *(i for i in order if i != pick)]
        explored[pick] = True
    if k == 1:
        return Choice(success, scores, order, explored, [1.0], arms.speed)
    greedy_pick = top_shares(scores)
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
    order = rank(scores, rng)
    propensity: list[float | None] = [float(p) for p in top_shares(scores)]
    return Choice(success, scores, order, [False] * len(order), propensity, arms.speed)


STRATEGIES: dict[Strategy, StrategyFn] = {
    "thompson": thompson,
    "ucb": ucb,
    "epsilon_greedy": epsilon_greedy,
    "greedy": greedy,
}
