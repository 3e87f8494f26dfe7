"""``Runtime``: the wired parts of toolwise, built once, handed to whatever needs them.

One runtime owns one store, one spool and its background writer, one recorder (the hot path
of every tool call), one learning feed (the in-memory view of what works), the injected clock
and embedding, and — built on first use — the self-improvement loop. Everything above it
takes the runtime, or a narrow Protocol it satisfies, as a constructor argument:

* :class:`~toolwise.advice.Advisor` takes an :class:`~toolwise.advice.AdviceRuntime`;
* the LangChain / LangGraph adapters take a :class:`~toolwise.recording.recorder.Recorder`
  (``runtime.recorder``) and an ``Advisor``;
* :class:`~toolwise.Toolwise` wraps a runtime and adds the one-line conveniences;
* an HTTP service takes a runtime and serves :attr:`Runtime.calls`, :meth:`Runtime.record`,
  :meth:`Runtime.observe` and :meth:`Runtime.view`.

Where a record goes once built (in this order): the spool (durable; if that fails the record
is lost, counted and logged — or, for :meth:`record`, raised), then the learning feed, then
the improver's failure counter. Neither of the last two can fail a tool call.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from toolwise import _process
from toolwise._calls import READ_FLUSH_TIMEOUT, CallLog
from toolwise._checks import check_seconds
from toolwise._deprecations import renamed
from toolwise._settings import DEFAULT_TTL, Settings, check_settings, open_store
from toolwise.errors import InvalidArgumentError, SpoolError
from toolwise.improve.sandbox import protect
from toolwise.learning import LearningConfig, ReliabilityView, ToolPrior
from toolwise.learning.feed import LearningFeed, learn
from toolwise.models import InfraEventSummary, ToolOutcome, utcnow
from toolwise.recording.judge import QualityStage, judge_fallbacks
from toolwise.recording.recorder import Recorder
from toolwise.recording.records import RecordBuilder
from toolwise.recording.redact import SecretRedactor
from toolwise.storage.clients import default_root
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding, cosine
from toolwise.storage.protocol import OutcomeStore
from toolwise.storage.snapshots import snapshot_store_for
from toolwise.storage.spool import Spool
from toolwise.storage.task_clusters import TaskClusterStore, task_cluster_store_for
from toolwise.storage.unstored import LocalFailures, UnstoredFailures
from toolwise.storage.writer import BackgroundWriter, WriterCounters

if TYPE_CHECKING:
    from toolwise.improve import Improver

__all__ = ["Runtime", "Settings"]

log = logging.getLogger("toolwise")

_MAX_CACHED_EMBEDDINGS = 10_000


class Runtime:
    """The store, spool, writer, recorder, learning feed, clock and embedding, built once.

    Args:
        path: directory of the embedded store and the spool (default ``$TOOLWISE_PATH`` or
            ``./.toolwise``).
        **settings: see :class:`Settings` and :class:`~toolwise.Toolwise`.

    Raises:
        InvalidArgumentError: a setting cannot work; ``.field`` names it.

    Thread-safe. Registered with the process (fork and exit hooks, :mod:`toolwise._process`)
    until :meth:`close`.
    """

    def __init__(self, path: str | Path | None = None, **settings: Unpack[Settings]) -> None:
        check_settings(path, settings)
        root = Path(path) if path is not None else default_root()
        clock = settings.get("clock")
        self._clock: Callable[[], datetime] = clock or utcnow
        self._embedding: EmbeddingFunction = settings.get("embedding") or HashingEmbedding()
        self._store, remote = open_store(root, settings, self._embedding)
        self._owns_store = settings.get("store") is None  # no other runtime writes through it
        # Other processes read a server: a burst's records wait at most 1 s, not 5 s, to go.
        self._max_delay = 1.0 if remote else 5.0
        self._task_clusters = task_cluster_store_for(self._store)
        redactor = settings.get("redactor", "default")
        self._records = RecordBuilder(
            redactor=SecretRedactor() if redactor == "default" else redactor,
            ttl=settings.get("ttl", DEFAULT_TTL),
            max_payload_chars=settings.get("max_payload_chars", 2_000),
            clock=self._clock,
        )
        spool_dir = settings.get("spool_dir")
        self._spool = Spool(
            Path(spool_dir) if spool_dir is not None else root / "spool",
            fsync=settings.get("fsync", "interval"),
        )
        protect(root / "chroma", self._spool.root)  # no sandboxed code may read or forge records
        self._batch_size = settings.get("batch_size", 500)
        self._max_backoff = settings.get("max_backoff", 30.0)
        self._writer = self._start_writer(self._store)
        self._unstored = UnstoredFailures(
            recorded=lambda: self._spool.replayed + self._spool.appended,
            written=self._written,
        )
        self._learning_config = settings.get("learning") or LearningConfig()
        self._embedding_cache: dict[str, list[float]] = {}
        quality_judge = settings.get("quality_judge")
        self._quality = (
            None if quality_judge is None else QualityStage(quality_judge, self._deliver)
        )
        self._recorder = Recorder(
            self._records,
            self._deliver if self._quality is None else self._quality,
            on_invalid=lambda _exc: self._writer.notify_invalid(),
            timer=settings.get("timer") or time.perf_counter,
            wall_clock=(lambda: self._clock().timestamp()) if clock else time.time,
            durability=settings.get("durability", "deferred"),
        )
        self._spool.note_process(durability=self._recorder.durability, window=self._recorder.window)
        refresh = settings.get("refresh_interval")
        self._feed = LearningFeed(
            lambda: ReliabilityView(self._learning_config, self._task_similarity, self._clock),
            self._store,
            flush=lambda: self._flush_before_read(READ_FLUSH_TIMEOUT),
            clock=self._clock,
            refresh_interval=refresh if refresh is not None else (1.0 if remote else None),
            catch_up=self._recorder.drain,
            snapshots=snapshot_store_for(self._store),
        )
        self._calls = CallLog(
            self._store,
            flush=self._flush_before_read,
            clock=self._clock,
            outages=self._outages,
            forgotten=self._forgotten,
        )
        self._improve_config = settings.get("improve")
        self._chat_model = settings.get("chat_model")
        self._improver: Improver | None = None
        self._improver_lock = threading.Lock()
        self._closed = False
        self._close_lock = threading.Lock()
        _process.register(self)
        self._start_background_improver()

    # -- the parts (read-only) ----------------------------------------------------------------

    @property
    def store(self) -> OutcomeStore:
        """The outcome log (Chroma unless a custom store was given)."""
        return self._store

    @property
    def embedding(self) -> EmbeddingFunction:
        """Vectors for records, task types and queries."""
        return self._embedding

    @property
    def task_clusters(self) -> TaskClusterStore:
        """Task types learnt from requests (beside the outcome store, one namespace per agent)."""
        return self._task_clusters

    @property
    def clock(self) -> Callable[[], datetime]:
        """The injected clock ("now", UTC)."""
        return self._clock

    @property
    def recorder(self) -> Recorder:
        """Turns tool calls into records: what every framework adapter is given."""
        return self._recorder

    @property
    def feed(self) -> LearningFeed:
        """Keeps the learnt view in step with the records (``feed.ready``: built yet?)."""
        return self._feed

    @property
    def learning_config(self) -> LearningConfig:
        """How outcomes become rankings."""
        return self._learning_config

    @property
    def ttl(self) -> timedelta | None:
        """How long records live (``None``: until forgotten)."""
        return self._records.ttl

    @property
    def calls(self) -> CallLog:
        """The tracking API: list, get, summarise and forget recorded calls."""
        return self._calls

    # -- the write path -----------------------------------------------------------------------

    def _start_writer(self, store: OutcomeStore | None) -> BackgroundWriter:
        return BackgroundWriter(
            self._spool,
            store,
            batch_size=self._batch_size,
            housekeeping=self._purge_expired,
            max_backoff=self._max_backoff,
            max_delay=self._max_delay,
            on_stored=self._learn_stored,
        )

    def _learn_stored(self, batch: Sequence[ToolOutcome]) -> None:
        """What the writer stored reaches the view too: records adopted from the spool of a
        process that ended were never recorded here (the view skips the ones it knows)."""
        feed = getattr(self, "_feed", None)  # the writer starts before the feed exists
        if feed is not None:
            for outcome in batch:
                feed.on_record(outcome)

    def _written(self) -> int:
        counters = self._writer.counters
        return counters.recorded - counters.pending

    def _purge_expired(self) -> int:
        return self._store.purge_expired(self._clock())

    def _deliver(self, outcome: ToolOutcome) -> None:
        """The hot path's sink: spool, then tell the learners. Never raises: a record the
        spool cannot take is logged and counted (dropped, or invalid)."""
        try:
            self._spool.append(outcome)
        except SpoolError as exc:
            self._writer.notify_dropped(exc)
            log.error("toolwise: RECORD LOST — the spool cannot be written: %s", exc)
            return
        except Exception as exc:  # not serialisable: never acknowledged, counted
            self._writer.notify_invalid()
            log.error("toolwise: a record of %s cannot be spooled: %s", outcome.tool, exc)
            return
        self._writer.touch()
        self._observe(outcome)

    def _accept(self, outcome: ToolOutcome) -> None:
        """The sink of a record the caller waits for: spool, then tell the learners.

        Raises:
            SpoolError: the spool cannot be written (nothing was acknowledged).
            InvalidArgumentError: the record cannot be serialised (nothing was acknowledged).
        """
        try:
            self._spool.append(outcome)
        except SpoolError as exc:
            self._writer.notify_dropped(exc)
            raise
        except Exception as exc:
            self._writer.notify_invalid()
            raise InvalidArgumentError("record", outcome.id, f"cannot be spooled: {exc}") from exc
        self._writer.touch()
        self._observe(outcome)

    def _observe(self, outcome: ToolOutcome) -> None:
        """After the spool, in order: the learning feed, then the improver's failure counter
        (both cheap: they run on every tool call); never raises."""
        try:
            self._feed.on_record(outcome)
            self._unstored.add(outcome)
        except Exception as exc:  # learning must never fail a tool call
            log.warning("toolwise: learning from a record failed: %s", exc)
        improver = self._improver
        if improver is not None:
            try:
                improver.notify(outcome)  # O(1): counts failures under a lock
            except Exception as exc:
                log.warning("toolwise: scheduling self-improvement failed: %s", exc)

    def record(self, outcome: ToolOutcome | None = None, /, **fields: Any) -> ToolOutcome:
        """Record an outcome you judged yourself (no LangChain needed).

        Pass a :class:`ToolOutcome` or its fields (``tool=``, ``outcome=``, ``latency_ms=`` …);
        text fields may be objects (stored as JSON text). The record is redacted and bounded
        like every other (:mod:`toolwise.recording.records`); ``timestamp`` defaults to the
        clock, ``expires_at`` to ``timestamp + ttl``. Returns the record as stored.

        Raises:
            InvalidArgumentError: a field is invalid or not finite; ``.field`` names it.
                Nothing was recorded.
            SpoolError: the record could not be made durable. Nothing was recorded.
        """
        if outcome is None:
            built = self._records.build(fields)
        elif fields:
            raise InvalidArgumentError("fields", sorted(fields), "give a ToolOutcome or fields")
        else:
            built = self._records.rebuild(outcome)
        self._accept(built)
        return built

    def observe(
        self,
        tool: str,
        success: bool | float,
        *,
        task_type: str = "",
        weight: float = 1.0,
        agent_id: str = "default",
        environment: str = "",
        latency_ms: float | None = None,
        cost: float | None = None,
        context_class: str | None = None,
    ) -> ToolPrior:
        """Record one outcome you judged (priors-API style) and return the updated prior.

        The observation is recorded like any record (validated, spooled, then stored, so it
        survives restarts), then the prior of ``(agent_id, tool, task_type, environment)`` is
        read back from the learnt view. ``context_class`` is the deprecated name of
        ``task_type``.

        Raises:
            InvalidArgumentError: naming ``tool``, ``success``, ``weight``, ``agent_id``,
                ``latency_ms`` or ``cost``. Nothing was recorded or learnt.
        """
        task_type = renamed("context_class", "task_type", context_class, task_type, "")
        record = self._records.observation(
            tool,
            success,
            task_type=task_type,
            weight=weight,
            agent_id=agent_id,
            environment=environment,
            latency_ms=latency_ms,
            cost=cost,
        )
        view = self.view()  # built before the record is spooled: the feed then queues it
        self._accept(record)
        found = self.view().priors(
            agent_id=agent_id, tool=tool, context_class=task_type, environment=environment
        )
        if not found:  # the view was reset (a concurrent forget) before it learnt the record
            found = view.priors(
                agent_id=agent_id, tool=tool, context_class=task_type, environment=environment
            )
        return found[0]

    # -- learning ---------------------------------------------------------------------------

    def view(self) -> ReliabilityView:
        """The learnt reliability view, built from the store on first use (can take seconds
        on a large store: :meth:`warm_up` builds it in the background)."""
        return self._feed.view()

    def warm_up(self) -> None:
        """Start building the view in the background, so the first read need not wait."""
        self._feed.warm_up()

    def local_failures(self, agent_id: str) -> LocalFailures:
        """This process's failures of ``agent_id`` that the store may not answer for yet,
        and how many it has recorded (recall merges them: read-your-writes)."""
        return self._unstored.of(agent_id, self._clock())

    def _task_similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two task-type names under the store's embedding."""
        vectors = []
        for text in (a, b):
            vector = self._embedding_cache.get(text)
            if vector is None:
                vector = self._embedding([text.replace("_", " ")])[0]
                if len(self._embedding_cache) < _MAX_CACHED_EMBEDDINGS:
                    self._embedding_cache[text] = vector
            vectors.append(vector)
        return max(0.0, min(1.0, cosine(vectors[0], vectors[1])))

    def _outages(
        self, agent_id: str | None, since: datetime | None, outcomes: list[ToolOutcome]
    ) -> list[InfraEventSummary]:
        """Outages for a summary, without building the whole view just for them.

        Outages are found per agent and environment, from that agent's records alone, so when
        the view is not built yet (``toolwise summary`` in a fresh process) a throwaway view fed
        the records just read gives the same events at a fraction of the cost (at 100,000
        records: one pass over them instead of a second read of the store).
        """
        if since is not None or self._feed.ready:
            return list(self.view().infra_events(agent_id))
        view = ReliabilityView(self._learning_config, None, self._clock)
        for outcome in sorted(outcomes, key=lambda o: o.timestamp):
            learn(view, outcome)
        return list(view.infra_events(agent_id))

    def _forgotten(
        self, agent_id: str, tool: str | None, ids: Sequence[str] | None, removed: int
    ) -> None:
        self._feed.invalidate_snapshots()  # they summarise what is gone
        self._feed.reset()  # unlearn: the view is rebuilt from what remains
        self._unstored.forget(agent_id, tool=tool, ids=ids)
        try:
            self.improver.on_forget(agent_id, tool=tool, ids=ids, removed=removed)
        except Exception as exc:  # forgetting records must not fail on lesson bookkeeping
            log.warning("toolwise: dropping lessons of forgotten records failed: %s", exc)

    # -- self-improvement -------------------------------------------------------------------

    @property
    def improver(self) -> Improver:
        """Lessons, demonstrations, composite tools, prompt refinement and the audit trail;
        built on first use."""
        improver = self._improver
        if improver is None:
            from toolwise.improve import Improver

            with self._improver_lock:
                if self._improver is None:
                    self._improver = Improver(
                        self._store,
                        embedding=self._embedding,
                        clock=self._clock,
                        flush=self.flush,
                        chat_model=self._chat_model,
                        config=self._improve_config,
                    )
                improver = self._improver
        return improver

    def _start_background_improver(self) -> None:
        """With ``improve_after_failures`` set, build the improver now, so it sees failures
        from the first call."""
        config = self._improve_config
        if config is not None and config.improve_after_failures is not None:
            _ = self.improver

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def counters(self) -> WriterCounters:
        """recorded, written, retried, pending, dropped (0 unless the spool failed), invalid,
        queued (finished calls not yet spooled; part of recorded and pending), judge_fallbacks
        (calls whose judge raised or returned no verdict; process-wide, default verdict kept)."""
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

    def _flush_before_read(self, timeout: float) -> bool:
        """Read-your-writes while the store is up; no wait while it is known to be down."""
        self._recorder.drain()
        return self._writer.flush(timeout, unless_unavailable=True)

    def persist(self) -> None:
        """Make every call recorded so far durable in the local spool, now, without waiting
        for the store: it then survives a crash of this process or of the machine."""
        self._recorder.drain()
        if self._quality is not None:
            self._quality.drain()
        self._spool.sync()

    def close(self, timeout: float = 10.0) -> bool:
        """Drain the spool (up to ``timeout`` s) and stop; what is left is written next start."""
        check_seconds("timeout", timeout)
        with self._close_lock:
            if self._closed:
                return True
            self._closed = True
        self._recorder.close()
        if self._quality is not None:
            self._quality.close(timeout)
        if self._improver is not None:
            self._improver.close(timeout)
        drained = self._writer.close(timeout)
        # After the writer: once it has stopped, the view has learnt all it ever stored, and
        # the last snapshot says so (the next start need not read this writer's records).
        self._feed.close(complete=self._writer.stopped and self._owns_store)
        self._store.close()
        _process.unregister(self)
        return drained

    def after_fork_in_child(self) -> None:
        """Runs in a forked child (``os.register_at_fork``).

        The parent's threads did not survive the fork, and its spool files and store
        connection are the parent's. The child gets its own hand-off thread, spool directory
        and writer, and a new connection when the store can serve it (a ``chroma run``
        server). Embedded Chroma cannot (it hangs in a forked child): the child then keeps
        recording into its spool — adopted and stored, once the child ends, by a process still
        running on the path (the parent) or the next one to start — and every read raises
        :class:`~toolwise.errors.StoreError` at once, saying so.
        """
        self._close_lock = threading.Lock()
        self._improver_lock = threading.Lock()
        if self._closed:
            return
        self._recorder.after_fork()
        if self._quality is not None:
            self._quality.after_fork()
        self._feed.after_fork()
        self._unstored.clear()  # the parent's spool: its writer stores them
        self._spool = self._spool.after_fork()
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
        self._improver = None  # the parent's, with its threads; a new one if configured
        self._start_background_improver()
