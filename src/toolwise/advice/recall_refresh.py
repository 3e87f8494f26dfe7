"""Background refreshes of recall answers: one thread, one store query at a time.

A recall answer past ``recall_ttl`` is still served while a query replaces it
(:class:`~toolwise.advice.recall_cache.RecallCache`). Those queries run here, in thread
``toolwise-recall-refresh``, one at a time so a burst of stale answers asks the store gently
rather than all at once; the thread ends when nothing is queued, and the next refresh starts
one again (in a forked child too: threads do not survive a fork).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["RecallRefresher"]

log = logging.getLogger("toolwise.advice")


class RecallRefresher:
    """Runs queued refreshes in one daemon thread, in order, ended when idle. Thread-safe."""

    def __init__(self) -> None:
        self._queue: deque[Callable[[], None]] = deque()
        self._running: int | None = None  # the pid whose refresh thread is running
        self._lock = threading.Lock()

    def submit(self, refresh: Callable[[], None]) -> None:
        """Queue ``refresh``; start this process's thread if none is running. If none can
        start (a process out of threads), the queued refreshes run in the caller's thread:
        left queued, their questions' flights would never land, and a brief that joins one
        without a budget would wait for ever (no brief of that question submits again)."""
        pid = os.getpid()
        with self._lock:
            self._queue.append(refresh)
            if self._running == pid:
                return
            self._running = pid
        try:
            threading.Thread(
                target=self._drain, name="toolwise-recall-refresh", daemon=True
            ).start()
        except RuntimeError as exc:  # "can't start new thread"
            log.warning("toolwise: no thread to refresh recall answers (%s); refreshing here", exc)
            with self._lock:
                queued, self._queue = self._queue, deque()
                self._running = None  # the next submit tries a thread again
            for each in queued:
                _run(each)

    def after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's refresh thread may have held it at
        the fork) and none of the parent's queued refreshes: they are the parent's, and their
        flights carry the parent's pid, so no brief of the child waits for them. ``_running``
        is checked against the pid: the child's first refresh starts a thread of its own."""
        self._lock = threading.Lock()
        self._queue = deque()

    def _drain(self) -> None:
        """Run the queued refreshes one at a time (gentle on the store); end when idle."""
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        # Idle, in the same hold as the check: a refresh queued after it starts
                        # a thread; set later, it would sit in the queue with its question's
                        # flight, which briefs join and never see land.
                        self._running = None
                        return
                    refresh = self._queue.popleft()
                _run(refresh)
        except BaseException:  # ended: the next refresh starts a thread again
            with self._lock:
                self._running = None
            raise


def _run(refresh: Callable[[], None]) -> None:
    """Run one refresh; a failure is logged (it must end neither the thread nor a brief)."""
    try:
        refresh()
    except Exception as exc:
        log.warning("toolwise: refreshing a recall failed: %s", exc)
