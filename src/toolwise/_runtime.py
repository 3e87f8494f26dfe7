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
the improver's failure counter. Neither of the last two can fail a tool call. The runtime only
wires: the way to the store is :class:`~toolwise._write_path.WritePath`, what the records
teach is :class:`~toolwise._learners.Learners`, the reads are :class:`~toolwise._calls.CallLog`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from toolwise import _process
from toolwise._calls import READ_FLUSH_TIMEOUT, CallLog
from toolwise._checks import check_seconds
from toolwise._deprecations import renamed
from toolwise._learners import Learners
from toolwise._settings import Settings, check_settings, open_store
from toolwise._write_path import WritePath
from toolwise.errors import InvalidArgumentError
from toolwise.improve.sandbox import protect
from toolwise.learning import LearningConfig, ReliabilityView, ToolPrior
from toolwise.learning.feed import LearningFeed
from toolwise.models import ToolOutcome, utcnow
from toolwise.recording.recorder import Recorder
from toolwise.storage.clients import default_root
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding
from toolwise.storage.protocol import OutcomeStore
from toolwise.storage.task_clusters import TaskClusterStore, task_cluster_store_for
from toolwise.storage.unstored import LocalFailures
from toolwise.storage.writer import WriterCounters

if TYPE_CHECKING:
    from toolwise.improve import Improver

