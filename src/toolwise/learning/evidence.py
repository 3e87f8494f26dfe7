"""Decayed evidence for one aggregate key, kept so every charge can later be taken back.

Counts decay lazily (``segment``): a :class:`Segment` stores its mass at a reference time
``t``, so an update is O(1) and a read never scans outcomes. Each charge is a :class:`Part`
that remembers its exact increment, so an infrastructure event or a TTL expiry can remove it
again, correctly decayed.

Not thread-safe on its own: the view holds its lock around every call.
"""

from __future__ import annotations

import math
from collections import deque

from toolwise.learning.hold import Hold
from toolwise.learning.recovery import Recovery
from toolwise.learning.samples import SampleSums
from toolwise.learning.scan import History
from toolwise.learning.segment import Segment, decay_factor

__all__ = ["Evidence", "Part", "Segment", "decay_factor"]


class Part:
    """One outcome's charge to one aggregate: the exact increment, so it can be reverted."""

    __slots__ = ("evidence", "failures", "segment", "successes", "t", "ttl")

    def __init__(
        self, evidence: Evidence, segment: Segment, successes: float, failures: float, t: float
    ) -> None:
        self.evidence = evidence
        self.segment = segment
        self.successes = successes
        self.failures = failures
        self.t = t
        self.ttl: int | None = None  # expiry slot, when the outcome has a TTL


_NO_FLOATS: deque[float] = deque(maxlen=0)
_NO_ERRORS: deque[str] = deque(maxlen=0)
_NO_SUMS = SampleSums()  # of the empty reservoirs: nothing is ever added to it


