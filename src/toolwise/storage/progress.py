"""Is the store getting through its work? A heartbeat says it is alive, answers say it works.

A store can answer heartbeats while its calls hang: a ``chroma run`` server whose request
threads are all stuck (its heartbeat is served without them), an index lock never released,
an embedded store on a disk that hangs. Busy is not stuck: a busy store answers *some* calls,
late ones included. So the guard notes when the store last answered any call, and which calls
are late; when several are late and the store has answered none of its calls for
``StoreTimeouts.stall`` seconds, it is stuck, heartbeat or not. One late call alone is never
enough: it may be the one big page or batch ``max_read`` is there for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["Progress"]

_SEVERAL = 2
"""Late calls it takes to call a silent store stuck: one may be a big page, a second one
started while it ran and unanswered too means the store is not getting through its work."""


class Progress:
    """When the store last answered a call, which calls are late, and whether it is stuck.

    Args:
        stall: seconds without an answer to any call, while calls are late, that make the
            store stuck (:attr:`StoreTimeouts.stall`).
        failed_to_reach: whether a finished call raised an outage (no answer from the store).
        clock: monotonic seconds.

    Thread-safe.
    """

    def __init__(
        self,
        stall: float,
        failed_to_reach: Callable[[Future[Any]], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stall = stall
        self._failed_to_reach = failed_to_reach
        self._clock = clock
        self._answered_at = clock()
        self._late: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self._stuck_since: float | None = None

    def watch(self, running: Future[Any]) -> None:
        """Note the time ``running`` is answered (a result, or a refusal: the store was there)."""
        running.add_done_callback(self._answered)

    def late(self, running: Future[Any]) -> None:
        """``running`` missed its deadline and is still outstanding."""
        with self._lock:
            self._late.add(running)

    def stuck(self, started: float) -> str:
        """Why the store is stuck, seen from a late call that started at ``started``, or
        ``""``: several calls late, none of them nor any other answered for ``stall`` s."""
        quiet = self._clock() - max(started, self._answered_at)
        if quiet < self.stall:
            return ""
        late = self._outstanding()
        if late < _SEVERAL:
            return ""
        return (
            f"stuck: no call answered within {self.stall:g} s while {late} were late, "
            "though the store answers heartbeats"
        )

    def stick(self) -> None:
        """The store was found stuck: :meth:`unstuck` holds until it answers a call."""
        self._stuck_since = self._clock()

    def unstuck(self) -> str:
        """Why the store is still stuck (its late calls unanswered since :meth:`stick`; a
        heartbeat is no evidence), or ``""`` once it answered one or none is left."""
        since = self._stuck_since
        if since is None:
            return ""
        late = self._outstanding()
        if self._answered_at > since or late == 0:
            self._stuck_since = None
            return ""
        return f"stuck: {late} late calls still unanswered, though the store answers heartbeats"

    def _outstanding(self) -> int:
        with self._lock:
            self._late = {call for call in self._late if not call.done()}
            return len(self._late)

    def _answered(self, done: Future[Any]) -> None:
        if not done.cancelled() and not self._failed_to_reach(done):
            self._answered_at = self._clock()
