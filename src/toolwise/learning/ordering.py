"""Putting a decision's tools in order from their scores: exact ties broken at random, each
tool's chance of coming first, and whether the tool put first was an exploratory pick.

Every strategy ranks through :func:`rank`. Hot path: the ten scores of a decision are sorted
and compared in plain Python, which costs a tenth of numpy's calls on so few numbers.
"""

from __future__ import annotations

import math

import numpy as np

from toolwise.learning.arms import Arms, Vector
from toolwise.learning.scoring import NEUTRAL

__all__ = ["exploration", "greedy_scores", "rank", "ranked_by", "top_shares"]


def rank(scores: Vector, rng: np.random.Generator) -> list[int]:
    """Indices best first; exact ties in random order (drawn from the strategy's ``rng``).

    Tools with the same record score exactly alike (three tools at 0 of 2, two untried
    tools). Kept in the caller's order, the first of them won every tie and the last was
    tried only once all the others had failed again: a 0.57 best tool listed last had 1 call
    in 1,000 decisions on a development seed.
    """
    shuffled = rng.permutation(len(scores))
    values = scores.tolist()
    if any(map(math.isnan, values)):  # numpy's sort puts NaN last; Python's has no order
        order: list[int] = shuffled[np.argsort(-scores[shuffled], kind="stable")].tolist()
        return order
    # The same stable sort on the same keys, in plain Python: a tenth of numpy's calls' cost
    # on the ten scores of a decision.
    return sorted(shuffled.tolist(), key=lambda i: -values[i])


def top_shares(scores: Vector) -> Vector:
    """Per tool, its chance of coming first under :func:`rank`: 1/m for m tools tied on top."""
    top = scores == scores.max()
    return np.asarray(top / top.sum(), dtype=np.float64)


def exploration(arms: Arms, order: list[int]) -> list[bool]:
    """Per tool, whether it was put first but is not what greedy would surely pick.

    A tool tied with the greedy best counts as explored: greedy itself would pick it only by
    a coin toss, so it was put first for its uncertainty, not its mean.
    """
    explored = [False] * len(order)
    greedy = greedy_scores(arms)
    if any(map(math.isnan, greedy)):  # no score is the greedy best: nothing was explored
        return explored
    best = max(greedy)
    tied = greedy.count(best)
    # Its share of greedy's picks (top_shares) is below one: tied, or not on top at all.
    explored[order[0]] = tied > 1 or greedy[order[0]] != best
    return explored


def greedy_scores(arms: Arms) -> list[float]:
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


def ranked_by(
    arms: Arms, success: Vector, fixed: Vector, rng: np.random.Generator
) -> tuple[Vector, list[int], list[bool]]:
    """Scores from the ``success`` values and the ``fixed`` speed and cost part, the
    ranking, and its exploration."""
    scores = arms.weight * success + fixed
    order = rank(scores, rng)
    return scores, order, exploration(arms, order)
