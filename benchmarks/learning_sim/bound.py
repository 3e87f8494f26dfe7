"""How accurate *any* policy can be after ``n`` outcomes: an upper bound for the accuracy target.

A policy that does not know in advance which tool is which (every learner here: each is
symmetric in the tools' names) picks the best tool at decision ``t`` no more often than the
Bayes-optimal guess between the two best tools would, if it were handed ``t − 1`` outcomes of
*each* of them, the exact success rates (only not which tool has which), and the knowledge
that no other tool is best. Any adaptive policy's ``t − 1`` outcomes are a function of those
two streams, so this is a bound on its accuracy, averaged over which tool is the better one —
and a name-symmetric policy's accuracy is the same whichever tool that is.

With only the two rates to tell apart, the optimal guess compares the two likelihoods
``Bin(s₁; n, p) · Bin(s₂; n, q)`` and its swap; its chance of being right is half the sum of
the larger of the two over all outcomes ``(s₁, s₂)``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

__all__ = ["identification_bound"]


def _right(n: int, best: float, second: float) -> float:
    """Chance the optimal guess names the better tool from ``n`` outcomes of each."""
    if n == 0:
        return 0.5
    s = np.arange(n + 1)
    likely = binom.pmf(s[:, None], n, best) * binom.pmf(s[None, :], n, second)
    return float(0.5 * np.maximum(likely, likely.T).sum())


def identification_bound(best: float, second: float, decisions: slice) -> float:
    """Upper bound on the share of ``decisions`` (0-based) that any policy gets right.

    Args:
        best: the best tool's success rate.
        second: the runner-up's.
        decisions: the decisions the accuracy is read on (``metrics.EARLY``: 50–149).
    """
    return float(np.mean([_right(t, best, second) for t in range(decisions.start, decisions.stop)]))
