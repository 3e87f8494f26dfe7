"""Tails the outcome log for what other writers stored, so one process learns another's records.

When other processes write to the same store (a ``chroma run`` server), the feed looks every
``refresh_interval`` seconds (1 s by default with a server) for the records stored since its
last look, minus a short overlap (:data:`TAIL_OVERLAP`), by the rows' store time (one indexed
range query per agent, ids only; only the rows it has not seen yet are read), deduplicated by
id so nothing is counted twice. Every :data:`SWEEP_INTERVAL` seconds it also looks back
:data:`SWEEP_OVERLAP` by record time, which finds rows of writers from before store times
existed, and rows whose write took longer than the overlap to become visible. Model turns never
wait for it: they read the view as it is. What a look learns is also handed to ``on_new``: the
runtime keeps the failures among it for recall (:mod:`~toolwise.storage.unstored`), so a brief
shows another process's failure once the tail has read it.

Each look also reads the *tombstones* other processes left when they forgot records
(:mod:`~toolwise.storage.tombstones`) since the last look, less the same overlap, each applied
once: they are read after the records, so a record this look read and another process has
since forgotten is unlearnt too, and handed to the feed (:meth:`Tail.take_tombstones`), which
tells the runtime to drop them from recall and relearns its view from the store.

The locking around a look (one build or look at a time, this process's queued records
learnt first) stays with :class:`~toolwise.learning.feed.LearningFeed`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from toolwise.learning.learnt import LearntIds
from toolwise.learning.readiness import Readiness
from toolwise.models import ToolOutcome
from toolwise.storage.protocol import OutcomeStore, TailingStore, Tombstone, TombstoneStore

__all__ = ["SWEEP_INTERVAL", "SWEEP_OVERLAP", "TAIL_OVERLAP", "Tail"]

log = logging.getLogger("toolwise.learning")

TAIL_OVERLAP = 3.0
"""Seconds a tail looks back before its last look: a row stamped just before that look may
become visible just after it (the upsert in flight), and clocks of machines differ a little."""
SWEEP_INTERVAL = 30.0
"""Seconds between look-backs by record time (and the refresh of a store that cannot tail)."""
SWEEP_OVERLAP = timedelta(minutes=2)
"""How far a sweep looks back, by record time, before the previous sweep."""


class Tail:
    """Follows other writers' records for the feed: the cursor, the look, the thread.

    Not thread-safe apart from the thread's start: the feed calls :meth:`restart` and
    :meth:`catch_up` under its load lock (one build or look at a time).

    Args:
        store: the outcome log.
        clock: "now", UTC (record time of a sweep).
        readiness: the feed's build state and the store's health (and its warnings).
        learnt: the ids the view holds (the store leaves them out of a look).
        learn_once: learns a record unless its id is held; True if it was new.
        refresh: one look under the feed's locks (what the thread calls).
        interval: seconds between the thread's looks; ``None``: no thread (one embedded
            process is the only writer of its store).
        closed: set when the feed closes; the thread then ends, and is never started again.
        on_new: told, after each look, of the records it learnt (new ids only, oldest
            first); called under the feed's load lock, so a reset cannot interleave.
    """

    def __init__(
        self,
        store: OutcomeStore,
        clock: Callable[[], datetime],
        readiness: Readiness,
        learnt: LearntIds,
        learn_once: Callable[[ToolOutcome], bool],
        *,
        refresh: Callable[[], object],
        interval: float | None,
        closed: threading.Event,
        on_new: Callable[[Sequence[ToolOutcome]], object] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._readiness = readiness
        self._learnt = learnt
        self._learn_once = learn_once
        self._refresh = refresh
        self._interval = interval
        self._closed = closed
        self._on_new = on_new
        self._watermark = 0.0  # store time (epoch s) up to which other writers were read
        self._buried = 0.0  # store time up to which other writers' tombstones were read
        self._applied: dict[str, float] = {}  # tombstones met (id: store time): applied once
        self._tombstones: list[Tombstone] = []  # met since the feed last took them
        self._swept_at: datetime | None = None  # record time of the last sweep
        self._swept_mono = 0.0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ looking

    def restart(self, watermark: float, now: datetime) -> None:
        """A build read every record up to ``watermark`` (store time) at ``now``: so did it
        forget what any tombstone stamped before then named (the tombstones already met stay
        met: a rebuild for one must not meet it again)."""
        self._watermark = watermark
        self._buried = watermark
        self._swept_at = now
        self._swept_mono = time.monotonic()

    def catch_up(self) -> int:
        """Learn what other writers stored since the last look; returns how many records.

        Never raises: while the store is down it serves what it knows (one warning per
        outage), and looks again next time.
        """
        started = time.time()
        now = self._clock()
        sweep = time.monotonic() - self._swept_mono >= SWEEP_INTERVAL
        try:
            found = self._look(now, sweep=sweep)
            buried = self._look_for_tombstones()  # after the records: see the module's doc
        except Exception as exc:  # the store is down: serve what we know
            self._readiness.warn_outage("reading other writers' records", exc)
            return 0
        self._tombstones.extend(buried)
        self._buried = started
        if found is None:
            return 0
        self._readiness.answered()
        new = [outcome for outcome in found if self._learn_once(outcome)]
        self._watermark = started
        if sweep:
            self._swept_at = now
            self._swept_mono = time.monotonic()
        if new and self._on_new is not None:
            try:
                self._on_new(new)
            except Exception as exc:  # the view has learnt them: a look must not fail
                log.warning("toolwise: passing on other writers' records failed: %s", exc)
        return len(new)

    def take_tombstones(self) -> list[Tombstone]:
        """The tombstones met since the last call, oldest first (each handed out once)."""
        taken, self._tombstones = self._tombstones, []
        return taken

    def _look_for_tombstones(self) -> list[Tombstone]:
        """Other writers' tombstones stamped since the last look, not met before."""
        store = self._store
        if not isinstance(store, TombstoneStore):
            return []
        since = self._buried - TAIL_OVERLAP
        fresh = [t for t in store.tombstones(since) if t.id not in self._applied]
        for old in [i for i, at in self._applied.items() if at < since - TAIL_OVERLAP]:
            del self._applied[old]
        self._applied.update((t.id, t.at) for t in fresh)
        return fresh

    def _look(self, now: datetime, *, sweep: bool) -> list[ToolOutcome] | None:
        """What was stored since the last look (``None``: a store that cannot tail, between
        two sweeps, is not asked)."""
        store, known = self._store, self._learnt.known
        if isinstance(store, TailingStore):
            found = store.recent(self._watermark - TAIL_OVERLAP, now=now, known=known)
            if sweep:
                since = (self._swept_at or now) - SWEEP_OVERLAP
                found += store.recent(since.timestamp(), now=now, key="timestamp", known=known)
            return found
        if sweep:
            since = (self._swept_at or now) - SWEEP_OVERLAP
            return list(store.iter_outcomes(None, since=since, now=now))
        return None

    # ------------------------------------------------------------------ the thread

    @property
    def started(self) -> bool:
        """True once the thread was started (in this process), or when there is none."""
        return self._interval is None or self._thread is not None

    def start(self) -> None:
        """Start the ``toolwise-tail`` daemon thread, unless started already or closed."""
        if self._interval is None:
            return
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
        """Look every ``interval`` s, following the store's breaker (no store call while it
        is open)."""
        readiness = self._readiness
        while not self._closed.wait(self._interval or 1.0):
            if readiness.state != "ready":
                continue
            if readiness.store_down():
                readiness.warn_outage("reading other writers' records", "the store is unavailable")
                continue
            self._refresh()
