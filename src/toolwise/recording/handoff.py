"""Deferred recording: the tool call hands its raw result over; a thread makes the record.

Building a record (judge, redact, validate, serialise) and appending it to the spool adds about
a third to a no-op tool call (``docs/performance.md``). Under ``durability="deferred"`` (the
default) the hot path only appends ``(call, result, latency)`` to a deque and a daemon thread
builds and spools the records when the agent pauses:

* after ``idle_after`` seconds without a new call (agents spend most of their time waiting on
  the model, with the GIL free, so this work is invisible to them);
* at the latest ``max_delay`` seconds after the oldest waiting call — the window a crash of
  the process (SIGKILL, OOM kill, power loss) can lose, the same order as the spool's fsync
  interval;
* at once when ``high_water`` calls wait, and whenever anyone reads, flushes, persists or
  closes (:meth:`Handoff.drain` runs in the caller's thread). Should calls ever outrun the
  thread, a put that finds ``4 × high_water`` waiting drains them itself: memory stays
  bounded, at the price of that one call.

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

__all__ = ["Handoff"]

log = logging.getLogger("toolwise.handoff")

_IDLE_RECHECK = 1.0  # seconds; puts wake the thread, this only bounds a wake-up lost to a bug

T = TypeVar("T")


class Handoff(Generic[T]):
    """An unbounded-by-design, drained-by-deadline queue between tool calls and the spool.

    Args:
        process: turns one queued item into a stored record; must not raise (a raise is
            logged and the item counted as lost).
        idle_after: seconds without a new item before the thread drains.
        max_delay: seconds the oldest item may wait while calls keep arriving.
        high_water: items waiting that trigger a drain at once.
    """

    def __init__(
        self,
        process: Callable[[T], object],
        *,
        idle_after: float = 0.005,
        max_delay: float = 1.0,
        high_water: int = 10_000,
        name: str = "toolwise-handoff",
    ) -> None:
        self._process = process
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

    def put(self, item: T) -> None:
        """Queue one item (lock-free unless the thread sleeps with nothing to do)."""
        now = time.monotonic()
        self._items.append((item, now))  # deque.append is atomic: no lock per call
        self._last_put = now
        if self._closed:  # nobody drains any more: do it here, in the caller's thread
            self.drain()
            return
        waiting = len(self._items)
        if waiting >= self._hard_limit:  # the thread cannot keep up: the caller helps
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
                try:
                    self._process_one(item)
                finally:
                    self._in_hand = 0
                    done += 1
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
                delay = self._time_until_due(time.monotonic())
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
        due = min(self._last_put + self._idle_after, oldest + self._max_delay)
        return max(0.0, due - now)