__all__ = ["Runtime", "Settings"]


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
        max_delay = 1.0 if remote else 5.0
        self._task_clusters = task_cluster_store_for(self._store)
        self._writes = WritePath(
            root,
            self._store,
            settings,
            clock=self._clock,
            max_delay=max_delay,
            learn=lambda outcome: self._learners.learn(outcome),  # noqa: PLW0108 (built next)
            learn_stored=lambda outcome: self._learners.feed.on_record(outcome),  # noqa: PLW0108
            remote=remote,
        )
        protect(root / "chroma", self._writes.spool_root)  # no sandboxed code may read or forge
        self._records = self._writes.records
        self._recorder = self._writes.recorder
        refresh = settings.get("refresh_interval")
        self._learners = Learners(
            self._store,
            embedding=self._embedding,
            clock=self._clock,
            config=settings.get("learning") or LearningConfig(),
            unstored=self._writes.unstored,
            read_flush=lambda: self._writes.flush_before_read(READ_FLUSH_TIMEOUT),
            catch_up=self._recorder.drain,
            flush=self._writes.flush,
            refresh_interval=refresh if refresh is not None else (1.0 if remote else None),
            improve=settings.get("improve"),
            chat_model=settings.get("chat_model"),
            labels=self._records.label,
        )
        self._calls = CallLog(
            self._store,
            flush=self._writes.flush_before_read,
            settle=self._writes.flush_before_forget,
            clock=self._clock,
            outages=self._learners.outages,
            forgotten=self._learners.forgotten,
            labels=self._records.label,
            identifiers=self._records.identifier,
        )
        self._closed = False
        self._close_lock = threading.Lock()
        self._close_done = threading.Event()
        self._drained = False
        _process.register(self)
        self._learners.start_improving()

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
        return self._learners.feed

    @property
    def learning_config(self) -> LearningConfig:
        """How outcomes become rankings."""
        return self._learners.config

    @property
    def ttl(self) -> timedelta | None:
        """How long records live (``None``: until forgotten)."""
        return self._records.ttl

    @property
    def calls(self) -> CallLog:
        """The tracking API: list, get, summarise and forget recorded calls."""
        return self._calls

    # -- the write path -----------------------------------------------------------------------

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
        if outcome is not None and fields:
            raise InvalidArgumentError("fields", sorted(fields), "give a ToolOutcome or fields")
        built = self._built(fields if outcome is None else outcome)
        self._writes.accept(built)
        return built

    def record_many(
        self, records: Iterable[ToolOutcome | Mapping[str, Any]], /
    ) -> list[ToolOutcome]:
        """Record a batch, each a :class:`ToolOutcome` or its fields, as :meth:`record` does.

        All or nothing: every record is built (validated, redacted, bounded) before the first
        is spooled, so one invalid record refuses the batch. A mapping of fields is built
        once, where a ``ToolOutcome`` made by the caller is checked again. Returns the records
        as stored, in order.

        Raises:
            InvalidArgumentError: naming the record and its field (``[3].cost``: the fourth).
                Nothing was recorded, unless the spool refused a record the builder made (then
                the records before it were).
            SpoolError: the spool cannot be written; the records before it were recorded.
        """
        built: list[ToolOutcome] = []
        for index, record in enumerate(records):
            try:
                built.append(self._built(record))
            except InvalidArgumentError as exc:
                raise exc.within(f"[{index}].") from exc
        for index, record in enumerate(built):
            try:
                self._writes.accept(record)
            except InvalidArgumentError as exc:
                raise exc.within(f"[{index}].") from exc
        return built

    def _built(self, record: ToolOutcome | Mapping[str, Any]) -> ToolOutcome:
        """``record`` under the record builder's rules."""
        if isinstance(record, ToolOutcome):
            return self._records.rebuild(record)
        return self._records.build(record)

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
        self._writes.accept(record)
        # The record's labels, not the arguments: the builder cuts a long label and redacts a
        # secret-looking one, and the view learnt the record under what it keeps.
        found = self._prior_of(self.view(), record)
        if not found:  # the view was reset (a concurrent forget) before it learnt the record
            found = self._prior_of(view, record)
        return found[0]

    @staticmethod
    def _prior_of(view: ReliabilityView, record: ToolOutcome) -> list[ToolPrior]:
        return view.priors(
            agent_id=record.agent_id,
            tool=record.tool,
            context_class=record.task_type,
            environment=record.environment,
        )

    # -- learning ---------------------------------------------------------------------------

    def view(self) -> ReliabilityView:
        """The learnt reliability view, built from the store on first use (can take seconds
        on a large store: :meth:`warm_up` builds it in the background)."""
        return self._learners.view()

    def warm_up(self) -> None:
        """Start building the view in the background, so the first read need not wait."""
        self._learners.feed.warm_up()

    def local_failures(self, agent_id: str) -> LocalFailures:
        """This process's failures of ``agent_id`` that the store may not answer for yet,
        and how many it has recorded (recall merges them: read-your-writes)."""
        return self._writes.unstored.of(agent_id, self._clock())

    @property
    def improver(self) -> Improver:
        """Lessons, demonstrations, composite tools, prompt refinement and the audit trail;
        built on first use."""
        return self._learners.improver

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def counters(self) -> WriterCounters:
        """recorded, written, retried, pending, dropped (0 unless the spool failed), invalid,
        queued (finished calls not yet spooled; part of recorded and pending), judge_fallbacks
        (calls whose judge raised or returned no verdict; process-wide, default verdict kept)."""
        return self._writes.counters

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every record so far is in the store; False if ``timeout`` ran out."""
        return self._writes.flush(timeout)

    def persist(self) -> None:
        """Make every call recorded so far durable in the local spool, now, without waiting
        for the store: it then survives a crash of this process or of the machine."""
        self._writes.persist()

    def close(self, timeout: float = 10.0) -> bool:
        """Drain the spool (up to ``timeout`` s) and stop; what is left is written next start.

        A close while another is under way (another thread's, or the exit hook's) waits for
        that one, up to ``timeout``: returning at once let the process exit mid-drain, its
        spool never marked closed. Returns whether everything was stored (False while the
        other close has not finished).
        """
        check_seconds("timeout", timeout)
        with self._close_lock:
            closing = self._closed
            self._closed = True
        if closing:
            return self._close_done.wait(timeout) and self._drained
        try:
            self._writes.stop_recording(timeout)
            self._drained = self._writes.close(timeout)
            # After the writer: once it has stopped, the view has learnt all it ever stored,
            # and the last snapshot says so (the next start need not read its records).
            self._learners.close(timeout, complete=self._writes.stopped and self._owns_store)
            self._store.close()
            _process.unregister(self)
        finally:
            self._close_done.set()
        return self._drained

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
        if not self._close_done.is_set():  # its lock may have been held at the fork
            self._close_done = threading.Event()
            if self._closed:  # a parent thread was closing: that close never ends here
                self._close_done.set()
        self._learners.after_fork()  # fresh locks before the child's threads deliver into it
        if self._closed:
            return
        self._writes.after_fork()
        self._learners.start_improving()  # a new improver of the child's, if configured
