"""Keeps the in-memory learning view in step with the outcome log.

The view is *derived*: built from the store on first use, updated on every record this process
makes, and — when other processes write to the same store (a ``chroma run`` server) — kept in
step with theirs by a background thread that *tails* the store: every ``refresh_interval``
seconds (1 s by default with a server) it asks for the records stored since its last look,
minus a short overlap (:data:`TAIL_OVERLAP`), by the rows' store time (one indexed range
query per agent, ids only; only the rows it has not seen yet are read), deduplicated by id so
nothing is counted twice. Every :data:`SWEEP_INTERVAL` seconds it also looks back
:data:`SWEEP_OVERLAP` by record time, which finds rows of writers from before store times
existed, and rows whose write took longer than the overlap to become visible. Model turns never
wait for it: they read the view as it is.

Records reach the view lazily: the tool call only appends the record to a queue (a
``deque.append``, thread-safe and sub-microsecond); whoever reads the view next — the brief
before a model turn, ``recommend``, ``priors`` — first learns what is queued. So the cost of
learning is paid on the read path (milliseconds anyway), never by the tool call, and a read
always sees every record made before it.

While the store is down the feed follows its circuit breaker (a store with ``health`` and
``on_health_change``, :class:`~toolwise.storage.ChromaOutcomeStore`): refreshes are skipped
without a store call, and one warning is logged per outage, not per read. A build that fails
leaves the feed ``"failed"`` — reads then raise
:class:`~toolwise.errors.StoreUnavailableError` at once, and records made meanwhile are kept
for the view — until the store answers again (or, for a store that does not report its
health, ``RETRY_AFTER`` seconds have passed); the next read then builds it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from itertools import repeat
from typing import Literal

from toolwise.errors import StoreUnavailableError
from toolwise.learning import resume
from toolwise.learning.view import ReliabilityView
from toolwise.models import ToolOutcome
from toolwise.storage.health import store_is_down
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

_SEEN_CAPACITY = 200_000
_MAX_QUEUED = 10_000
TAIL_OVERLAP = 3.0
"""Seconds a tail looks back before its last look: a row stamped just before that look may
become visible just after it (the upsert in flight), and clocks of machines differ a little."""
SWEEP_INTERVAL = 30.0
"""Seconds between look-backs by record time (and the refresh of a store that cannot tail)."""
SWEEP_OVERLAP = timedelta(minutes=2)
"""How far a sweep looks back, by record time, before the previous sweep."""
SNAPSHOT_EVERY = 10_000
"""Records learnt between two snapshots of the view (written in a background thread)."""
SNAPSHOT_IDS_WINDOW = SWEEP_OVERLAP.total_seconds() + 30.0
"""Seconds before a snapshot's watermark whose learnt record ids it keeps, so that a record
met again is not learnt twice by a process started from it: by its replay (from the
watermark minus :data:`TAIL_OVERLAP`, by store time) or by its first sweep (which looks
:data:`SWEEP_OVERLAP` back by record time, and a record is learnt after it is made)."""

RETRY_AFTER = 5.0
"""Seconds before a failed build (or refresh) is tried again when the store cannot say it is
back; a store with a breaker is retried as soon as it answers."""

FeedState = Literal["empty", "loading", "ready", "failed"]


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
        self._refresh_interval = refresh_interval
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._view = view_factory()
        self._state: FeedState = "empty"  # empty -> loading -> ready | failed -> loading
        self._failure = ""  # why the last build failed
        self._failed_at = 0.0  # monotonic
        self._store_back = False  # the store answered again since the build failed
        self._outage_warned = False  # one warning per outage, not per read
        self._buffer: list[ToolOutcome] = []
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._watermark = 0.0  # store time (epoch s) up to which other writers were read
        self._swept_at: datetime | None = None  # record time of the last sweep
        self._swept_mono = 0.0
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._queued: deque[ToolOutcome] = deque()
        self._drain_lock = threading.Lock()
        self._warming = False
        self._snapshots = snapshots
        self._snapshot_every = snapshot_every
        self._learnt_at: deque[tuple[float, str]] = deque(maxlen=_SEEN_CAPACITY)
        self._since_snapshot = 0
        self._snapshotting = False
        self._built_at = 0.0  # store time the view first read the records (kept by snapshots)
        self._build_span = (math.inf, math.inf)  # when the last build read the store
        self.replayed = 0
        """Records learnt from the store at the last build (every one without a snapshot,
        only those stored after its watermark with one)."""
        self.restored: SnapshotHead | None = None
        """The snapshot the last build started from, if any."""
        self.quiet = False
        """Whether nothing was stored after that snapshot (its replay was skipped)."""
        watch = getattr(store, "on_health_change", None)
        if callable(watch):
            watch(self._on_store_health)

    def _on_store_health(self, health: object) -> None:
        """The store's breaker changed state (called from its probe thread)."""
        if getattr(health, "healthy", False):
            self._store_back = True

    def _store_answered(self) -> None:
        """A build or refresh read the store: the next outage gets its warning again."""
        if self._outage_warned:
            self._outage_warned = False
            log.info("toolwise: the learnt view reads the outcome store again")

    def _store_down(self) -> bool:
        """True while the store says it is unhealthy (no call is made to find out)."""
        return store_is_down(self._store)

    def _warn_outage(self, what: str, exc: BaseException | str) -> None:
        if self._outage_warned:
            log.debug("toolwise: %s failed again: %s", what, exc)
            return
        self._outage_warned = True
        log.warning(
            "toolwise: %s failed: %s; the learnt view serves what it knows and catches up "
            "when the store answers (no retry per read)",
            what,
            exc,
        )

    def on_record(self, outcome: ToolOutcome) -> None:
        """Hot path: queue the record for the view (learnt on the next read)."""
        state = self._state
        if state == "ready":
            self._queued.append(outcome)
            if len(self._queued) > _MAX_QUEUED:  # nobody reads: learn now, bounding memory
                self._drain()
            return
        with self._lock:
            if self._state == "empty":
                return  # the build will read it from the store
            if self._state in ("loading", "failed"):
                if len(self._buffer) < _SEEN_CAPACITY:  # past it, the rebuild reads the store
                    self._buffer.append(outcome)
                return
        self._queued.append(outcome)  # became ready meanwhile

    def _drain(self) -> None:
        """Learn every queued record, in order (one drainer at a time)."""
        with self._drain_lock:
            self._drain_unlocked()
        if self._since_snapshot >= self._snapshot_every:
            self._snapshot_soon()

    def _drain_unlocked(self) -> None:
        """:meth:`_drain`'s work (call with ``_drain_lock`` held)."""
        while True:
            try:
                outcome = self._queued.popleft()
            except IndexError:
                return
            with self._lock:
                fresh = self._mark_seen(outcome.id)
            if fresh:
                learn(self._view, outcome)

    @property
    def ready(self) -> bool:
        """True once the view has been built (reads are then cheap)."""
        return self._state == "ready"

    @property
    def state(self) -> FeedState:
        """``"empty"`` (not built), ``"loading"``, ``"ready"``, or ``"failed"`` (the last
        build failed; see :attr:`failure`; retried once the store answers)."""
        return self._state

    @property
    def failure(self) -> str:
        """Why the last build failed (``""`` unless :attr:`state` is ``"failed"``)."""
        return self._failure if self._state == "failed" else ""

    def warm_up(self) -> None:
        """Build the view in a background thread now, so the first read need not wait for it
        (a cold build from 100,000 records takes seconds: ``docs/performance.md``)."""
        with self._lock:
            if self._state != "empty" or self._warming:
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
        self._poller = None  # the parent's thread did not survive the fork

    def close(self, *, complete: bool = False) -> None:
        """Write a last snapshot when anything was learnt since the previous one, and stop
        looking at other writers' records (the view stays readable). ``complete``: this
        process's writer has stopped, and the view learnt every record it stored."""
        if self._snapshots is not None and self._state == "ready":
            with self._drain_lock:  # what is queued counts too (it may all be known)
                self._drain_unlocked()
            if self._since_snapshot:
                self._snapshot_now(complete=complete)
        self._stop.set()
        poller = self._poller
        if poller is not None and poller is not threading.current_thread():
            poller.join(timeout=1.0)  # a daemon: a look stuck on a dead store is left behind

    def mark_learnt(self, record_id: str) -> None:
        """``record_id`` was already learnt directly (``observe``): don't learn it again."""
        with self._lock:
            self._mark_seen(record_id)

    def view(self) -> ReliabilityView:
        """The view, built on first use and refreshed when other writers may have written."""
        if self._catch_up is not None:
            self._catch_up()
        if self._state != "ready":
            self._build_when_due()
        if self._poller is None and self._refresh_interval is not None:
            self._start_poller()
        if self._queued:
            self._drain()
        return self._view

    def reset(self) -> None:
        """Forget everything learnt; the next use rebuilds from the store."""
        with self._load_lock, self._lock:
            self._view = self._factory()
            self._state = "empty"
            self._failure = ""
            self._buffer.clear()
            self._queued.clear()
            self._seen.clear()

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
        if self._state == "failed" and not self._retry_due():
            raise StoreUnavailableError(
                f"the learnt view could not be built ({self._failure}); "
                "it is built again once the store answers"
            )
        try:
            self._build()
        except Exception as exc:
            with self._lock:
                if self._state == "loading":
                    self._state = "failed"
                    self._failure = str(exc) or type(exc).__name__
                    self._failed_at = time.monotonic()
                    self._store_back = False
            self._warn_outage("building the learnt view from the store", exc)
            raise

    def _retry_due(self) -> bool:
        if self._store_down():
            return False
        return self._store_back or time.monotonic() - self._failed_at >= RETRY_AFTER

    def _build(self, *, use_snapshot: bool = True) -> None:
        with self._load_lock:
            if self._state == "ready":
                return
            with self._lock:
                self._state = "loading"
            self._flush()
            now = self._clock()
            watermark = time.time()  # store time: whatever is stored from here on is tailed
            started = time.perf_counter()
            loaded = 0
            self.quiet = False
            restored = self._restore() if use_snapshot else None
            found: Iterable[ToolOutcome]
            if restored is not None and self.quiet:
                found = []  # nothing was stored after the snapshot (resume.Restored.quiet)
            elif restored is not None and isinstance(self._store, TailingStore):
                found = self._store.recent(
                    restored.watermark - TAIL_OVERLAP, now=now, known=self._seen
                )
            else:
                found = self._store.iter_outcomes(None, now=now)
            self._build_span = (time.time(), math.inf)
            for outcome in found:
                with self._lock:
                    fresh = self._mark_seen(outcome.id)
                if fresh:
                    learn(self._view, outcome)
                    loaded += 1
            self._build_span = (self._build_span[0], time.time())
            with self._lock:
                buffered, self._buffer = self._buffer, []
                fresh_buffered = [o for o in buffered if self._mark_seen(o.id)]
                self._state = "ready"
                self._failure = ""
                self._built_at = watermark if restored is None else restored.built
                self._watermark = watermark
                self._swept_at = now
                self._swept_mono = time.monotonic()
            for outcome in fresh_buffered:
                learn(self._view, outcome)
            self.replayed = loaded
            self.restored = restored
            self._store_answered()
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
            found = resume.load_newest(self._snapshots, self._factory, overlap=TAIL_OVERLAP)
        except Exception as exc:  # the store is down: the build that follows says so
            log.debug("toolwise: reading the view's snapshots failed: %s", exc)
            return None
        if found is None:
            return None
        head, view, ids, self.quiet = found.head, found.view, found.ids, found.quiet
        with self._lock, resume.paused_gc():  # a fresh start: a failed build's view goes
            self._view = view
            self._learnt_at.clear()
            # In bulk (a snapshot may hold 100,000s of ids): fromkeys and zip run in C.
            kept = ids[-_SEEN_CAPACITY:]
            self._seen = OrderedDict.fromkeys(kept)
            self._learnt_at.extend(zip(repeat(head.watermark), kept, strict=False))
        return head

    def write_snapshot(self, *, complete: bool = False) -> SnapshotHead | None:
        """Store a snapshot of the view now (``None``: no snapshot store, or the view is not
        built). Flushes this process's records first, so the snapshot's watermark covers them.
        ``complete``: see :meth:`close`.

        Raises:
            Exception: whatever the store raised (the caller logs it).
        """
        if self._snapshots is None or self._state != "ready":
            return None
        with self._load_lock:
            self._flush()
            watermark = time.time()  # every record of ours is stored before it
            with self._drain_lock:
                self._drain_unlocked()
                with self._lock:
                    ids = resume.replay_ids(
                        self._learnt_at,
                        self._seen,
                        watermark=watermark,
                        window=SNAPSHOT_IDS_WINDOW,
                        overlap=SNAPSHOT_IDS_WINDOW,  # a sweep reaches that far too
                        build_span=self._build_span,
                    )
                    self._since_snapshot = 0
                    records = len(self._seen)
                state = self._view.export_state()
        return resume.store(
            self._snapshots,
            state,
            ids,
            self._view,
            watermark=watermark,
            records=records,
            built=self._built_at,
            complete=complete,
        )

    def _snapshot_soon(self) -> None:
        """Write a snapshot in a background thread (at most one at a time)."""
        with self._lock:
            if self._snapshots is None or self._snapshotting or self._stop.is_set():
                return
            self._snapshotting = True
        threading.Thread(target=self._snapshot_now, name="toolwise-snapshot", daemon=True).start()

    def _snapshot_now(self, *, complete: bool = False) -> None:
        try:
            self.write_snapshot(complete=complete)
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

    def _start_poller(self) -> None:
        with self._lock:
            if self._poller is not None or self._stop.is_set():
                return
            self._poller = threading.Thread(target=self._poll, name="toolwise-tail", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        """The tail thread: look at other writers' records every ``refresh_interval`` s,
        following the store's breaker (no store call while it is open)."""
        interval = self._refresh_interval or 1.0
        while not self._stop.wait(interval):
            if self._state != "ready":
                continue
            if self._store_down():
                self._warn_outage("reading other writers' records", "the store is unavailable")
                continue
            self.refresh()

    def refresh(self) -> int:
        """Learn records other writers stored since the last look; returns how many.

        Runs in the tail thread (and may be called directly); never raises: while the store
        is down it serves what it knows, and looks again at the next interval.
        """
        with self._load_lock:
            if self._state != "ready":
                return 0
            self._drain()  # this process's records are then known: not read back
            started = time.time()
            now = self._clock()
            sweep = time.monotonic() - self._swept_mono >= SWEEP_INTERVAL
            store = self._store
            try:
                if isinstance(store, TailingStore):
                    found = store.recent(self._watermark - TAIL_OVERLAP, now=now, known=self._seen)
                    if sweep:
                        since = (self._swept_at or now) - SWEEP_OVERLAP
                        found += store.recent(
                            since.timestamp(), now=now, key="timestamp", known=self._seen
                        )
                elif sweep:
                    since = (self._swept_at or now) - SWEEP_OVERLAP
                    found = list(store.iter_outcomes(None, since=since, now=now))
                else:
                    return 0
            except Exception as exc:  # the store is down: serve what we know
                self._warn_outage("reading other writers' records", exc)
                return 0
            self._store_answered()
            learnt = 0
            for outcome in found:
                with self._lock:
                    fresh = self._mark_seen(outcome.id)
                if fresh:
                    learn(self._view, outcome)
                    learnt += 1
            self._watermark = started
            if sweep:
                self._swept_at = now
                self._swept_mono = time.monotonic()
            return learnt

    def _mark_seen(self, record_id: str, at: float | None = None) -> bool:
        """True the first time ``record_id`` is seen (call with ``_lock`` held); ``at``: when
        it was learnt, if not now (ids restored with a snapshot: not news to snapshot)."""
        if record_id in self._seen:
            return False
        self._seen[record_id] = None
        if at is None:
            self._learnt_at.append((time.time(), record_id))
            self._since_snapshot += 1
        else:
            self._learnt_at.append((at, record_id))
        if len(self._seen) > _SEEN_CAPACITY:
            self._seen.popitem(last=False)
        return True


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