class Evidence:
    """Everything learnt for one key: live segment, recent window, latencies, costs, errors.

    Args:
        window: how many recent charges the change detector may look back over.
        reservoir: how many recent latencies and costs to keep; ``0`` keeps none (used for
            time-bucketed keys, which borrow their latency from the un-bucketed context).
        scan: keep a compressed history for the slow change scan (``scan``); only without
            wall-clock decay, whose forgetting the history would not follow.
    """

    __slots__ = (
        "_sums",
        "archived",
        "changed_from",
        "changes",
        "charges",
        "costs",
        "current",
        "errors",
        "former",
        "former_at_break",
        "held",
        "history",
        "history_before",
        "last_change_at",
        "latencies",
        "recovery",
        "restored_at",
        "restored_charges",
        "trigger",
        "updated",
        "window",
        "window_failures",
        "window_successes",
    )

    def __init__(self, window: int, reservoir: int, *, scan: bool = False) -> None:
        self.current = Segment()
        self.history: History | None = History() if scan else None
        # The slow scan's record before its last downward split, until the split's verdict:
        # an outage revert of the split puts it back (else the scan would see only the run).
        self.history_before: History | None = None
        self.archived: Segment | None = None
        self.held: Hold | None = None  # the record before another tool's break (``hold``)
        # The other regime's record (``regime``), and whether the last break set it aside
        # (an outage revert of that break then merges it back with the archive).
        self.former: Segment | None = None
        self.former_at_break = False
        self.trigger: set[Part] = set()
        self.window: deque[Part] = deque(maxlen=window)
        # Undecayed sums over the window: cheap upper bounds that let the change detector
        # skip almost every outcome without looking at the window (see changepoint.can_fire).
        self.window_successes = 0.0
        self.window_failures = 0.0
        # Time buckets keep no samples: they share one empty store (maxlen 0 drops appends).
        self.latencies: deque[float] = deque(maxlen=reservoir) if reservoir else _NO_FLOATS
        self.costs: deque[float] = deque(maxlen=reservoir) if reservoir else _NO_FLOATS
        self.errors: deque[str] = deque(maxlen=3) if reservoir else _NO_ERRORS
        # Their summaries, kept current sample by sample: reads outnumber writes per key.
        self._sums = SampleSums() if reservoir else _NO_SUMS
        self.changes = 0
        self.changed_from: float | None = None  # first outcome of the run a reset kept
        self.charges = 0  # ever made, never taken back: a cheap version number for caches
        self.last_change_at: float | None = None
        self.restored_at: float | None = None
        self.restored_charges = 0
        self.updated: float | None = None
        # Set after a downward change: when to re-try, and the test that restores the archive.
        self.recovery: Recovery | None = None

    def charge(self, successes: float, failures: float, t: float, rate: float) -> Part:
        """Add one outcome's mass to the live segment and the recent window."""
        segment = self.current
        if t > segment.t:  # Segment.add inlined: this runs for every level of every outcome
            if segment.successes or segment.failures:
                factor = math.exp(-rate * (t - segment.t))
                segment.successes = segment.successes * factor + successes
                segment.failures = segment.failures * factor + failures
            else:
                segment.successes, segment.failures = successes, failures
            segment.t = t
            segment.n += 1
        else:
            segment.add(successes, failures, 1, t, rate)
        part = Part(self, segment, successes, failures, t)
        window = self.window
        if len(window) == window.maxlen:
            self._leave_window(window[0])
        window.append(part)
        self.window_successes += successes
        self.window_failures += failures
        self.charges += 1
        if self.history is not None:
            self.history.add(successes, failures)
        if self.updated is None or t > self.updated:
            self.updated = t
        return part

    def note(self, latency_ms: float | None, cost: float | None, error: str) -> None:
        """Remember a latency, a cost and an error message (bounded, most recent kept)."""
        latencies = self.latencies
        if not latencies.maxlen:  # a time bucket: keeps no samples
            return
        if latency_ms is not None:
            self._sums.add_latency(latency_ms, latencies)  # before: it sees what leaves
            latencies.append(latency_ms)
        if cost is not None:
            self._sums.add_cost(cost, self.costs)
            self.costs.append(cost)
        if error:
            self.errors.append(error)

    def restart(self, keep: int, t: float, rate: float, *, downward: bool) -> list[Part]:
        """Forget the evidence before the last ``keep`` charges: a change point was found.

        After a downward change the old segment is archived, not dropped: it is merged back
        by :meth:`restore` when the tool proves to be back, or by :meth:`revert` when the
        failures that triggered the reset are blamed on an infrastructure outage. An upward
        change (a recovery) keeps any archive and its restore test, and ends the re-tries;
        the failing segment it leaves behind is dropped.

        Returns:
            The kept charges, now pointing at the new segment (the caller moves their TTL).
        """
        self.release(rate, merge=downward)  # a held record broke too: it is part of the old
        kept = list(self.window)[-keep:]
        old, new = self.current, Segment()
        for part in kept:
            old.remove(part.successes, part.failures, 1, part.t, rate)
            new.add(part.successes, part.failures, 1, part.t, rate)
            part.segment = new
        # After a break the scan's history is left whole: most fast restarts of a steady tool
        # are false alarms, soon restored, and a history cut at each of them would never
        # hold enough of a slow slide to show it (the scan waits while the archived record
        # awaits its verdict). After a recovery it restarts with the live record.
        if not downward and self.history is not None:
            self.history.reset([(p.successes, p.failures) for p in kept])
        self._begin(new, kept, t, downward=downward)
        return kept

    def split(
        self,
        count: int,
        successes: float,
        failures: float,
        t: float,
        rate: float,
        *,
        downward: bool,
    ) -> list[Part]:
        """Restart from the last ``count`` outcomes found by the slow scan (no decay).

        Like :meth:`restart`, but the run after the change point may be longer than the
        window: its mass comes from the history, and only the charges still in the window
        are moved (the caller moves their TTL).
        """
        self.release(rate, merge=downward)
        kept = list(self.window)[-count:]
        old, new = self.current, Segment()
        old.successes = max(old.successes - successes, 0.0)
        old.failures = max(old.failures - failures, 0.0)
        old.n = max(old.n - count, 0)
        new.successes, new.failures, new.n, new.t = successes, failures, count, t
        for part in kept:
            part.segment = new
        older = None
        if self.history is not None and downward:
            older = self.history.split_off(count)  # kept until the verdict (see ``revert``)
        elif self.history is not None:
            self.history.keep_last(count)
        self._begin(new, kept, t, downward=downward)
        self.history_before = older
        return kept

    def _begin(self, new: Segment, kept: list[Part], t: float, *, downward: bool) -> None:
        """Make ``new`` the live segment after a change point (shared by both restarts)."""
        old = self.current
        if downward:
            self.archived = old
            self.former_at_break = False  # the caller sets it when this break kept a former
            self.trigger = {p for p in kept if p.failures > p.successes}
            self.recovery = None  # the caller starts a new one
        elif self.recovery is not None:
            self.recovery.stop_retrying()
        self.current = new
        self.history_before = None
        self.window = deque(kept, maxlen=self.window.maxlen)
        self.window_successes = sum(p.successes for p in kept)
        self.window_failures = sum(p.failures for p in kept)
        self.changes += 1
        self.last_change_at = t
        self.changed_from = min((p.t for p in kept), default=t)

    def revert(self, part: Part, rate: float, *, counted: bool = True) -> None:
        """Take one charge back (it was an infrastructure failure).

        When the last of the failures that caused a reset is taken back, the reset was a false
        alarm: the archived evidence is merged back into the live segment.

        Args:
            part: the charge.
            rate: decay constant per second.
            counted: False when its mass already left (its TTL lapsed): only the bookkeeping
                is undone, so nothing is removed twice.
        """
        if counted:
            part.segment.live().remove(part.successes, part.failures, 1, part.t, rate)
        if part in self.window:  # else already pushed out of the bounded window
            self.window.remove(part)
            self._leave_window(part)
        if counted and self.history is not None:
            self.history.take_back(part.successes, part.failures)
        if self.archived is not None and part in self.trigger:
            self.trigger.discard(part)
            if not self.trigger:
                self.current.absorb(self.archived, rate)
                if self.former is not None and self.former_at_break:
                    self.current.absorb(self.former, rate)
                    self.former = None
                self.archived = None
                self.recovery = None
                self.changes = max(0, self.changes - 1)
                if self.history_before is not None and self.history is not None:
                    self.history.rejoin(self.history_before)
                self.history_before = None

    def restore(self, t: float, rate: float) -> None:
        """The tool is back: merge the archived record into the live one, end the recovery."""
        if self.archived is not None:
            self.current.absorb(self.archived, rate)
        self.archived = None
        self.trigger = set()
        self.recovery = None
        self.history_before = None
        self.restored_at = t
        self.restored_charges = self.charges
        self.changed_from = None

    def start_over(self) -> None:
        """Set everything learnt aside (archived, latencies kept): it no longer applies.

        Used for a time bucket whose evidence all predates a change of its task type.
        """
        self.archived = self.current
        self.current = Segment()
        self.trigger = set()
        self.recovery = None
        self.history_before = None
        self.window.clear()
        self.window_successes = self.window_failures = 0.0
        if self.history is not None:
            self.history.reset([])

    def archived_mass(self, now: float, rate: float) -> tuple[float, float]:
        """Decayed ``(successes, failures)`` of the archived record, ``(0, 0)`` without one."""
        archived = self.archived
        return archived.at(now, rate) if archived is not None else (0.0, 0.0)

    def set_aside_mass(self, now: float, rate: float) -> tuple[float, float]:
        """The archived record's mass plus a held one's (``hold``): what the key knew before.

        A held record kept as the former one at the last break (``regime``) counts too.

        The outage test reads it as part of the usual rate: a reset or a hold during an
        outage must not make the outage look like the usual state of affairs.
        """
        s, f = self.archived_mass(now, rate)
        if self.former is not None and self.former_at_break:
            fs, ff = self.former.at(now, rate)
            s, f = s + fs, f + ff
        held = self.held
        if held is not None and not held.lifted:
            hs, hf = held.segment.at(now, rate)
            s, f = s + hs, f + hf
        return s, f

    def _leave_window(self, part: Part) -> None:
        # Plain comparisons, not max(): this runs once per charge on the hot path.
        successes = self.window_successes - part.successes
        failures = self.window_failures - part.failures
        self.window_successes = successes if successes > 0.0 else 0.0
        self.window_failures = failures if failures > 0.0 else 0.0

    def mass(self, now: float, rate: float) -> tuple[float, float]:
        """Decayed ``(successes, failures)`` the key's estimate rests on at ``now``.

        The live segment's, plus, while the record is held (``hold``), what the held record
        lends — all of it once the hold is lifted (it is merged at the next charge).
        """
        current = self.current
        if rate > 0.0 and now > current.t:  # Segment.at inlined: a recommend reads ~120
            factor = math.exp(-rate * (now - current.t))
            live = current.successes * factor, current.failures * factor
        else:
            live = current.successes, current.failures
        held = self.held
        if held is None:
            return live
        old = held.segment.at(now, rate) if held.lifted else held.loan(live, now, rate)
        return live[0] + old[0], live[1] + old[1]

    def hold(
        self,
        cause: Evidence | None,
        strength: float,
        base: tuple[float, float],
        *,
        final: bool = False,
        rate: float = 0.0,
    ) -> None:
        """Set the record aside as a prior of at most ``strength`` observations (``hold``).

        A record already held (and not lifted) is set aside with the live one, under the new
        cause: undoing the new break gives back both.
        """
        if self.held is not None and self.held.lifted:
            self.release(rate, merge=True)
        record, held = self.current, self.held
        if held is not None:
            held.segment.absorb(record, rate)
            record = held.segment
        self.held = Hold(record, cause, strength, base, final=final)
        self.current = Segment()
        self.window.clear()
        self.window_successes = self.window_failures = 0.0
        if self.history is not None:
            self.history.reset([])

    def release(self, rate: float, *, merge: bool) -> None:
        """End a hold: merge the held record back (the tool did not change), or drop it."""
        held = self.held
        self.held = None
        if held is not None and merge:
            self.current.absorb(held.segment, rate)

    def latency_summary(self) -> tuple[float | None, float | None, float | None]:
        """``(mean, p50, p95)`` of the recent latencies in ms, or ``None`` without any."""
        return self._sums.latency_summary(self.latencies)

    def speed_stats(self, ceiling_ms: float) -> tuple[float, float, int]:
        """``(mean, variance, count)`` of the per-call speed score ``max(0, 1 − L / ceiling)``.

        Over the recent latencies. The mean of this score is what the objective rewards, so
        a heavy tail lowers it where a median would not see it.
        """
        return self._sums.speed_stats(ceiling_ms, self.latencies)

    def p50_latency(self) -> float | None:
        """Median of the recent latencies in ms, or ``None`` without any."""
        return self._sums.p50_latency(self.latencies)

    def mean_cost(self) -> float | None:
        """Mean of the recent costs, or ``None`` without any."""
        return self._sums.mean_cost(self.costs)
