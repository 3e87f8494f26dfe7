"""``WritePath``: a finished call's way to a stored row, and the waits on it, kept apart from
the runtime's wiring so durability (spool, writer, flush, fork) can be read in one place.

A call the :class:`~toolwise.recording.recorder.Recorder` finishes becomes a record (the
:class:`~toolwise.recording.records.RecordBuilder` validates, redacts and bounds it), is
scored by the LLM quality judge when one is set, and is appended to the :class:`Spool`
(durable); then the ``learn`` callback runs (the runtime's learners) and the
:class:`BackgroundWriter` moves the spool to the store in batches. ``UnstoredFailures`` keeps
this process's failures until the writer has stored them (read-your-writes for recall).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from toolwise._checks import check_seconds, clipped
from toolwise._settings import DEFAULT_TTL, Settings
from toolwise.errors import InvalidArgumentError, SpoolError
from toolwise.models import ToolOutcome
from toolwise.recording.judge import QualityStage, judge_fallbacks
from toolwise.recording.recorder import Recorder
from toolwise.recording.records import RecordBuilder
from toolwise.recording.redact import SecretRedactor
from toolwise.storage.lost_records import LostRecords
from toolwise.storage.protocol import OutcomeStore
from toolwise.storage.spool import Spool
from toolwise.storage.unstored import UnstoredFailures
from toolwise.storage.writer import BURST_PAUSE, BackgroundWriter, WriterCounters

__all__ = ["LOCAL_BATCH", "REMOTE_BATCH", "WritePath"]

LOCAL_BATCH = 500
"""Records per write to an embedded store: its upsert holds the GIL (~0.35 s for 500)."""
REMOTE_BATCH = 2_000
"""Records per write to a server (at most: a write takes what is pending). Its upsert holds
the GIL only to check and encode the request (~25 µs per record), and each call has a fixed
cost on the server (its log's commits, and after 1,000 rows or more since the last, a rewrite
of the collection's index files): into a collection of 100,000 rows, calls of 2,000 took 8-12 %
less server CPU per record than calls of 1,000 (three paired runs, the failure index
included), and calls of 4,000 no less than 2,000 beyond the noise. On a small collection the
call's cost is ~35 ms (270 records/s in batches of 10, 1,330 in 100s, ~1,700 in 1,000s)."""

log = logging.getLogger("toolwise")


class WritePath:
    """The recorder, the quality judge, the spool and the background writer of one runtime.

    Args:
        root: the runtime's directory (the spool goes in ``root / "spool"`` unless
            ``spool_dir`` is set).
        store: where the writer stores the records.
        settings: the runtime's settings (``redactor``, ``ttl``, ``max_payload_chars``,
            ``spool_dir``, ``fsync``, ``batch_size``, ``max_backoff``, ``quality_judge``,
            ``timer``, ``durability``).
        clock: "now" (UTC); with a ``clock`` setting it also times the calls' start.
        max_delay: seconds a spooled record may wait before the writer stores it.
        learn: told of every record once it is durable, in spool order; must not raise.
        learn_stored: told of every record the writer stored, also those adopted from the
            spool of a process that ended (the learnt view, which skips what it knows).

    Thread-safe.
    """

    def __init__(
        self,
        root: Path,
        store: OutcomeStore,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        max_delay: float,
        learn: Callable[[ToolOutcome], None],
        learn_stored: Callable[[ToolOutcome], None] | None = None,
        remote: bool = False,
    ) -> None:
        self._store = store
        self._clock = clock
        self._learn = learn
        self._learn_stored_one = learn_stored
        redactor = settings.get("redactor", "default")
        self._records = RecordBuilder(
            redactor=SecretRedactor() if redactor == "default" else redactor,
            ttl=settings.get("ttl", DEFAULT_TTL),
            max_payload_chars=settings.get("max_payload_chars", 2_000),
            clock=clock,
        )
        spool_dir = settings.get("spool_dir")
        self._spool = Spool(
            Path(spool_dir) if spool_dir is not None else root / "spool",
            fsync=settings.get("fsync", "interval"),
        )
        self._batch_size = settings.get("batch_size", REMOTE_BATCH if remote else LOCAL_BATCH)
        # A server's write waits on the network with the GIL free, so a burst need not pace
        # it (the pause protects the agent from embedded Chroma, which holds the GIL).
        self._burst_pause = 0.0 if remote else BURST_PAUSE
        self._max_backoff = settings.get("max_backoff", 30.0)
        self._max_delay = max_delay
        self._writer = self._start_writer(store)
        self._lost = LostRecords(log)
        self._unstored = UnstoredFailures(
            recorded=lambda: self._spool.replayed + self._spool.appended,
            written=self._written,
        )
        quality_judge = settings.get("quality_judge")
        self._quality = None if quality_judge is None else QualityStage(quality_judge, self.deliver)
        self._recorder = Recorder(
            self._records,
            self.deliver if self._quality is None else self._quality,
            on_invalid=lambda _exc: self._writer.notify_invalid(),
            timer=settings.get("timer") or time.perf_counter,
            wall_clock=(lambda: clock().timestamp()) if settings.get("clock") else time.time,
            durability=settings.get("durability", "deferred"),
        )
        self._spool.note_process(durability=self._recorder.durability, window=self._recorder.window)

    @property
    def records(self) -> RecordBuilder:
        """Validates, redacts and bounds every record (the one record path)."""
        return self._records

    @property
    def recorder(self) -> Recorder:
        """Turns tool calls into records; what every framework adapter is given."""
        return self._recorder

    @property
    def unstored(self) -> UnstoredFailures:
        """This process's failures spooled but not yet stored (read-your-writes for recall)."""
        return self._unstored

    @property
    def spool_root(self) -> Path:
        """The directory of this process's spool files."""
        return self._spool.root

    def _start_writer(self, store: OutcomeStore | None) -> BackgroundWriter:
        return BackgroundWriter(
            self._spool,
            store,
            batch_size=self._batch_size,
            housekeeping=self._purge_expired,
            max_backoff=self._max_backoff,
            max_delay=self._max_delay,
            on_stored=self._learn_stored,
            burst_pause=self._burst_pause,
        )

    def _learn_stored(self, batch: Sequence[ToolOutcome]) -> None:
        """What the writer stored reaches the view too: records adopted from the spool of a
        process that ended were never recorded here (the view skips the ones it knows)."""
        if self._learn_stored_one is not None:
            for outcome in batch:
                self._learn_stored_one(outcome)

    @property
    def stopped(self) -> bool:
        """True once the writer has stopped (after :meth:`close`): nothing more is stored."""
        return self._writer.stopped

    def _written(self) -> int:
        counters = self._writer.counters
        return counters.recorded - counters.pending

    def _purge_expired(self) -> int:
        return self._store.purge_expired(self._clock())

    # -- into the spool -----------------------------------------------------------------------

    def deliver(self, outcome: ToolOutcome) -> None:
        """The hot path's sink: spool, then tell the learners. Never raises: a record the
        spool cannot take is logged and counted (dropped, or invalid)."""
        try:
            self._spool.append(outcome)
        except SpoolError as exc:
            self._writer.notify_dropped(exc)
            self._lost.lost(exc, closed=self._spool.closed)
            return
        except Exception as exc:  # not serialisable: never acknowledged, counted
            self._writer.notify_invalid()
            log.error("toolwise: a record of %s cannot be spooled: %s", clipped(outcome.tool), exc)
            return
        self._lost.spooled()
        self._writer.touch()
        self._learn(outcome)

    def accept(self, outcome: ToolOutcome) -> None:
        """The sink of a record the caller waits for: spool, then tell the learners.

        Raises:
            SpoolError: the spool cannot be written (nothing was acknowledged).
            InvalidArgumentError: the record would not read back from the spool as it is
                (nothing was acknowledged); ``.field`` names the field.
        """
        try:
            self._spool.append(outcome)
        except SpoolError as exc:
            self._writer.notify_dropped(exc)
            if self._spool.closed:
                raise SpoolError("toolwise is closed: nothing after close() is kept") from exc
            raise
        except InvalidArgumentError:
            self._writer.notify_invalid()
            raise
        except Exception as exc:  # a bug in the line check: still nothing acknowledged
            self._writer.notify_invalid()
            raise InvalidArgumentError("record", outcome.id, f"cannot be spooled: {exc}") from exc
        self._lost.spooled()
        self._writer.touch()
        self._learn(outcome)

    # -- waiting on it ------------------------------------------------------------------------

    @property
    def counters(self) -> WriterCounters:
        """The writer's counters, with the calls still queued in the recorder added to
        ``recorded`` and ``pending``, and the process-wide judge fallbacks."""
        queued = self._recorder.queued
        counters = self._writer.counters
        return dataclasses.replace(
            counters,
            recorded=counters.recorded + queued,
            pending=counters.pending + queued,
            queued=queued,
            judge_fallbacks=judge_fallbacks(),
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every record so far is in the store; False if ``timeout`` ran out."""
        if timeout is not None:
            check_seconds("timeout", timeout)
        self._recorder.drain()
        if self._quality is not None:
            self._quality.drain(timeout)
        return self._writer.flush(timeout)

    def flush_before_read(self, timeout: float) -> bool:
        """Read-your-writes while the store is up; no wait while it is known to be down."""
        self._recorder.drain()
        return self._writer.flush(timeout, unless_unavailable=True)

    def flush_before_forget(self, timeout: float) -> bool:
        """Every call so far in the store, the judge's queue included (up to ``timeout`` s);
        False at once while the store is known to be down (the delete would fail too)."""
        deadline = time.monotonic() + timeout
        self._recorder.drain()
        if self._quality is not None:
            self._quality.drain(timeout)
        left = max(0.0, deadline - time.monotonic())
        return self._writer.flush(left, unless_unavailable=True)

    def persist(self) -> None:
        """Make every call recorded so far durable in the local spool, now."""
        self._recorder.drain()
        if self._quality is not None:
            self._quality.drain()
        self._spool.sync()

    def stop_recording(self, timeout: float) -> None:
        """Take no more calls: finish the hand-off and the judge's queue (up to ``timeout``)."""
        self._recorder.close()
        if self._quality is not None:
            self._quality.close(timeout)

    def close(self, timeout: float) -> bool:
        """Drain the spool into the store (up to ``timeout`` s); False if some is left."""
        return self._writer.close(timeout)

    def after_fork(self) -> None:
        """In a forked child: a hand-off thread, spool directory and writer of its own, and a
        new store connection when the store can serve one (else the writer only spools)."""
        self._recorder.after_fork()
        if self._quality is not None:
            self._quality.after_fork()
        self._unstored.clear()  # the parent's spool: its writer stores them
        self._spool = self._spool.after_fork()
        self._lost = LostRecords(log)  # the parent's lock may have been held at the fork
        reconnect = getattr(self._store, "after_fork", None)
        usable = bool(reconnect()) if callable(reconnect) else True
        self._writer = self._start_writer(self._store if usable else None)
        if not usable:
            log.error(
                "toolwise: this process was forked after its Toolwise opened embedded Chroma, "
                "which cannot be used here; calls are still recorded, into %s, and stored by "
                "a toolwise process on the same path once this one ends. Create the Toolwise "
                "after the fork, or use url= with a `chroma run` server.",
                self._spool.root,
            )
