"""Turn latency and cost into bounded scores that can be weighed against a success rate.

Every score is finite and in [0, 1] for any input, including 0, ``inf``, ``nan`` and huge
values: an unknown latency or cost is neutral (0.5) rather than rewarded or punished.
"""

from __future__ import annotations

import math

__all__ = ["NEUTRAL", "cost_score", "speed_score"]

NEUTRAL = 0.5


def speed_score(latency_ms: float | None, ceiling_ms: float) -> float:
    """``max(0, 1 - latency / ceiling)``: 1 when instant, 0 at or beyond the ceiling.

    Unknown (``None``) or ``nan`` latency scores a neutral 0.5; ``inf`` scores 0.
    """
    if latency_ms is None or math.isnan(latency_ms):
        return NEUTRAL
    if latency_ms <= 0.0:
        return 1.0
    ratio = latency_ms / ceiling_ms
    return 0.0 if not ratio < 1.0 else 1.0 - ratio


def cost_score(cost: float | None, reference: float) -> float:
    """``1 / (1 + cost / reference)``: 1 when free, 0.5 at the reference cost, 0 at ``inf``.

    Unknown (``None``) or ``nan`` cost scores a neutral 0.5.
    """
    if cost is None or math.isnan(cost):
        return NEUTRAL
    if cost <= 0.0:
        return 1.0
    ratio = cost / reference
    return 0.0 if math.isinf(ratio) else 1.0 / (1.0 + ratio)
