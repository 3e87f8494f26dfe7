"""The order that makes a fall-through cheapest: least expected effort until a success.

A tool alone is judged by its success rate, speed and cost (``recommend``'s score). In a pool
a failure is not final — it costs the next attempt — so what a call pays is the effort of
every attempt until one succeeds. With independent attempts of effort ``e`` and success rate
``p``, the expected total effort of an order is least when members are sorted by ``e / p``
ascending (the classic rule for sequential tries). A pool ranks by that index:

* ``e`` is the objective's speed and cost weights applied to the member's p50 latency (as a
  share of the view's latency ceiling) and mean cost (over the view's cost reference), read
  back from the recommendation's score breakdown (so unknown values are neutral, and an
  untried member is hopeful exactly as ``recommend`` treats it), plus :data:`OVERHEAD` — an
  attempt is never free, so members that cost and take nothing are ranked by success alone.
* ``p`` is the strategy's success rate: a posterior draw for Thompson sampling (so the pool
  explores as ``recommend`` does), the mean for greedy.

The same index over posterior means and over upper credible bounds decides what a *long
shot* is (see :mod:`toolwise.pools.plan`).
"""

from __future__ import annotations

from collections.abc import Sequence

from toolwise.learning.models import Recommendation

__all__ = ["OVERHEAD", "by_effort", "effort", "index"]

OVERHEAD = 1e-3
"""Effort every attempt carries: 60 ms at the default latency ceiling of 60 s."""

_FLOOR = 1e-6  # a success rate of 0 would make every index infinite and ties meaningless


def effort(rec: Recommendation) -> float:
    """One attempt's effort in the objective's terms (latency share, cost ratio, overhead)."""
    breakdown = rec.breakdown
    weights = breakdown.weights
    latency_share = 1.0 - breakdown.speed  # p50 / ceiling, capped at 1
    cost_ratio = (1.0 / breakdown.cost - 1.0) if breakdown.cost > 0.0 else 1e6  # cost / ref
    return weights.speed * latency_share + weights.cost * cost_ratio + OVERHEAD


def index(rec: Recommendation, success: float) -> float:
    """Expected effort per success at success rate ``success``: lower goes first."""
    return effort(rec) / max(success, _FLOOR)


def by_effort(ranked: Sequence[Recommendation], *, mean: bool = False) -> list[Recommendation]:
    """``ranked`` sorted by index (the strategy's draw, or the posterior mean with ``mean``).

    The sort is stable: ties keep the strategy's order.
    """
    return sorted(ranked, key=lambda r: index(r, r.rate if mean else r.sampled_success))
