"""Tails the outcome log for what other writers stored, so one process learns another's records.

When other processes write to the same store (a ``chroma run`` server), the feed looks every
``refresh_interval`` seconds (1 s by default with a server) for the records stored since its
last look, minus a short overlap (:data:`TAIL_OVERLAP`), by the rows' store time (one indexed
range query per agent, ids only; only the rows it has not seen yet are read), deduplicated by
id so nothing is counted twice. Every :data:`SWEEP_INTERVAL` seconds it also looks back
:data:`SWEEP_OVERLAP` by record time, which finds rows of writers from before store times
existed, and rows whose write took longer than the overlap to become visible. Model turns never
wait for it: they read the view as it is.

:class:`TailCursor` is where the last look ended and what the next one asks for;
:class:`TailThread` is the daemon thread that looks. Learning what a look found, and the
locking around it, stay with :class:`~toolwise.learning.feed.LearningFeed`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import datetime, timedelta

from toolwise.models import ToolOutcome
from toolwise.storage.protocol import OutcomeStore, TailingStore

__all__ = ["SWEEP_INTERVAL", "SWEEP_OVERLAP", "TAIL_OVERLAP", "Look", "TailCursor", "TailThread"]

TAIL_OVERLAP = 3.0
"""Seconds a tail looks back before its last look: a row stamped just before that look may
become visible just after it (the upsert in flight), and clocks of machines differ a little."""
SWEEP_INTERVAL = 30.0
"""Seconds between look-backs by record time (and the refresh of a store that cannot tail)."""
SWEEP_OVERLAP = timedelta(minutes=2)
"""How far a sweep looks back, by record time, before the previous sweep."""


@dataclass(frozen=True, slots=True)
class Look:
    """What one look found, and what :meth:`TailCursor.advance` needs to move past it.

    Attributes:
        found: the records stored since the last look (ids in ``known`` left out).
        started: store time (epoch s) the look began; the next look starts from it.
        now: the clock's reading at the look (record time of a sweep).
        sweep: whether it also looked back by record time.
    """

    found: list[ToolOutcome]
    started: float
    now: datetime
    sweep: bool


class TailCursor:
    """Where the tail stands: the store time of the last look, the record time of the last sweep.

    Not thread-safe: the feed moves it under its load lock (one build or look at a time).
    """

    def __init__(self) -> None:
        self.watermark = 0.0  # store time (epoch s) up to which other writers were read
        self._swept_at: datetime | None = None  # record time of the last sweep
        self._swept_mono = 0.0

    def restart(self, watermark: float, now: datetime) -> None:
        """A build read every record up to ``watermark`` (store time) at ``now``."""
        self.watermark = watermark
        self._swept_at = now
        self._swept_mono = time.monotonic()

    def look(
        self, store: OutcomeStore, clock: Callable[[], datetime], known: Container[str]
    ) -> Look | None:
        """Ask ``store`` for what was stored since the last look (``None``: a store that
        cannot tail, between two sweeps, is not asked).

        Raises:
            Exception: whatever the store raised (the caller serves what it knows).
        """
        started = time.time()
        now = clock()
        sweep = time.monotonic() - self._swept_mono >= SWEEP_INTERVAL
        if isinstance(store, TailingStore):
            found = store.recent(self.watermark - TAIL_OVERLAP, now=now, known=known)
            if sweep:
                since = (self._swept_at or now) - SWEEP_OVERLAP
                found += store.recent(since.timestamp(), now=now, key="timestamp", known=known)
        elif sweep:
            since = (self._swept_at or now) - SWEEP_OVERLAP
            found = list(store.iter_outcomes(None, since=since, now=now))
        else:
            return None
        return Look(found, started, now, sweep)

    def advance(self, look: Look) -> None:
        """Everything ``look`` found was learnt: the next look starts where it began."""
        self.watermark = look.started
        if look.sweep:
            self._swept_at = look.now
            self._swept_mono = time.monotonic()


class TailThread:
    """The ``toolwise-tail`` daemon thread: calls ``look`` every ``interval`` seconds.

    Args:
        interval: seconds between two looks.
        look: one look (never raises: it serves what it knows while the store is down).
        closed: set when the feed closes; the thread then ends, and is never started again.
    """

    def __init__(
        self, interval: float, look: Callable[[], object], closed: threading.Event
    ) -> None:
        self._interval = interval
        self._look = look
        self._closed = closed
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        """True once started (in this process)."""
        return self._thread is not None

    def start(self) -> None:
        """Start looking, unless started already or closed."""
        with self._lock:
            if self._thread is not None or self._closed.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="toolwise-tail", daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait a moment for the thread to end once ``closed`` is set (a look stuck on a dead
        store is left behind: the thread is a daemon)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    def after_fork(self) -> None:
        """In a forked child: the parent's thread did not survive the fork (nor may its lock)."""
        self._lock = threading.Lock()
        self._thread = None

    def _run(self) -> None:
        while not self._closed.wait(self._interval):
            self._look()
