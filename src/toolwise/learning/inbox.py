"""The learnt view's inbox: this process's records on their way into it, each learnt once.

Records reach the view lazily: the tool call only appends the record to a queue (a
``deque.append``, thread-safe and sub-microsecond); whoever reads the view next — the brief
before a model turn, ``recommend``, ``priors`` — first learns what is queued. So the cost of
learning is paid on the read path (milliseconds anyway), never by the tool call, and a read
always sees every record made before it. While the view is being built, records are buffered
for it instead; before it is built they are not kept (the build reads them from the store).
:class:`~toolwise.learning.feed.LearningFeed` builds on this class to fill the view from the
store.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from toolwise.learning.learnt import CAPACITY, LearntIds
from toolwise.learning.readiness import FeedState, Readiness
from toolwise.learning.view import ReliabilityView
from toolwise.models import ToolOutcome

__all__ = ["ViewInbox", "learn"]

_MAX_QUEUED = 10_000
"""Queued records past which, with nobody reading the view, a background thread learns them
(learning is ~45 us a record: learning 10,000 inline stopped an HTTP server's event loop for
2 s, ``benchmarks/http_service.py --modes in-process --probe``)."""
_MAX_BEHIND = 4 * _MAX_QUEUED
"""Past this, the recording thread learns them itself: memory stays bounded whatever happens."""
_CHUNK = 50
"""Records a background thread learns between two pauses (~2 ms of Python)."""
_PAUSE = 0.001
"""Seconds a background thread pauses between chunks, the GIL left to the other threads."""


class ViewInbox:
    """A view, the ids of the records it holds, and the records queued or buffered for it.

    Thread-safe. ``_lock`` guards the build state, the buffer and the learnt ids;
    ``_drain_lock`` lets one thread at a time learn what is queued (taken before ``_lock``).

    Args:
        view_factory: builds a fresh view.
        store: the outcome store, whose health the build state follows.
    """

    def __init__(self, view_factory: Callable[[], ReliabilityView], store: object) -> None:
        self._factory = view_factory
        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._view = view_factory()
        self._readiness = Readiness(store)
        self._buffer: list[ToolOutcome] = []  # records made while (re)building
        self._queued: deque[ToolOutcome] = deque()
        self._learnt = LearntIds()
        self._background: threading.Thread | None = None

    def on_record(self, outcome: ToolOutcome) -> None:
        """Hot path: queue the record for the view (learnt on the next read)."""
        readiness = self._readiness
        if readiness.state == "ready":
            self._queued.append(outcome)
            if len(self._queued) > _MAX_QUEUED:  # nobody reads: learn, bounding memory
                self._drain_behind()
            return
        with self._lock:
            if readiness.state == "empty":
                return  # the build will read it from the store
            if readiness.state in ("loading", "failed"):
                if len(self._buffer) < CAPACITY:  # past it, the rebuild reads the store
                    self._buffer.append(outcome)
                return
        self._queued.append(outcome)  # became ready meanwhile

    def mark_learnt(self, record_id: str) -> None:
        """``record_id`` was already learnt directly (``observe``): don't learn it again."""
        with self._lock:
            self._learnt.add(record_id)

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

    def _drain_behind(self) -> None:
        """Learn the queue in a background thread (one at a time), so the thread that records
        (an event loop, say) is not held; inline only past ``_MAX_BEHIND``."""
        if len(self._queued) > _MAX_BEHIND:
            self._drain()
            return
        with self._lock:
            running = self._background
            if running is not None and running.is_alive():
                return
            self._background = threading.Thread(
                target=self._drain_gently, name="toolwise-learn", daemon=True
            )
            self._background.start()

    def _drain(self) -> None:
        """Learn every queued record, in order (one drainer at a time)."""
        with self._drain_lock:
            self._drain_unlocked()

    def _drain_gently(self) -> None:
        """:meth:`_drain` for a background thread: ``_CHUNK`` records at a time, with a pause
        between chunks.

        A server's second of records (1,000) learnt in one go held the GIL for ~50 ms in
        1 ms slices, and its event loop, waiting up to a slice for the GIL after every wait
        for its sockets, fell tens of milliseconds behind (``benchmarks/http_service.py
        --probe``: loop lags overlapping the tail's drain). Each pause gives the loop the GIL
        uncontested, to catch up, once per ~2 ms of learning. The drain lock is let go
        between chunks, so a read meanwhile learns the rest itself, in order.
        """
        while len(self._queued) > _CHUNK:
            with self._drain_lock:
                self._drain_unlocked(limit=_CHUNK)
            time.sleep(_PAUSE)
        self._drain()

    def _drain_unlocked(self, limit: int | None = None) -> None:
        """:meth:`_drain`'s work (call with ``_drain_lock`` held): every queued record, or
        the first ``limit`` of them."""
        taken = 0
        while limit is None or taken < limit:
            try:
                outcome = self._queued.popleft()
            except IndexError:
                return
            self._learn_once(outcome)
            taken += 1

    def _learn_once(self, outcome: ToolOutcome) -> bool:
        """Learn ``outcome`` unless its id was learnt already; True if it was new."""
        with self._lock:
            fresh = self._learnt.add(outcome.id)
        if fresh:
            learn(self._view, outcome)
        return fresh

    def _open(self) -> list[ToolOutcome]:
        """The build is over: the view is ready; returns the buffered records it has not
        learnt yet (call with ``_lock`` held, then learn them)."""
        buffered, self._buffer = self._buffer, []
        fresh = [o for o in buffered if self._learnt.add(o.id)]
        self._readiness.ready()
        return fresh

    def _empty(self) -> None:
        """Forget everything learnt: a fresh view, nothing queued (call with ``_lock`` held)."""
        self._view = self._factory()
        self._readiness.reset()
        self._buffer.clear()
        self._queued.clear()
        self._learnt.clear()

    def _fresh_locks(self) -> None:
        """In a forked child: a lock held by a parent thread at the fork is never released."""
        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._background = None  # the parent's thread did not survive the fork


def learn(view: ReliabilityView, outcome: ToolOutcome) -> None:
    """Learn a stored record: a priors-API observation carries its weight in metadata; a tool
    call weighs 1."""
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
