"""Turn latency and cost into bounded scores that can be weighed against a success rate.

Every score is finite and in [0, 1] for any input, including 0, ``inf``, ``nan`` and huge
values. An unknown latency or cost is neutral (0.5) by default; the exploring strategies pass
``unknown=1.0`` for a tool never called, so it can outrank a good incumbent and get tried.
"""

from __future__ import annotations

import math

__all__ = ["NEUTRAL", "cost_score", "speed_score"]

NEUTRAL = 0.5


def speed_score(
    latency_ms: float | None, ceiling_ms: float, *, unknown: float | None = None
) -> float:
    """``max(0, 1 - latency / ceiling)``: 1 when instant, 0 at or beyond the ceiling.

    Unknown (``None``) or ``nan`` latency scores ``unknown`` (default: a neutral 0.5);
    ``inf`` scores 0.
    """
    if latency_ms is None or math.isnan(latency_ms):
        return NEUTRAL if unknown is None else unknown
    if latency_ms <= 0.0:
        return 1.0
    ratio = latency_ms / ceiling_ms
    return 0.0 if not ratio < 1.0 else 1.0 - ratio


def cost_score(cost: float | None, reference: float, *, unknown: float | None = None) -> float:
    """``1 / (1 + cost / reference)``: 1 when free, 0.5 at the reference cost, 0 at ``inf``.

    Unknown (``None``) or ``nan`` cost scores ``unknown`` (default: a neutral 0.5).
    """
    if cost is None or math.isnan(cost):
        return NEUTRAL if unknown is None else unknown
    if cost <= 0.0:
        return 1.0
    ratio = cost / reference
    return 0.0 if math.isinf(ratio) else 1.0 / (1.0 + ratio)
