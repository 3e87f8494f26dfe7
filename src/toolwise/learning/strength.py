"""How strong a detected change point is: the level at which the GLR test would call it.

The change tests fire on a run that is improbable under the record before it, at levels
tuned to catch a break early (``change_delta``, ``change_scan_delta``). Some of what they
find is chance: a steady tool's streak, or the first failures of an outage before it is
declared. Fading stale records (``staleness``) should start only where the task type has
*really* changed, so it asks how strongly the record before the split and the run after it
disagree: the two-sample Bernoulli GLR statistic of Besson et al. (2022),

``G = n₁ kl(μ₁, μ) + n₂ kl(μ₂, μ)``, confirmed when ``G > ln(3 n^{3/2} / δ)``,

the slow scan's own test (``scan``) at a level ``δ`` of the caller's choice. A change is
confirmed when the outcomes from its change point on disagree with the record before it at
that level: a collapse the fast test found after four failures of a 90 % tool has ``G`` ≈ 9
over 300 outcomes, where ``δ`` = 10⁻² needs 14 — it is confirmed only if the failures go on
(an outage's first failures are taken back before that), and a chance streak of a steady
tool is diluted by the outcomes after it.
"""

from __future__ import annotations

from toolwise.learning.divergence import split_statistic
from toolwise.learning.scan import glr_threshold

__all__ = ["confirms", "glr_statistic"]

Mass = tuple[float, float]
"""(successes, failures)."""


def glr_statistic(before: Mass, after: Mass) -> float:
    """The two-sample Bernoulli GLR statistic of a split (0 if either side is empty)."""
    n1, n2 = before[0] + before[1], after[0] + after[1]
    if n1 <= 0.0 or n2 <= 0.0:
        return 0.0
    pooled = (before[0] + after[0]) / (n1 + n2)
    return split_statistic(before[0], n1, after[0], n2, pooled)


def confirms(before: Mass, after: Mass, delta: float) -> bool:
    """Whether the split between ``before`` and ``after`` is a change at level ``delta``."""
    n = before[0] + before[1] + after[0] + after[1]
    return glr_statistic(before, after) > glr_threshold(n, delta)
