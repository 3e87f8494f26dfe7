"""``LostRecords``: the log lines for records the spool could not take — loud, never a flood.

A full disk, a spool directory gone read-only, or tool calls still finishing after
``close()`` fail every record, one per tool call. A line per record flooded the log (500
lines a second from a busy agent, often onto the disk that is full) and buried the first
line, the one that says why. Each record is still counted (``counters.dropped``); the log
says at once that records are being lost and why, then at most once a ``every`` seconds how
many more, and once when the spool takes records again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["REPORT_EVERY", "LostRecords"]

REPORT_EVERY = 60.0
"""Seconds between two log lines of one run of losses (the first is logged at once)."""


class LostRecords:
    """Reports records lost to the spool: the first of a run at once, then a count.

    Args:
        log: where the lines go (ERROR for losses, WARNING when the spool recovers).
        every: seconds between two lines of one run of losses.
        clock: monotonic seconds (injected by tests).

    Thread-safe; :meth:`spooled` costs one attribute read unless a run of losses just ended.
    """

    def __init__(
        self,
        log: logging.Logger,
        *,
        every: float = REPORT_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._losing = False  # read unlocked on the hot path: a stale False only delays a line
        self._lost = 0  # in the current run
        self._unreported = 0  # lost since the last line
        self._next_report = 0.0

    def lost(self, error: BaseException, *, closed: bool) -> None:
        """One record was not spooled because of ``error``; ``closed``: toolwise was closed."""
        with self._lock:
            self._lost += 1
            self._unreported += 1
            now = self._clock()
            if self._losing and now < self._next_report:
                return
            first = not self._losing
            self._losing = True
            self._next_report = now + self._every
            count, self._unreported = self._unreported, 0
        if closed and first:
            self._log.error(
                "toolwise: RECORD LOST — a tool call finished after close(); calls after "
                "close() are not recorded (each is counted in counters.dropped; this is "
                "logged once a %.0f s)",
                self._every,
            )
        elif first:
            self._log.error(
                "toolwise: RECORD LOST — the spool cannot be written: %s (each record lost is "
                "counted in counters.dropped; this is logged once a %.0f s until the spool "
                "takes records again)",
                error,
                self._every,
            )
        else:
            self._log.error(
                "toolwise: RECORD LOST — %d more record(s) lost (%d in all since the first): %s",
                count,
                self._lost,
                "toolwise is closed" if closed else error,
            )

    def spooled(self) -> None:
        """A record was spooled: a run of losses, if one was going on, has ended."""
        if not self._losing:
            return
        with self._lock:
            if not self._losing:
                return
            lost, self._lost, self._unreported = self._lost, 0, 0
            self._losing = False
        self._log.warning(
            "toolwise: the spool takes records again; %d record(s) were lost before it did",
            lost,
        )
