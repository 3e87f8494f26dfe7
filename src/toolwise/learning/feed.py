"""Keeps the in-memory learning view in step with the outcome log.

The view is *derived*: built from the store on first use, updated on every record this process
makes, and — when other processes write to the same store (a ``chroma run`` server) — kept in
step with theirs by a background thread that *tails* the store (:mod:`~toolwise.learning.tailing`).
Model turns never wait for it: they read the view as it is.

This process's records reach the view lazily, on the next read
(:mod:`~toolwise.learning.inbox`): a tool call never pays for learning.

While the store is down the feed follows its circuit breaker, and a build that failed is
retried once the store answers (:mod:`~toolwise.learning.readiness`). Snapshots of the view let
a new process start without relearning every record (:mod:`~toolwise.learning.resume`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from toolwise.errors import StoreError
from toolwise.learning.inbox import ViewInbox, learn
from toolwise.learning.readiness import RETRY_AFTER, FeedState
from toolwise.learning.resume import SNAPSHOT_EVERY, SNAPSHOT_IDS_WINDOW, SnapshotKeeper
from toolwise.learning.tailing import SWEEP_INTERVAL, SWEEP_OVERLAP, TAIL_OVERLAP, Tail
from toolwise.learning.view import ReliabilityView
from toolwise.models import ToolOutcome
from toolwise.storage.protocol import OutcomeStore, TailingStore, Tombstone
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


class LearningFeed(ViewInbox):
    """Feeds a :class:`ReliabilityView` from the hot path, the store and other writers.

    Thread-safe. Besides the inbox's locks, ``_load_lock`` lets one build, look at other
    writers or snapshot run at a time (taken first).

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
        on_tailed: told of the records each look at other writers learnt (new ids only;
            not the records a build reads).
        on_buried: told of the tombstones a look met — records another process forgot —
            before the view is relearnt without them (see :meth:`refresh`).
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
        on_tailed: Callable[[Sequence[ToolOutcome]], object] | None = None,
        on_buried: Callable[[Sequence[Tombstone]], object] | None = None,
    ) -> None:
        super().__init__(view_factory, store)
        self._catch_up = catch_up
        self._store = store
        self._flush = flush
        self._clock = clock
        self._load_lock = threading.Lock()
        self._closed = threading.Event()
        self._tail = Tail(
            store,
            clock,
            self._readiness,
            self._learnt,
            self._learn_once,
            refresh=self.refresh,
            interval=refresh_interval,
            closed=self._closed,
            on_new=on_tailed,
        )
        self._on_buried = on_buried
        self._on_tailed = on_tailed
        self._warming = False
        self._keeper = (
            None
            if snapshots is None
            else SnapshotKeeper(snapshots, view_factory, every=snapshot_every)
        )
        self.replayed = 0
        """Records learnt from the store at the last build (every one without a snapshot,
        only those stored after its watermark with one)."""
        self.restored: SnapshotHead | None = None
        """The snapshot the last build started from, if any."""
        self.quiet = False
        """Whether nothing was stored after that snapshot (its replay was skipped)."""

    def _drain(self) -> None:
        """Learn every queued record; a snapshot is due every ``snapshot_every`` records."""
        super()._drain()
        keeper = self._keeper
        if keeper is not None and self._learnt.since_snapshot >= keeper.every:
            self._snapshot_soon()

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
        self._fresh_locks()
        self._load_lock = threading.Lock()
        self._tail.after_fork()

    def close(self, *, complete: bool = False, timeout: float = 10.0) -> None:
        """Write a last snapshot when anything was learnt since the previous one, and stop
        looking at other writers' records (the view stays readable). ``complete``: this
        process's writer has stopped, and the view learnt every record it stored.
        ``timeout``: how long a snapshot still being written in the background is waited for."""
        if self._keeper is not None:
            self._keeper.wait(timeout)
        if self._keeper is not None and self.ready:
            with self._drain_lock:  # what is queued counts too (it may all be known)
                self._drain_unlocked()
            if self._learnt.since_snapshot:
                self._keeper.write(lambda: self.write_snapshot(complete=complete))
        self._closed.set()
        self._tail.join()

    def view(self) -> ReliabilityView:
        """The view, built on first use and refreshed when other writers may have written.
        After :meth:`close` it is what was learnt by then, and a view never built is refused:
        a build then would read a closed store, and its failure was logged as an outage."""
        if self._closed.is_set():
            if self._readiness.state != "ready":
                raise StoreError("toolwise is closed: the learnt view was not built before")
            return self._view
        if self._catch_up is not None:
            self._catch_up()
        if self._readiness.state != "ready":
            self._build_when_due()
        if not self._tail.started:
            self._tail.start()
        if self._queued:
            self._drain()
        return self._view

    def reset(self) -> None:
        """Forget everything learnt; the next use rebuilds from the store."""
        with self._load_lock, self._lock:
            self._empty()

    def rebuild(self) -> SnapshotHead | None:
        """Relearn every stored record from scratch (no snapshot), then store a fresh snapshot
        (``toolwise rebuild``); returns it (``None`` without a snapshot store).

        Raises:
            Exception: whatever the store raised.
        """
        self.reset()
        self._build(use_snapshot=False)
        return self.write_snapshot()

    def _build_when_due(
        self, *, use_snapshot: bool = True, anew: bool = False
    ) -> list[ToolOutcome]:
        """Build the view (``anew``: even if built, from nothing, under the same lock, so no
        read can build it in between; then returns the records it learnt that the view did
        not hold before); after a failed build, raise at once until a retry is due.

        Raises:
            StoreUnavailableError: the build failed before and is not due again yet.
            Exception: what the store raised while building (the feed is then ``"failed"``).
        """
        self._readiness.check_due()
        try:
            return self._build(use_snapshot=use_snapshot, anew=anew)
        except Exception as exc:
            with self._lock:
                self._readiness.failed(exc)
            self._readiness.warn_outage("building the learnt view from the store", exc)
            raise

    def _build(self, *, use_snapshot: bool = True, anew: bool = False) -> list[ToolOutcome]:
        news: list[ToolOutcome] = []
        with self._load_lock:
            if self._readiness.state == "ready" and not anew:
                return news
            held: set[str] | None = None
            with self._lock:
                if anew:
                    held = self._learnt.copy()
                    self._empty()
                self._readiness.loading()
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
                    restored.watermark - TAIL_OVERLAP, now=now, known=self._learnt.known
                )
            else:
                found = self._store.iter_outcomes(None, now=now)
            began = time.time()
            for outcome in found:
                if self._learn_once(outcome):
                    loaded += 1
                    if held is not None and outcome.id not in held:
                        news.append(outcome)
            if self._keeper is not None:
                self._keeper.build_span = (began, time.time())
            with self._lock:
                fresh_buffered = self._open()
                if self._keeper is not None:
                    self._keeper.built_at = watermark if restored is None else restored.built
                self._tail.restart(watermark, now)
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
        return news

    def _restore(self) -> SnapshotHead | None:
        """Start from the newest valid snapshot (call under ``_load_lock``); ``None`` if
        there is none, or it cannot be used (then the build reads every record)."""
        if self._keeper is None or not isinstance(self._store, TailingStore):
            return None
        found = self._keeper.newest(overlap=TAIL_OVERLAP)
        if found is None:
            return None
        head, self.quiet = found.head, found.quiet
        with self._lock:  # a fresh start: a failed build's partial view is dropped too
            self._view = found.view
            self._learnt.restart(found.ids, at=head.watermark)
        return head

    def write_snapshot(self, *, complete: bool = False) -> SnapshotHead | None:
        """Store a snapshot of the view now (``None``: no snapshot store, or the view is not
        built). Flushes this process's records first, so the snapshot's watermark covers them.
        ``complete``: see :meth:`close`.

        Raises:
            Exception: whatever the store raised (the caller logs it).
        """
        keeper = self._keeper
        if keeper is None or not self.ready:
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
                        overlap=SNAPSHOT_IDS_WINDOW,  # a first sweep reaches that far too
                        build_span=keeper.build_span,
                    )
                    records = len(self._learnt)
                state = self._view.export_state()
        return keeper.save(
            state, ids, self._view, watermark=watermark, records=records, complete=complete
        )

    def _snapshot_soon(self) -> None:
        """Write a snapshot in a background thread (at most one at a time)."""
        keeper = self._keeper
        with self._lock:
            if keeper is None or self._closed.is_set() or not keeper.claim():
                return
        keeper.write_soon(self.write_snapshot)

    def invalidate_snapshots(self) -> None:
        """Drop every stored snapshot (records were forgotten); never raises."""
        if self._keeper is not None:
            self._keeper.clear()

    def refresh(self) -> int:
        """Learn records other writers stored since the last look; returns how many.

        Runs in the tail thread (and may be called directly); never raises: while the store
        is down it serves what it knows, and looks again at the next interval.

        When the look met tombstones (another process forgot records), ``on_buried`` is told
        first (the runtime drops them from recall: the text of a forgotten record, a leaked
        secret, must go at once), then the view is relearnt from the store — the path this
        process's own ``forget`` takes: a decayed aggregate cannot be unlearnt exactly, and a
        rebuild equals what a new process would learn (seconds at 100,000 records; reads of the
        view wait for it, as after a local ``forget``). The records the rebuild read that the
        view did not hold before are handed to ``on_tailed`` as a look's would be, so a recall
        answer asked again during the rebuild still learns of them.
        """
        if self._readiness.state == "ready":
            self._drain_gently()  # most of it, pausing (see there), and holding no lock
        with self._load_lock:
            if self._readiness.state != "ready":
                return 0
            self._drain()  # this process's records are then known: not read back
            learnt = self._tail.catch_up()
            buried = self._tail.take_tombstones()
        if buried:
            self._relearn(buried)
        return learnt

    def _relearn(self, buried: Sequence[Tombstone]) -> None:
        """Tell ``on_buried``, then rebuild the view without what ``buried`` named (see
        :meth:`refresh`); never raises (a failed build is retried by the next read, as after
        any failed build)."""
        log.info("toolwise: %d forget(s) by other processes: relearning the view", len(buried))
        if self._on_buried is not None:
            try:
                self._on_buried(buried)
            except Exception as exc:
                log.warning("toolwise: unlearning another process's forget failed: %s", exc)
        try:  # not from a snapshot: the forgetter drops them, but may not have yet
            news = self._build_when_due(use_snapshot=False, anew=True)
        except Exception as exc:  # logged by the build
            log.debug("toolwise: relearning after another process's forget failed: %s", exc)
            return
        if news and self._on_tailed is not None:
            try:
                self._on_tailed(news)
            except Exception as exc:  # the view has learnt them: as a look's, never raises
                log.warning("toolwise: passing on other writers' records failed: %s", exc)
