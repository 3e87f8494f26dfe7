"""What a ranking reads of a key's recent latencies and costs, kept current sample by sample.

Every recorded call adds a latency and a cost to its key's reservoirs (``Evidence.note``), and
the next decision reads them: the speed score's mean and variance, the median latency, the mean
cost. Worked out afresh from a reservoir of 256 that was about 130 µs per recorded call, an
eighth of the decision after it. Kept here instead: the latencies in sorted order (one insertion
and one removal per sample), each latency's speed score, and the scores' sum *exactly*, as an
integer count of 2⁻¹⁰⁷⁴ (the smallest float), so the mean is that sum correctly rounded, over
the count: what ``math.fsum`` (correctly rounded too) gives, bit for bit. Two figures cannot be
kept so: the variance sums ``(score − mean)²``, each term rounded, around a mean that moves
with every sample, and the mean cost sums ``cost / count``, each term rounded by a count that
moves until the reservoir is full. The variance is summed afresh over the kept scores; the
mean cost's terms are kept exactly once the count stops moving, summed afresh before.

A sample that is not finite (a validated record never has one) leaves the key to the plain
computation for good. Built when first read; a snapshot keeps it empty (rebuilt on the first
read after a restore). Not thread-safe: the view's lock is held around every call.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Collection

__all__ = ["SampleSums", "mean", "quantile", "speed_score"]

_UNIT_BITS = 1074  # 2**-1074 is the smallest positive float: every finite float is a multiple
_ONE = 1 << _UNIT_BITS
# Below 2**1000 in all, no partial of math.fsum can overflow: the exact sum answers the same.
_SAFE = 1 << (_UNIT_BITS + 1000)


def speed_score(latency_ms: float, ceiling_ms: float) -> float:
    """One call's speed score ``max(0, 1 − L / ceiling)`` (0 for ``nan``); in [0, 1]."""
    return 0.0 if not latency_ms < ceiling_ms else 1.0 - max(latency_ms, 0.0) / ceiling_ms


def mean(values: Collection[float]) -> float:
    """Mean that cannot overflow on huge finite values (each is scaled before summing)."""
    count = len(values)
    try:
        return math.fsum(value / count for value in values)
    except OverflowError:  # only with infinite values, where the mean is infinite anyway
        return math.inf


