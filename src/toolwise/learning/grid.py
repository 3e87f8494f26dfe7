"""Shared Thompson's propensity grid: the share of stratified levels at which each tool wins.

Shared Thompson sampling reads every tool at one random level, so the chance of a tool coming
first is the share of levels at which its score is the highest. That share is read on a grid
of stratified levels, and a level costs one Beta quantile per contending tool: most of a
decision's arithmetic when its posteriors have just changed (an agent learns between two
decisions). Scores rise with the level, which lets most levels go unread without changing a
share (:meth:`PropensityGrid.wins`); and a contest seen before (the same posteriors, speeds
and costs) is answered from memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

__all__ = ["PropensityGrid", "win_shares"]

Vector = np.ndarray[tuple[int], np.dtype[np.float64]]
Matrix = np.ndarray[tuple[int, int], np.dtype[np.float64]]

_MARK_STEP = 4  # every 4th stratum is read first
_REMEMBERED = 20_000  # contests whose shares are kept


def win_shares(scores: Matrix) -> Vector:
    """Per tool, the levels (columns) at which it scores highest, ties shared evenly."""
    top = scores == scores.max(axis=0, keepdims=True)
    return np.asarray((top / top.sum(axis=0, keepdims=True)).sum(axis=1), dtype=np.float64)


class PropensityGrid:
    """``size`` levels stratified under the shared level's density ``2u``.

    Thread-safe: the remembered shares are a dict of read-only arrays (atomic operations
    under the GIL), emptied when it holds ``remembered`` contests.

    Args:
        size: the number of strata.
        normal_quantiles: the standard normal's quantile of each level (the speed part).
    """

    def __init__(
        self,
        size: int,
        normal_quantiles: Callable[[np.ndarray], np.ndarray],
        remembered: int = _REMEMBERED,
    ) -> None:
        self.levels: Vector = np.sqrt((np.arange(size) + 0.5) / size)
        self.normals: Vector = normal_quantiles(self.levels)
        marks = sorted({*range(0, size, _MARK_STEP), size - 1})
        self._marks = np.array(marks, dtype=np.intp)
        self._inside = np.diff(self._marks).astype(np.float64) - 1.0
        self._between = [np.arange(a + 1, b, dtype=np.intp) for a, b in itertools.pairwise(marks)]
        self._remembered = remembered
        self._wins: dict[bytes, Vector] = {}

    def wins(
        self,
        contest: bytes,
        score: Callable[[np.ndarray], Matrix],
        *,
        ends: Matrix | None = None,
    ) -> Vector:
        """Per contender, the strata at which it scores highest (ties shared evenly).

        Args:
            contest: everything the contenders' scores depend on, as one key: a contest
                seen before is answered from memory.
            score: the contenders' scores at the given strata (contenders × strata).
            ends: the contenders' scores at the first and the last stratum, when the caller
                has them (shared Thompson computes them to find the contenders).

        The contenders are read at every 4th stratum (and the last) first. Between two
        strata read, a contender whose score at the lower one beats every other's at the
        upper one wins every stratum in between (scores rise with the level), so only the
        strata between the other pairs are read: the same shares as reading them all, from
        about a third of the quantiles when the contenders' posteriors have changed.
        """
        known = self._wins.get(contest)
        if known is not None:
            return known
        marks = self._marks
        if ends is None or len(marks) < 3:
            at_marks = score(marks)
        else:
            at_marks = np.empty((len(ends), len(marks)))
            at_marks[:, 0], at_marks[:, -1] = ends[:, 0], ends[:, 1]
            at_marks[:, 1:-1] = score(marks[1:-1])
        counts = win_shares(at_marks)
        low, high = at_marks[:, :-1], at_marks[:, 1:]
        pairs = np.arange(low.shape[1])
        best = low.argmax(axis=0)
        others = high.copy()
        others[best, pairs] = -np.inf
        won = low[best, pairs] > others.max(axis=0)  # NaN compares False: read in full
        counts += np.bincount(best[won], weights=self._inside[won], minlength=len(counts))
        if not won.all():
            unread = np.concatenate([self._between[pair] for pair in np.flatnonzero(~won)])
            if unread.size:
                counts += win_shares(score(unread))
        counts.flags.writeable = False
        if len(self._wins) >= self._remembered:
            self._wins.clear()
        self._wins[contest] = counts
        return counts
