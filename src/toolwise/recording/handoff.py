"""Deferred recording: the tool call hands its raw result over; a thread makes the record.

Building a record (judge, redact, validate, serialise) and appending it to the spool adds about
a third to a no-op tool call (``docs/performance.md``). Under ``durability="deferred"`` (the
default) the hot path only appends ``(call, result, latency)`` to a deque and a daemon thread
builds and spools the records when the agent pauses:

* after ``idle_after`` seconds without a new call (agents spend most of their time waiting on
  the model, with the GIL free, so this work is invisible to them);
* early enough that the oldest waiting call is spooled ``max_delay`` seconds after it was
  queued — the window a crash of the process (SIGKILL, OOM kill, power loss) can lose, the same
  order as the spool's fsync interval;
* at once when ``high_water`` calls wait, and whenever anyone reads, flushes, persists or
  closes (:meth:`Handoff.drain` runs in the caller's thread).

The window is a bound, not a target: the thread can fall behind (calls that arrive faster than
records are built — 10 KB outputs full of secrets to redact — or a busy interpreter that gives
it little time). So every put checks the backlog: when the oldest waiting call's age plus the
time to process everything waiting (the measured cost per item × the queue length) reaches
``max_delay``, the calling thread processes the queue itself before it returns. A tool call
then pays for recording, but no call waits unspooled much past ``max_delay`` (one item's
processing time, and the estimate's error, is the slack). The very first put is processed by
its caller, to measure the cost before any backlog exists. A put that finds
``4 × high_water`` waiting also drains: memory stays bounded.

``durability="immediate"`` keeps the older behaviour: every record is spooled before the tool
call returns, so it survives a SIGKILL the moment the call is over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["MAX_DELAY", "Handoff"]

log = logging.getLogger("toolwise.handoff")

MAX_DELAY = 1.0
"""Seconds a finished call may wait unspooled by default: what a SIGKILL can lose."""
_COST_WEIGHT = 0.1  # weight of the newest item in the moving average of the per-item cost
_UNMEASURED = -1.0
_IDLE_RECHECK = 1.0  # seconds; puts wake the thread, this only bounds a wake-up lost to a bug

T = TypeVar("T")


class Handoff(Generic[T]):
    """An unbounded-by-design, drained-by-deadline queue between tool calls and the spool.

    Args:
        process: turns one queued item into a stored record; must not raise (a raise is
            logged and the item counted as lost).
        idle_after: seconds without a new item before the thread drains.
        max_delay: seconds an item may wait unprocessed: the bound on what a crash loses.
        high_water: items waiting that trigger a drain at once.
        clock: monotonic seconds (inject a simulated one in tests).
    """

    def __init__(
        self,
        process: Callable[[T], object],
        *,
        idle_after: float = 0.005,
        max_delay: float = MAX_DELAY,
        high_water: int = 10_000,
        name: str = "toolwise-handoff",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._process = process
        self._clock = clock
        self._cost = _UNMEASURED  # seconds to process one item: a moving average (drain)
        self.helped = 0  # puts that processed the backlog themselves to keep the bound
        self._idle_after = idle_after
        self._max_delay = max_delay
        self._high_water = high_water
        self._hard_limit = 4 * high_water  # memory stays bounded even if producers outrun it
        self._items: deque[tuple[T, float]] = deque()
        self._in_hand = 0  # 1 while a drainer processes an item it took off the deque
        self._last_put = 0.0
        self._sleeping = False
        self._stopping = False
        self._closed = False
        self._cond = threading.Condition(threading.Lock())
        self._drain_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- hot path -----------------------------------------------------------------------------

    @property
    def max_delay(self) -> float:
        """Seconds an item may wait unprocessed (what a crash of the process can lose)."""
        return self._max_delay

    def put(self, item: T) -> None:
        """Queue one item (lock-free unless the thread sleeps with nothing to do, or the
        backlog would outlive ``max_delay``: then this thread processes it)."""
        now = self._clock()
        items = self._items
        items.append((item, now))  # deque.append is atomic: no lock per call
        self._last_put = now
        if self._closed:  # nobody drains any more: do it here, in the caller's thread
            self.drain()
            return
        waiting = len(items)
        try:
            oldest = items[0][1]
        except IndexError:  # drained meanwhile
            return
        cost = self._cost
        if (
            cost < 0.0  # the first put measures what an item costs, in the caller
            or waiting >= self._hard_limit
            or now - oldest + waiting * cost >= self._max_delay
        ):
            self.helped += cost >= 0.0  # the thread is behind: the caller keeps the bound
            self.drain()
        elif self._sleeping or waiting >= self._high_water:
            with self._cond:
                self._sleeping = False
                self._cond.notify()

    # -- draining -----------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Items accepted but not yet processed (a snapshot: it may be one off mid-drain)."""
        return len(self._items) + self._in_hand

    def drain(self) -> int:
        """Process everything queued so far, in order, in the calling thread; how many.

        Bounded by what was queued when the drain began, so callers that keep putting
        (other threads' tool calls) cannot keep a ``flush()`` draining forever.
        """
        done = 0
        with self._drain_lock:
            for _ in range(len(self._items)):
                self._in_hand = 1  # counted twice for a moment rather than not at all
                try:
                    item, _ = self._items.popleft()
                except IndexError:
                    self._in_hand = 0
                    return done
                started = self._clock()
                try:
                    self._process_one(item)
                finally:
                    self._in_hand = 0
                    done += 1
                    sample = self._clock() - started
                    cost = self._cost
                    self._cost = sample if cost < 0.0 else cost + (sample - cost) * _COST_WEIGHT
        return done

    def _process_one(self, item: T) -> None:
        try:
            self._process(item)
        except Exception:  # the processor promises not to raise; never lose silently
            log.exception("toolwise: a recorded call could not be processed")

    def close(self, timeout: float = 10.0) -> None:
        """Drain what is queued and stop the thread (later puts are drained by the caller)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)
        self._closed = True
        self.drain()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                delay = self._time_until_due(self._clock())
                if delay is None:
                    self._sleeping = True  # set before the put's check: no missed wake-up
                    if not self._items:
                        self._cond.wait(timeout=_IDLE_RECHECK)
                    self._sleeping = False
                    continue
                if delay > 0:
                    self._cond.wait(timeout=delay)
                    continue
            self.drain()

    def _time_until_due(self, now: float) -> float | None:
        """Seconds until the queue must be drained; None when it is empty."""
        try:
            oldest = self._items[0][1]
        except IndexError:
            return None
        if self._stopping or len(self._items) >= self._high_water:
            return 0.0
        # Start early enough to have processed everything waiting by the oldest's deadline.
        deadline = oldest + self._max_delay - len(self._items) * max(0.0, self._cost)
        due = min(self._last_put + self._idle_after, deadline)
        return max(0.0, due - now)
