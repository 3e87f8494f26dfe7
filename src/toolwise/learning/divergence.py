"""Bernoulli divergence shared by the change tests (a leaf module: no toolwise imports)."""

from __future__ import annotations

import math

__all__ = ["MIN_RUN", "kl_bernoulli"]

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
