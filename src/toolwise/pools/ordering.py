"""The order that makes a fall-through cheapest: least expected effort until a success.

A tool alone is judged by its success rate, speed and cost (``recommend``'s score). In a pool
a failure is not final — it costs the next attempt — so what a call pays is the effort of
every attempt until one succeeds. With independent attempts of effort ``e`` and success rate
``p``, the expected total effort of an order is least when members are sorted by ``e / p``
ascending (the classic rule for sequential tries). A pool ranks by that index:

* ``e`` is the objective's speed and cost weights applied to the member's p50 latency (as a
  share of the view's latency ceiling) and mean cost (over the view's cost reference), plus
  :data:`OVERHEAD` — an attempt is never free, so members that cost and take nothing are
  ranked by success alone. A member with no latency on record takes its speed from the
  recommendation's score breakdown (hopeful when untried, exactly as ``recommend`` is); one
  with latencies takes its p50, never the breakdown's speed: Thompson sampling draws that
  around the mean with a spread (0.1 of the speed score per call, i.e. 6 s at the default
  ceiling) meant to sit beside a success weight of 0.7, which in a ratio of efforts of a few
  hundred ms swamps the success rates. Reading the draw, ``benchmarks/pool.py`` (seed 0) put
  the 700 ms member first on a fifth of its calls and kept a member failing 45 % first over
  one failing 3 %: cost 1.31 per call, against 1.08 with the p50.
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


def effort(rec: Recommendation, ceiling_ms: float) -> float:
    """One attempt's effort in the objective's terms (latency share, cost ratio, overhead).

    ``ceiling_ms`` is the view's latency ceiling (a latency there or above is a share of 1).
    """
    breakdown = rec.breakdown
    weights = breakdown.weights
    p50 = rec.p50_latency_ms
    latency_share = 1.0 - breakdown.speed if p50 is None else min(1.0, p50 / ceiling_ms)
    cost_ratio = (1.0 / breakdown.cost - 1.0) if breakdown.cost > 0.0 else 1e6  # cost / ref
    return weights.speed * latency_share + weights.cost * cost_ratio + OVERHEAD


def index(rec: Recommendation, success: float, ceiling_ms: float) -> float:
    """Expected effort per success at success rate ``success``: lower goes first."""
    return effort(rec, ceiling_ms) / max(success, _FLOOR)


def by_effort(
    ranked: Sequence[Recommendation], ceiling_ms: float, *, mean: bool = False
) -> list[Recommendation]:
    """``ranked`` sorted by index (the strategy's draw, or the posterior mean with ``mean``).

    The sort is stable: ties keep the strategy's order.
    """
    return sorted(ranked, key=lambda r: index(r, r.rate if mean else r.sampled_success, ceiling_ms))
