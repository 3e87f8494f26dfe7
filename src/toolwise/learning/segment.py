"""A decayed mass of successes and failures: the unit every record is made of.

A :class:`Segment` stores its mass at a reference time ``t`` and is multiplied by
``exp(-rate * age)`` only when touched or read, so an update is O(1) and a read never scans
outcomes. With ``rate = 0`` (the default learner: forgetting on evidence of change, not on the
calendar) nothing decays and the masses are plain counts.

Not thread-safe on its own: the view holds its lock around every call.
"""

from __future__ import annotations

import math

__all__ = ["Segment", "decay_factor"]


def decay_factor(rate: float, age: float) -> float:
    """``exp(-rate * age)`` for a non-negative age; future times (age < 0) do not grow mass.

    Without decay (``rate`` 0, the default) it is 1 even for an infinite age (an empty
    segment's reference time is -inf), where ``exp(-0 * inf)`` would be ``nan``.
    """
    return math.exp(-rate * age) if age > 0.0 and rate > 0.0 else 1.0


class Segment:
    """Decayed success and failure mass since the last change point, valued at time ``t``.

    ``n`` is the raw number of outcomes inside (not decayed). When a reset is undone the
    archived segment is merged into the live one and points to it through ``merged_into``, so
    charges made against it still find where their mass now lives.
    """

    __slots__ = ("failures", "merged_into", "n", "successes", "t")

    def __init__(self) -> None:
        self.successes = 0.0
        self.failures = 0.0
        self.n = 0
        self.t = -math.inf
        self.merged_into: Segment | None = None

    def live(self) -> Segment:
        """The segment that now holds this one's mass (itself unless it was merged)."""
        segment = self
        while segment.merged_into is not None:
            segment = segment.merged_into
        return segment

    def advance(self, t: float, rate: float) -> None:
        """Move the reference time forward to ``t``, decaying the mass on the way."""
        if t > self.t:
            if rate and (self.successes or self.failures):
                factor = math.exp(-rate * (t - self.t))
                self.successes *= factor
                self.failures *= factor
            self.t = t

    def add(self, successes: float, failures: float, n: int, t: float, rate: float) -> None:
        """Add mass observed at time ``t`` (late arrivals are decayed to the reference time)."""
        if t >= self.t:
            if t > self.t:  # advance() inlined: this is the hot path of every outcome
                if self.successes or self.failures:
                    factor = math.exp(-rate * (t - self.t))
                    self.successes *= factor
                    self.failures *= factor
                self.t = t
            self.successes += successes
            self.failures += failures
        else:
            factor = math.exp(-rate * (self.t - t))
            self.successes += successes * factor
            self.failures += failures * factor
        self.n += n

    def remove(self, successes: float, failures: float, n: int, t: float, rate: float) -> None:
        """Take back mass added at time ``t``; clamps at zero against rounding."""
        self.advance(t, rate)
        factor = decay_factor(rate, self.t - t)
        self.successes = max(0.0, self.successes - successes * factor)
        self.failures = max(0.0, self.failures - failures * factor)
        self.n = max(0, self.n - n)

    def absorb(self, other: Segment, rate: float) -> None:
        """Merge ``other``'s mass into this segment and redirect it here."""
        if other.t > -math.inf:
            self.add(other.successes, other.failures, other.n, other.t, rate)
        other.merged_into = self

    def at(self, now: float, rate: float) -> tuple[float, float]:
        """Decayed ``(successes, failures)`` at ``now`` without changing the segment."""
        if rate > 0.0 and now > self.t:  # decay_factor inlined: a recommend reads ~120
            factor = math.exp(-rate * (now - self.t))
            return self.successes * factor, self.failures * factor
        return self.successes, self.failures