def quantile(ordered: list[float], q: float) -> float:
    """Linear-interpolated quantile of sorted data (numpy's default method)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    if ordered[high] == ordered[low] or math.isinf(ordered[high]):
        return ordered[low] if position == low else ordered[high]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _exact(value: float) -> int:
    """A finite float as an integer count of 2**-1074 (exact)."""
    numerator, denominator = value.as_integer_ratio()
    return numerator << (_UNIT_BITS + 1 - denominator.bit_length())


class SampleSums:
    """The summaries of one key's latency and cost reservoirs, updated as samples come.

    The reservoirs stay the evidence's (``Evidence.latencies``, ``.costs``): each method is
    given them, and :meth:`add_latency` and :meth:`add_cost` are called *before* the sample
    is appended, so the one it pushes out is still there to take away.
    """

    __slots__ = (
        "_ceiling",
        "_cost_mean",
        "_cost_total",
        "_latency",
        "_ordered",
        "_p50",
        "_plain",
        "_score_total",
        "_scores",
        "_speed",
    )

    def __init__(self) -> None:
        self._plain = False  # a sample was not finite: every figure is worked out afresh
        self._ordered: list[float] | None = None  # the latencies, sorted (stable: oldest first)
        self._ceiling = math.nan  # the speed ceiling the scores were made for
        self._scores: deque[float] | None = None  # each latency's score, in arrival order
        self._score_total = 0
        self._speed: tuple[float, float, int] | None = None  # mean, variance, count
        self._latency: tuple[float | None, float | None, float | None] | None = None
        self._p50: float | None = None
        self._cost_total: int | None = None  # the terms cost / maxlen, once the reservoir is full
        self._cost_mean: float | None = None

    def __reduce__(self) -> tuple[type[SampleSums], tuple[()]]:
        # Derived from the reservoirs, which the snapshot keeps: restored, it starts unbuilt.
        return SampleSums, ()

    def add_latency(self, latency_ms: float, latencies: deque[float]) -> None:
        """Take a latency in (and the one it pushes out of a full ``latencies``)."""
        self._speed = self._latency = self._p50 = None
        if self._plain or self._ordered is None:
            return
        if not math.isfinite(latency_ms):
            self._go_plain()
            return
        ordered, scores = self._ordered, self._scores
        if len(latencies) == latencies.maxlen:
            # The oldest of equal values sorts first: it is the one leaving.
            del ordered[bisect_left(ordered, latencies[0])]
            if scores is not None:
                self._score_total -= _exact(scores[0])
        insort(ordered, latency_ms)  # after equal values, as the newest
        if scores is not None:
            score = speed_score(latency_ms, self._ceiling)
            scores.append(score)
            self._score_total += _exact(score)

    def add_cost(self, cost: float, costs: deque[float]) -> None:
        """Take a cost in (and the one it pushes out of a full ``costs``)."""
        self._cost_mean = None
        if self._plain:
            return
        if not math.isfinite(cost):
            self._go_plain()
            return
        total, count = self._cost_total, costs.maxlen
        if total is not None and count is not None and len(costs) == count:
            self._cost_total = total - _exact(costs[0] / count) + _exact(cost / count)

    def speed_stats(self, ceiling_ms: float, latencies: deque[float]) -> tuple[float, float, int]:
        """``(mean, variance, count)`` of the speed scores of ``latencies``."""
        if self._speed is not None and ceiling_ms == self._ceiling:
            return self._speed
        if not self._plain and (self._scores is None or ceiling_ms != self._ceiling):
            self._build_scores(ceiling_ms, latencies)
        scores = self._scores
        if scores is None:  # plain: not kept (rare; a cache would need the ceiling too)
            plain = [speed_score(x, ceiling_ms) for x in tuple(latencies)]
            count = len(plain)
            average = math.fsum(plain) / count if count else 0.0
            return average, _variance(plain, average), count
        count = len(scores)
        average = self._score_total / _ONE / count if count else 0.0
        self._speed = average, _variance(scores, average), count
        return self._speed

    def p50_latency(self, latencies: deque[float]) -> float | None:
        """Median of ``latencies``, or ``None`` without any."""
        if not latencies:
            return None
        if self._plain:
            return quantile(sorted(latencies), 0.5)
        if self._p50 is None:
            self._p50 = quantile(self._sorted(latencies), 0.5)
        return self._p50

    def latency_summary(
        self, latencies: deque[float]
    ) -> tuple[float | None, float | None, float | None]:
        """``(mean, p50, p95)`` of ``latencies`` in ms, or ``None`` without any."""
        if not latencies:
            return None, None, None
        summary = self._latency
        if summary is None:
            ordered = sorted(latencies) if self._plain else self._sorted(latencies)
            summary = mean(ordered), quantile(ordered, 0.5), quantile(ordered, 0.95)
            if not self._plain:
                self._latency = summary
        return summary

    def mean_cost(self, costs: deque[float]) -> float | None:
        """Mean of ``costs``, or ``None`` without any."""
        if self._cost_mean is None and costs:
            count = len(costs)
            if not self._plain and self._cost_total is None and count == costs.maxlen:
                if all(math.isfinite(x) for x in costs):
                    self._cost_total = sum(_exact(value / count) for value in costs)
                else:
                    self._go_plain()
            total = self._cost_total
            if total is None or count != costs.maxlen or total >= _SAFE:
                self._cost_mean = mean(tuple(costs))
            else:
                self._cost_mean = total / _ONE
        return self._cost_mean

    def _sorted(self, latencies: deque[float]) -> list[float]:
        if self._ordered is None:
            if not all(math.isfinite(x) for x in latencies):
                self._go_plain()
                return sorted(latencies)
            self._ordered = sorted(latencies)
        return self._ordered

    def _build_scores(self, ceiling_ms: float, latencies: deque[float]) -> None:
        self._sorted(latencies)  # checks every latency is finite
        if self._plain:
            return
        self._ceiling = ceiling_ms
        self._scores = deque((speed_score(x, ceiling_ms) for x in latencies), latencies.maxlen)
        self._score_total = sum(map(_exact, self._scores))

    def _go_plain(self) -> None:
        self._plain = True
        self._ordered = self._scores = None
        self._cost_total = None


def _variance(scores: Collection[float], average: float) -> float:
    """Population variance around ``average``: each squared deviation rounded, then fsum."""
    count = len(scores)
    return math.fsum([(x - average) ** 2 for x in scores]) / count if count else 0.0
