"""Is the store alive? One heartbeat at a time, in a thread no store call can hold up.

A call that misses its deadline says only that the store is slow: busy (a ``chroma run``
server indexing a burst, 32 clients on 2 cores) or frozen (SIGSTOP: nothing answers, ever).
A heartbeat tells them apart — a busy server answers it in milliseconds, a frozen one never.
It runs in a worker of its own: in the store's workers it would queue behind the very calls
that are slow, and a busy store would look frozen. Everyone who asks while one is out shares
it, so a burst of late calls costs the store one heartbeat.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError

from toolwise.storage.deadline import Alarms, Workers

__all__ = ["Heartbeat"]


class Heartbeat:
    """Asks the store whether it is alive, at most one question at a time.

    Args:
        probe: one heartbeat; returns when the store answered, raises when it could not.
        timeout: seconds the store has to answer (``StoreTimeouts.connect``).
        alarms: keeps the timeout, so nobody blocks a thread to wait for it.

    Thread-safe.
    """

    def __init__(self, probe: Callable[[], object], timeout: float, alarms: Alarms) -> None:
        self._probe = probe
        self._timeout = timeout
        self._alarms = alarms
        # One thread: a heartbeat stuck on a frozen server holds it, so the next waits in
        # the queue, misses its timeout and is dropped there (never adding a thread).
        self._worker = Workers(limit=1, name="toolwise-store-heartbeat")
        self._lock = threading.Lock()
        self._out: Future[bool] | None = None

    def ask(self) -> Future[bool]:
        """Whether the store answers within the timeout: ``True``, else ``False`` (it raised,
        or stayed silent). The future is settled within the timeout, from a background
        thread (the heartbeat's, or the alarms')."""
        with self._lock:
            if self._out is not None and not self._out.done():
                return self._out  # asked already: the same answer serves everyone
            alive: Future[bool] = Future()
            self._out = alive
        beat = self._worker.submit(self._probe)
        beat.add_done_callback(lambda done: _settle(alive, _answered(done)))

        def silent() -> None:
            beat.cancel()  # still queued behind a stuck one: never sent
            _settle(alive, False)

        self._alarms.at(time.monotonic() + self._timeout, silent)
        return alive

    def alive(self) -> bool:
        """:meth:`ask`, waited for (at most the timeout)."""
        answer = self.ask()
        try:
            return answer.result(self._timeout)
        except TimeoutError:  # the alarm is late (a loaded machine): the store was too
            return False


def _answered(beat: Future[object]) -> bool:
    return not beat.cancelled() and beat.exception() is None


def _settle(alive: Future[bool], answer: bool) -> None:
    """The first verdict stands: the heartbeat's own or its timeout's."""
    with contextlib.suppress(InvalidStateError):
        alive.set_result(answer)
