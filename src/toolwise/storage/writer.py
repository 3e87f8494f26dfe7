"""The background writer: drains the spool into the store in batches, retrying with backoff.

One daemon thread per :class:`~toolwise.Toolwise`. It never holds more than one batch in
memory — the spool on disk is the queue — so memory stays bounded however long the store is
down. Store failures are retried with tenacity's jittered exponential backoff; each failed
attempt is counted and logged, never raised into a tool call.

It writes when the agent is idle. Chroma's client holds the GIL for much of an upsert (see
``benchmarks/overhead.py``), so writing in the middle of a burst of tool calls would slow the
agent. The writer therefore waits until no
record arrived for ``idle_after`` seconds — agents spend most of their time waiting on the
model, with the GIL free — but never longer than ``max_delay`` seconds or past
``high_water`` pending records. :meth:`flush` writes at once.

How a batch gets in — retries with backoff, records refused for good set aside — is
:mod:`toolwise.storage.store_writes`.

A store that reports its health (:class:`~toolwise.storage.chroma.ChromaOutcomeStore`) fails
writes at once while it is unhealthy: the writer keeps retrying with backoff, wakes as soon as
the store answers again, and a read's flush (``unless_unavailable=True``) stops waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from toolwise.models import ToolOutcome
from toolwise.storage.health import store_is_down
from toolwise.storage.protocol import OutcomeStore
from toolwise.storage.spool import Spool
from toolwise.storage.store_writes import GiveUp, StoreWrites

__all__ = ["BURST_PAUSE", "BackgroundWriter", "WriterCounters"]

log = logging.getLogger("toolwise.writer")


@dataclass(frozen=True, slots=True)
class WriterCounters:
    """A snapshot of the write path. ``dropped`` stays 0 unless the spool itself failed;
    ``rejected`` counts records the store refused for good (kept in ``rejected.jsonl``);
    ``queued`` counts finished calls not yet spooled (deferred durability; included in
    ``recorded`` and ``pending``)."""

    recorded: int
    written: int
    retried: int
    pending: int
    dropped: int
    invalid: int
    replayed: int
    last_error: str
    rejected: int = 0
    queued: int = 0
    judge_fallbacks: int = 0


BURST_PAUSE = 3.0
"""During a burst of tool calls the writer pauses this many times as long as each write took."""


class _Health(Protocol):
    @property
    def healthy(self) -> bool: ...


class BackgroundWriter:
    """Moves spooled records into an :class:`OutcomeStore`.

    Args:
        spool: the durable queue to drain.
        store: where records go; ``write`` must be idempotent by record id. ``None``: this
            process cannot use the store (a forked child of an embedded store's owner), so
            records stay spooled for the next process that opens the store; no thread runs.
        batch_size: records per store write (Chroma embeds and upserts a batch in one call).
        max_backoff: ceiling of the retry wait, in seconds.
        fsync_interval: how often to fsync the spool under the ``"interval"`` policy.
        housekeeping: called about every ``housekeeping_interval`` seconds (TTL purge).
        adopt_interval: how often to look for spool directories of processes that ended.
        on_stored: called (in the writer thread, before a flush waiting for them returns)
            with each batch once stored: the learnt view learns from it what this process
            did not record itself — records adopted from the spool of a process that ended.
        burst_pause: after a batch written during a burst of tool calls, pause this many
            times as long as the write took (:data:`BURST_PAUSE`; 0: no pause, for a store
            whose writes leave the GIL free, a server).
    """

    def __init__(
        self,
        spool: Spool,
        store: OutcomeStore | None,
        *,
        batch_size: int = 500,
        max_backoff: float = 30.0,
        fsync_interval: float = 1.0,
        housekeeping: Callable[[], object] | None = None,
        housekeeping_interval: float = 600.0,
        idle_after: float = 0.05,
        max_delay: float = 5.0,
        high_water: int = 5_000,
        adopt_interval: float = 10.0,
        on_stored: Callable[[Sequence[ToolOutcome]], object] | None = None,
        burst_pause: float = BURST_PAUSE,
    ) -> None:
        self._spool = spool
        self._burst_pause = burst_pause
        self._on_stored = on_stored
        self._store = store
        self._batch_size = batch_size
        self._max_backoff = max_backoff
        self._fsync_interval = fsync_interval
        self._housekeeping = housekeeping
        self._housekeeping_interval = housekeeping_interval
        self._idle_after = idle_after
        self._max_delay = max_delay
        self._high_water = high_water
        self._adopt_interval = adopt_interval
        self._last_record_at = 0.0
        self._first_pending_at: float | None = None
        self._flush_requested = 0
        self._sleeping_idle = False
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._written = 0
        self._dropped = 0
        self._invalid = 0
        self._last_error = ""
        self._stopping = False
        self._give_up_at = float("inf")
        self._store_down = False
        watch = getattr(store, "on_health_change", None)
        if callable(watch):
            watch(self._on_store_health)
            self._store_down = store_is_down(store)
        self._writes = (
            None
            if store is None
            else StoreWrites(
                store,
                set_aside=self._set_aside,
                sleep=self._interruptible_sleep,
                failed=self._failed,
                max_backoff=max_backoff,
            )
        )
        self._thread = threading.Thread(target=self._run, name="toolwise-writer", daemon=True)
        if store is not None:
            self._thread.start()

    # -- producer side (hot path) --------------------------------------------------------------

    def touch(self) -> None:
        """A record was just spooled: note the time, and wake the writer if it sleeps idle.

        Lock-free on purpose (it runs on every tool call): the spool counts records itself,
        and a wake-up missed by a race only delays the write by ``fsync_interval``.
        """
        now = time.monotonic()
        self._last_record_at = now
        if self._first_pending_at is None:
            self._first_pending_at = now
        if self._sleeping_idle:
            with self._lock:
                if self._sleeping_idle:
                    self._sleeping_idle = False
                    self._wake.notify()

    def notify_dropped(self, error: BaseException) -> None:
        """A record could not be spooled: it is lost, so count it and say why."""
        with self._lock:
            self._dropped += 1
            self._last_error = f"spool: {error}"

    def notify_invalid(self) -> None:
        with self._lock:
            self._invalid += 1

    @property
    def counters(self) -> WriterCounters:
        with self._lock:
            return WriterCounters(
                recorded=self._recorded_count(),
                written=self._written,
                retried=0 if self._writes is None else self._writes.retried,
                pending=self._recorded_count() - self._written - self._spool.skipped,
                dropped=self._dropped,
                invalid=self._invalid,
                replayed=self._spool.replayed,
                last_error=self._last_error,
                rejected=0 if self._writes is None else self._writes.rejected,
            )

    # -- draining -----------------------------------------------------------------------------

    def flush(self, timeout: float | None = None, *, unless_unavailable: bool = False) -> bool:
        """Wait until every record recorded so far is in the store; False on timeout.

        With ``unless_unavailable``, also False as soon as the store reports itself unhealthy
        (a read that flushes first then fails fast instead of waiting out ``timeout``).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            target = self._recorded_count()
            self._flush_requested += 1
            self._wake.notify()
            try:
                while self._done() < target and self._thread.is_alive():
                    if unless_unavailable and self._store_down:
                        return False
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._drained.wait(timeout=remaining if remaining is not None else 1.0)
                return self._done() >= target
            finally:
                self._flush_requested -= 1

    def _on_store_health(self, health: _Health) -> None:
        """The store turned healthy (retry now) or unhealthy (release reads' flushes)."""
        with self._lock:
            self._store_down = not health.healthy
            self._wake.notify_all()
            self._drained.notify_all()

    def _recorded_count(self) -> int:
        return self._spool.replayed + self._spool.appended

    def _done(self) -> int:
        return self._written + self._spool.skipped

    def close(self, timeout: float = 10.0) -> bool:
        """Drain for up to ``timeout`` seconds (not at all while the store reports itself
        unhealthy: an exit does not wait on a dead server), then stop; undelivered records
        stay spooled for the next start."""
        drained = self.flush(timeout=timeout, unless_unavailable=True)
        with self._lock:
            self._stopping = True
            self._give_up_at = time.monotonic()
            self._wake.notify_all()
        if self._thread.ident is not None:  # started (not a spool-only writer)
            self._thread.join(timeout=max(timeout, 1.0) + self._max_backoff)
        else:
            self._spool.sync()
        counters = self.counters
        if counters.pending:
            log.warning(
                "toolwise: %d record(s) not yet stored remain in the spool at %s; "
                "they will be written on the next start",
                counters.pending,
                self._spool.root,
            )
        self._spool.close(drained=drained and counters.pending == 0)
        return drained

    def _run(self) -> None:
        last_sync = last_housekeeping = last_adoption = time.monotonic()
        while True:
            if time.monotonic() - last_adoption >= self._adopt_interval:
                last_adoption = time.monotonic()
                self._adopt_orphans()
            with self._lock:
                if self._stopping:
                    return
                if self._done() >= self._recorded_count():
                    self._first_pending_at = None
                    self._sleeping_idle = True
                    self._wake.wait(timeout=self._fsync_interval)
                    self._sleeping_idle = False
                    if self._recorded_count() > self._done():
                        continue  # woken by a new record: wait until it falls due
                else:
                    delay = self._time_until_due(time.monotonic())
                    if delay > 0:
                        self._wake.wait(timeout=min(delay, self._fsync_interval))
                        if self._time_until_due(time.monotonic()) > 0:
                            continue
                if self._stopping:
                    return
            now = time.monotonic()
            if now - last_sync >= self._fsync_interval:
                # Only here, when records are due (the agent is idle or max_delay passed):
                # an fsync stalls concurrent appends to the same file for its whole duration.
                self._spool.sync()
                last_sync = now
            if self._housekeeping and now - last_housekeeping >= self._housekeeping_interval:
                last_housekeeping = now
                self._safe_housekeeping()
            batch, cursor = self._spool.read_batch(self._batch_size)
            if not batch:
                if cursor.segment or cursor.skipped:  # only empty or unreadable lines passed
                    self._spool.commit(cursor)
                    with self._lock:
                        self._drained.notify_all()
                continue
            started = time.monotonic()
            assert self._writes is not None  # the thread runs only with a store
            try:
                self._writes.write(batch)
            except GiveUp:
                return
            self._stored(batch)
            self._spool.commit(cursor)
            with self._lock:
                self._written += len(batch)
                if self._done() >= self._recorded_count():
                    self._first_pending_at = None
                self._drained.notify_all()
                self._yield_to_a_busy_agent(time.monotonic() - started)

    def _yield_to_a_busy_agent(self, spent: float) -> None:
        """After a batch written while tool calls keep coming, pause ``BURST_PAUSE`` times as
        long as the write took (call with the lock held).

        A write holds the GIL for most of its time, so a writer that kept writing through a
        long burst would take as much time from the agent as it spends; paced, it takes at
        most ``1 / (1 + BURST_PAUSE)`` of it, and the spool absorbs the rest. ``flush()`` and
        ``close()`` cut the pause short.
        """
        now = time.monotonic()
        if (
            self._flush_requested
            or self._stopping
            or now - self._last_record_at >= self._idle_after
        ):
            return
        if self._burst_pause > 0:
            self._wake.wait(timeout=spent * self._burst_pause)

    def _time_until_due(self, now: float) -> float:
        """Seconds until pending records must be written (0: now). Call with the lock held."""
        pending = self._recorded_count() - self._done()
        if self._flush_requested or self._stopping or pending >= self._high_water:
            return 0.0
        idle_due = self._last_record_at + self._idle_after
        first = self._first_pending_at if self._first_pending_at is not None else now
        return max(0.0, min(idle_due, first + self._max_delay) - now)

    def _stored(self, batch: list[ToolOutcome]) -> None:
        if self._on_stored is None:
            return
        try:
            self._on_stored(batch)
        except Exception as exc:  # the records are stored: nothing to retry
            log.warning("toolwise: after a write, on_stored failed: %s", exc)

    @property
    def stopped(self) -> bool:
        """True once the writer thread has ended (or never ran): nothing more is written."""
        return not self._thread.is_alive()

    def _set_aside(self, outcome: ToolOutcome, reason: str) -> None:
        self._spool.reject(outcome, reason)
        log.error(
            "toolwise: the store refused record %s (%s); kept in %s/rejected.jsonl",
            outcome.id,
            reason,
            self._spool.root,
        )

    def _failed(self, message: str) -> None:
        with self._lock:
            self._last_error = message

    def _interruptible_sleep(self, seconds: float) -> None:
        with self._lock:
            if self._stopping and time.monotonic() >= self._give_up_at:
                raise GiveUp
            self._wake.wait(timeout=seconds)
            if self._stopping and time.monotonic() >= self._give_up_at:
                raise GiveUp

    def _adopt_orphans(self) -> None:
        """Store what processes that ended left in the spool (a forked worker of an embedded
        store cannot write to it itself), without waiting for the next start."""
        try:
            adopted = self._spool.adopt_orphans()
        except Exception as exc:  # the next round, or the next start, tries again
            log.warning("toolwise: adopting another process's spool failed: %s", exc)
            return
        if adopted:
            with self._lock:
                if self._first_pending_at is None:
                    self._first_pending_at = time.monotonic()

    def _safe_housekeeping(self) -> None:
        try:
            assert self._housekeeping is not None
            self._housekeeping()
        except Exception as exc:  # purging is best effort; the next round tries again
            log.warning("toolwise: housekeeping failed: %s", exc)
