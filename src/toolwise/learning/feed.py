"""Keeps the in-memory learning view in step with the outcome log.

The view is *derived*: built from the store on first use, updated on every record this process
makes, and — when other processes write to the same store (a ``chroma run`` server) — kept in
step with theirs by a background thread that *tails* the store (:mod:`~toolwise.learning.tail`).
Model turns never wait for it: they read the view as it is.

Records reach the view lazily: the tool call only appends the record to a queue (a
``deque.append``, thread-safe and sub-microsecond); whoever reads the view next — the brief
before a model turn, ``recommend``, ``priors`` — first learns what is queued. So the cost of
learning is paid on the read path (milliseconds anyway), never by the tool call, and a read
always sees every record made before it.

While the store is down the feed follows its circuit breaker, and a build that failed is
retried once the store answers (:mod:`~toolwise.learning.readiness`). Snapshots of the view let
a new process start without relearning every record (:mod:`~toolwise.learning.resume`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from toolwise.learning import resume
from toolwise.learning.learnt import CAPACITY, LearntIds
from toolwise.learning.readiness import RETRY_AFTER, FeedState, Readiness
from toolwise.learning.tail import (
    SWEEP_INTERVAL,
    SWEEP_OVERLAP,
    TAIL_OVERLAP,
    TailCursor,
    TailThread,
)
from toolwise.learning.view import ReliabilityView
from toolwise.models import ToolOutcome
from toolwise.storage.protocol import OutcomeStore, TailingStore
from toolwise.storage.snapshots import ChromaSnapshotStore, SnapshotHead

__all__ = [
    "RETRY_AFTER",
    "SWEEP_INTERVAL",
    "SWEEP_OVERLAP",
    "TAIL_OVERLAP",
    "FeedState",
    "LearningFeed",
    "learn",
]

log = logging.getLogger("toolwise.learning")

_MAX_QUEUED = 10_000
SNAPSHOT_EVERY = 10_000
"""Records learnt between two snapshots of the view (written in a background thread)."""
SNAPSHOT_IDS_WINDOW = 30.0
"""Seconds before a snapshot's watermark whose learnt record ids it keeps (so a record stored
in the replay overlap is not learnt twice): longer than the writer ever lags a flush."""


class LearningFeed:
    """Feeds a :class:`ReliabilityView` from the hot path, the store and other writers.

    Args:
        view_factory: builds a fresh view (used again after records are forgotten).
        store: the outcome log to build from and refresh from.
        flush: drains this process's spool, so a build sees every record made so far.
        catch_up: makes the records of calls that already finished (deferred durability)
            before a read, so a read sees every call made before it.
        clock: "now", UTC.
        refresh_interval: seconds between looks at what other writers stored (in a
            background thread, started with the view); ``None`` disables (one embedded process
            is the only writer of its store).
        snapshots: where snapshots of the view are kept (``None``: none are).
        snapshot_every: records learnt between two snapshots.
    """

    def __init__(
        self,
        view_factory: Callable[[], ReliabilityView],
        store: OutcomeStore,
        *,
        flush: Callable[[], object],
        clock: Callable[[], datetime],
        refresh_interval: float | None,
        catch_up: Callable[[], object] | None = None,
        snapshots: ChromaSnapshotStore | None = None,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        self._factory = view_factory
        self._catch_up = catch_up
        self._store = store
        self._flush = flush
        self._clock = clock
        # _lock guards the state, the buffer and the learnt ids; _load_lock serialises builds,
        # looks and snapshots; _drain_lock serialises learning what is queued.
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._view = view_factory()
        self._readiness = Readiness(store)
        self._buffer: list[ToolOutcome] = []  # records made while (re)building
        self._queued: deque[ToolOutcome] = deque()
        self._learnt = LearntIds()
        self._cursor = TailCursor()
        self._closed = threading.Event()
        self._tail = (
            None
            if refresh_interval is None
            else TailThread(refresh_interval or 1.0, self._tail_look, self._closed)
        )
        self._warming = False
        self._snapshots = snapshots
        self._snapshot_every = snapshot_every
        self._snapshotting = False
        self._built_at = 0.0  # store time the view first read the records (kept by snapshots)
        self._build_span = (math.inf, math.inf)  # when the last build read the store
        self.replayed = 0
        """Records learnt from the store at the last build (every one without a snapshot,
        only those stored after its watermark with one)."""
        self.restored: SnapshotHead | None = None
        """The snapshot the last build started from, if any."""

    def on_record(self, outcome: ToolOutcome) -> None:
        """Hot path: queue the record for the view (learnt on the next read)."""
        readiness = self._readiness
        if readiness.state == "ready":
            self._queued.append(outcome)
            if len(self._queued) > _MAX_QUEUED:  # nobody reads: learn now, bounding memory
                self._drain()
            return
        with self._lock:
            if readiness.state == "empty":
                return  # the build will read it from the store
            if readiness.state in ("loading", "failed"):
                if len(self._buffer) < CAPACITY:  # past it, the rebuild reads the store
                    self._buffer.append(outcome)
                return
        self._queued.append(outcome)  # became ready meanwhile

    def _drain(self) -> None:
        """Learn every queued record, in order (one drainer at a time)."""
        with self._drain_lock:
            self._drain_unlocked()
        if self._learnt.since_snapshot >= self._snapshot_every:
            self._snapshot_soon()

    def _drain_unlocked(self) -> None:
        """:meth:`_drain`'s work (call with ``_drain_lock`` held)."""
        while True:
            try:
                outcome = self._queued.popleft()
            except IndexError:
                return
            self._learn_once(outcome)

    def _learn_once(self, outcome: ToolOutcome) -> bool:
        """Learn ``outcome`` unless its id was learnt already; True if it was new."""
        with self._lock:
            fresh = self._learnt.add(outcome.id)
        if fresh:
            learn(self._view, outcome)
        return fresh

    @property
    def ready(self) -> bool:
        """True once the view has been built (reads are then cheap)."""
        return self._readiness.state == "ready"

    @property
    def state(self) -> FeedState:
        """``"empty"`` (not built), ``"loading"``, ``"ready"``, or ``"failed"`` (the last
        build failed; see :attr:`failure`; retried once the store answers)."""
        return self._readiness.state

    @property
    def failure(self) -> str:
        """Why the last build failed (``""`` unless :attr:`state` is ``"failed"``)."""
        return self._readiness.failure

    def warm_up(self) -> None:
        """Build the view in a background thread now, so the first read need not wait for it
        (a cold build from 100,000 records takes seconds: ``docs/performance.md``)."""
        with self._lock:
            if self._readiness.state != "empty" or self._warming:
                return
            self._warming = True
        threading.Thread(target=self._warm, name="toolwise-warm-up", daemon=True).start()

    def _warm(self) -> None:
        try:
            self.view()
        except Exception as exc:  # logged once by the build; the next read retries when due
            log.debug("toolwise: building the learning view in the background failed: %s", exc)
        finally:
            self._warming = False

    def after_fork(self) -> None:
        """In a forked child: fresh locks (one held by a parent thread at the fork would
        never be released here)."""
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._drain_lock = threading.Lock()
        if self._tail is not None:
            self._tail.after_fork()

    def close(self) -> None:
        """Write a last snapshot when anything was learnt since the previous one, and stop
        looking at other writers' records (the view stays readable)."""
        if self._snapshots is not None and self.ready and self._learnt.since_snapshot:
            self._snapshot_now()
        self._closed.set()
        if self._tail is not None:
            self._tail.join()

    def mark_learnt(self, record_id: str) -> None:
        """``record_id`` was already learnt directly (``observe``): don't learn it again."""
        with self._lock:
            self._learnt.add(record_id)

    def view(self) -> ReliabilityView:
        """The view, built on first use and refreshed when other writers may have written."""
        if self._catch_up is not None:
            self._catch_up()
        if self._readiness.state != "ready":
            self._build_when_due()
        if self._tail is not None and not self._tail.started:
            self._tail.start()
        if self._queued:
            self._drain()
        return self._view

    def reset(self) -> None:
        """Forget everything learnt; the next use rebuilds from the store."""
        with self._load_lock, self._lock:
            self._view = self._factory()
            self._readiness.reset()
            self._buffer.clear()
            self._queued.clear()
            self._learnt.clear()

    def rebuild(self) -> SnapshotHead | None:
        """Relearn every stored record from scratch (no snapshot), then store a fresh snapshot
        (``toolwise rebuild``); returns it (``None`` without a snapshot store).

        Raises:
            Exception: whatever the store raised.
        """
        self.reset()
        self._build(use_snapshot=False)
        return self.write_snapshot()

    def _build_when_due(self) -> None:
        """Build the view; after a failed build, raise at once until a retry is due.

        Raises:
            StoreUnavailableError: the build failed before and is not due again yet.
            Exception: what the store raised while building (the feed is then ``"failed"``).
        """
        self._readiness.check_due()
        try:
            self._build()
        except Exception as exc:
            with self._lock:
                self._readiness.failed(exc)
            self._readiness.warn_outage("building the learnt view from the store", exc)
            raise

    def _build(self, *, use_snapshot: bool = True) -> None:
        with self._load_lock:
            if self._readiness.state == "ready":
                return
            with self._lock:
                self._readiness.loading()
            self._flush()
            now = self._clock()
            watermark = time.time()  # store time: whatever is stored from here on is tailed
            started = time.perf_counter()
            loaded = 0
            restored = self._restore() if use_snapshot else None
            found = (
                self._store.recent(
                    restored.watermark - TAIL_OVERLAP, now=now, known=self._learnt.known
                )
                if restored is not None and isinstance(self._store, TailingStore)
                else self._store.iter_outcomes(None, now=now)
            )
            self._build_span = (time.time(), math.inf)
            for outcome in found:
                loaded += self._learn_once(outcome)
            self._build_span = (self._build_span[0], time.time())
            with self._lock:
                buffered, self._buffer = self._buffer, []
                fresh_buffered = [o for o in buffered if self._learnt.add(o.id)]
                self._readiness.ready()
                self._built_at = watermark if restored is None else restored.built
                self._cursor.restart(watermark, now)
            for outcome in fresh_buffered:
                learn(self._view, outcome)
            self.replayed = loaded
            self.restored = restored
            self._readiness.answered()
            log.info(
                "toolwise: learnt from %d stored outcome(s)%s in %.2f s",
                loaded,
                "" if restored is None else f" after snapshot {restored.id}",
                time.perf_counter() - started,
            )
        if restored is None and loaded and use_snapshot:
            self._snapshot_soon()  # the next process starts from it

    def _restore(self) -> SnapshotHead | None:
        """Start from the newest valid snapshot (call under ``_load_lock``); ``None`` if
        there is none, or it cannot be used (then the build reads every record)."""
        if self._snapshots is None or not isinstance(self._store, TailingStore):
            return None
        try:
            found = resume.load_newest(self._snapshots, self._factory)
        except Exception as exc:  # the store is down: the build that follows says so
            log.debug("toolwise: reading the view's snapshots failed: %s", exc)
            return None
        if found is None:
            return None
        head, view, ids = found
        with self._lock:  # a fresh start: a failed build's partial view is dropped too
            self._view = view
            self._learnt.restart(ids, at=head.watermark)
        return head

    def write_snapshot(self) -> SnapshotHead | None:
        """Store a snapshot of the view now (``None``: no snapshot store, or the view is not
        built). Flushes this process's records first, so the snapshot's watermark covers them.

        Raises:
            Exception: whatever the store raised (the caller logs it).
        """
        if self._snapshots is None or not self.ready:
            return None
        with self._load_lock:
            self._flush()
            watermark = time.time()  # every record of ours is stored before it
            with self._drain_lock:
                self._drain_unlocked()
                with self._lock:
                    ids = self._learnt.for_snapshot(
                        watermark=watermark,
                        window=SNAPSHOT_IDS_WINDOW,
                        overlap=TAIL_OVERLAP,
                        build_span=self._build_span,
                    )
                    records = len(self._learnt)
                state = self._view.export_state()
        return resume.store(
            self._snapshots,
            state,
            ids,
            self._view,
            watermark=watermark,
            records=records,
            built=self._built_at,
        )

    def _snapshot_soon(self) -> None:
        """Write a snapshot in a background thread (at most one at a time)."""
        with self._lock:
            if self._snapshots is None or self._snapshotting or self._closed.is_set():
                return
            self._snapshotting = True
        threading.Thread(target=self._snapshot_now, name="toolwise-snapshot", daemon=True).start()

    def _snapshot_now(self) -> None:
        try:
            self.write_snapshot()
        except Exception as exc:
            log.warning("toolwise: writing a snapshot of the view failed: %s", exc)
        finally:
            self._snapshotting = False

    def invalidate_snapshots(self) -> None:
        """Drop every stored snapshot (records were forgotten); never raises."""
        if self._snapshots is None:
            return
        try:
            self._snapshots.clear()
        except Exception as exc:
            log.warning("toolwise: dropping the view's snapshots failed: %s", exc)

    def _tail_look(self) -> None:
        """One turn of the tail thread, following the store's breaker (no store call while
        it is open)."""
        if self._readiness.state != "ready":
            return
        if self._readiness.store_down():
            self._readiness.warn_outage(
                "reading other writers' records", "the store is unavailable"
            )
            return
        self.refresh()

    def refresh(self) -> int:
        """Learn records other writers stored since the last look; returns how many.

        Runs in the tail thread (and may be called directly); never raises: while the store
        is down it serves what it knows, and looks again at the next interval.
        """
        with self._load_lock:
            if self._readiness.state != "ready":
                return 0
            self._drain()  # this process's records are then known: not read back
            try:
                look = self._cursor.look(self._store, self._clock, self._learnt.known)
            except Exception as exc:  # the store is down: serve what we know
                self._readiness.warn_outage("reading other writers' records", exc)
                return 0
            if look is None:
                return 0
            self._readiness.answered()
            learnt = sum(self._learn_once(outcome) for outcome in look.found)
            self._cursor.advance(look)
            return learnt


def learn(view: ReliabilityView, outcome: ToolOutcome) -> None:
    """Priors-API observations carry their weight in metadata; tool calls weigh 1."""
    if outcome.source == "observe":
        weight = outcome.metadata.get("weight", 1.0)
        view.observe(
            outcome.tool,
            outcome.effective_quality,
            agent_id=outcome.agent_id,
            context_class=outcome.task_type,
            environment=outcome.environment,
            weight=float(weight) if isinstance(weight, int | float) else 1.0,
            timestamp=outcome.timestamp,
            latency_ms=outcome.latency_ms or None,
            cost=outcome.cost or None,
        )
    else:
        view.observe_outcome(outcome)
