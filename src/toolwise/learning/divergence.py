"""Bernoulli divergence shared by the change tests (a leaf module: no toolwise imports)."""

from __future__ import annotations

import math

__all__ = ["MIN_RUN", "kl_bernoulli", "split_statistic"]

_EPS = 1e-12
MIN_RUN = 2.0  # a change needs at least two surprising outcomes: one is never a trend


def kl_bernoulli(x: float, p: float) -> float:
    """Kullback–Leibler divergence between Bernoulli(x) and Bernoulli(p), in nats."""
    x = min(max(x, 0.0), 1.0)
    p = min(max(p, _EPS), 1.0 - _EPS)
    total = 0.0
    if x > 0.0:
        total += x * math.log(x / p)
    if x < 1.0:
        total += (1.0 - x) * math.log((1.0 - x) / (1.0 - p))
    return total


def split_statistic(
    before_s: float, before_n: float, after_s: float, after_n: float, pooled: float
) -> float:
    """The two-sample Bernoulli GLR statistic of a split (Besson et al., 2022): how much
    better a rate each side fits than the ``pooled`` rate of both, in nats."""
    return before_n * kl_bernoulli(before_s / before_n, pooled) + after_n * kl_bernoulli(
        after_s / after_n, pooled
    )
