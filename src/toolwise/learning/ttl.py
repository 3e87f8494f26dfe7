"""Take expired outcomes back out of the aggregates, without keeping every outcome.

Charges are grouped by expiry slot and segment: one entry holds the summed mass of all the
charges of a segment that expire in that slot, valued at the newest charge's time. At expiry
the entry is removed from its (live) segment, correctly decayed.

A slot is the coarsest grain of :data:`_SLOTS` (a minute up to a day) no longer than 1/32 of
the outcome's time to live, and expiry is rounded *down* to it: an outcome stops counting at
most ~3 % of its TTL early (the default 30-day TTL: 12 hours), never late. The grains are
at most a factor two apart, so a TTL spans 32 to 64 slots (more only past 32 days, a slot a
day): memory is bounded by segments × ~64 entries, not by the number of outcomes, and most
charges add to an existing entry instead of allocating. (With only hours and days to choose
from, a 30-day TTL took 720 hourly slots: at 100,000 outcomes nearly one entry each.)
Not thread-safe on its own: the view holds its lock.
"""

from __future__ import annotations

import heapq
import math

from toolwise.learning.evidence import Part, Segment, decay_factor

__all__ = ["TtlLedger"]

_SLOTS: tuple[int, ...] = (  # seconds, coarsest first, each at most twice the next
    86_400,
    43_200,
    21_600,
    10_800,
    7_200,
    3_600,
    1_800,
    900,
    600,
    300,
    120,
    60,
)
_SLOTS_PER_TTL = 32


def slot_of(expires_at: float, t: float) -> int:
    """Start (POSIX seconds) of the expiry slot of an outcome made at ``t``."""
    span = (expires_at - t) / _SLOTS_PER_TTL
    grain = _SLOTS[-1]
    for candidate in _SLOTS:
        if candidate <= span:
            grain = candidate
            break
    return math.floor(expires_at / grain) * grain


class _Entry:
    __slots__ = ("failures", "n", "segment", "successes", "t")

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        self.successes = 0.0
        self.failures = 0.0
        self.n = 0
        self.t = -math.inf


class TtlLedger:
    """Expiry slots of charged mass; ``expire(now)`` removes what has lapsed.

    Args:
        rate: the decay constant per second shared with the aggregates.
    """

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._buckets: dict[int, dict[int, _Entry]] = {}
        self._heap: list[int] = []
        self._horizon = -math.inf  # every slot starting at or before this has been removed

    def __len__(self) -> int:
        """Number of live (slot, segment) entries, for ``stats()``."""
        return sum(len(bucket) for bucket in self._buckets.values())

    def attach(self, part: Part, slot: int) -> None:
        """Schedule ``part`` to be taken back when ``slot`` begins (see :func:`slot_of`)."""
        self._attach(part, slot)

    def lapsed(self, part: Part) -> bool:
        """Whether ``part``'s mass was already taken back by expiry (it no longer counts)."""
        return part.ttl is not None and part.ttl <= self._horizon

    def detach(self, part: Part) -> int | None:
        """Unschedule ``part`` (it was reverted or moved); returns its expiry slot.

        A part that has already lapsed stays marked as lapsed and ``None`` is returned.
        """
        slot = part.ttl
        if slot is None or slot <= self._horizon:
            return None
        part.ttl = None
        entry = self._buckets.get(slot, {}).get(id(part.segment))
        if entry is not None:
            factor = decay_factor(self._rate, entry.t - part.t)
            entry.successes = max(0.0, entry.successes - part.successes * factor)
            entry.failures = max(0.0, entry.failures - part.failures * factor)
            entry.n = max(0, entry.n - 1)
        return slot

    def reattach(self, part: Part, slot: int | None) -> None:
        """Schedule ``part`` again after its segment changed (see :meth:`detach`)."""
        if slot is not None:
            self._attach(part, slot)

    def expire(self, now: float) -> int:
        """Remove every entry whose slot has begun by ``now``; returns how many lapsed."""
        lapsed = 0
        self._horizon = max(self._horizon, now)
        while self._heap and self._heap[0] <= now:
            slot = heapq.heappop(self._heap)
            for entry in self._buckets.pop(slot, {}).values():
                segment = entry.segment.live()
                segment.remove(entry.successes, entry.failures, entry.n, entry.t, self._rate)
                lapsed += entry.n
        return lapsed

    def _attach(self, part: Part, slot: int) -> None:
        if slot <= self._horizon:  # would count as lapsed before it was removed: next slot
            slot = math.floor(self._horizon) + 1
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = self._buckets[slot] = {}
            heapq.heappush(self._heap, slot)
        entry = bucket.get(id(part.segment))
        if entry is None:
            entry = bucket[id(part.segment)] = _Entry(part.segment)
        if part.t >= entry.t:
            # Keep the entry valued at its newest charge so every factor is <= 1.
            factor = decay_factor(self._rate, part.t - entry.t)
            entry.successes = entry.successes * factor + part.successes
            entry.failures = entry.failures * factor + part.failures
            entry.t = part.t
        else:
            factor = decay_factor(self._rate, entry.t - part.t)
            entry.successes += part.successes * factor
            entry.failures += part.failures * factor
        entry.n += 1
        part.ttl = slot
