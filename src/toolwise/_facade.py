"""``Toolwise``: the one object users build. It wires store, spool, writer and integrations."""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar

from toolwise._summary import summarize
from toolwise.errors import InvalidArgumentError, SpoolError, StoreError, ToolwiseError
from toolwise.learning import (
    InfraEvent,
    LearningConfig,
    Objective,
    ObjectiveWeights,
    Recommendation,
    ReliabilityView,
    Strategy,
    ToolPrior,
)
from toolwise.learning.feed import LearningFeed, learn
from toolwise.models import InfraEventSummary, ToolOutcome, UsageSummary, utcnow
from toolwise.recording.context import RecordingDefaults
from toolwise.recording.judge import Judge
from toolwise.recording.recorder import Durability, Recorder
from toolwise.recording.redact import Redactor, SecretRedactor, to_safe_text
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import check_url, default_root, http_client, persistent_client
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding, cosine
from toolwise.storage.protocol import CallFilter, OutcomeStore
from toolwise.storage.spool import FsyncPolicy, Spool
from toolwise.storage.writer import BackgroundWriter, WriterCounters

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool
    from tenacity.wait import WaitBaseT

    from toolwise.advice import Advisor
    from toolwise.improve import (
        AuditEntry,
        CompositeSpec,
        Demonstration,
        ImproveConfig,
        ImprovementReport,
        Improver,
        Lesson,
        RefinementResult,
        Run,
    )
    from toolwise.improve.protocols import ChatModel, Evaluator
    from toolwise.integrations.langgraph import ToolCallRecorder
    from toolwise.integrations.middleware import ToolwiseMiddleware
    from toolwise.integrations.preselect import ToolGuard
    from toolwise.recording.callback import ToolwiseCallbackHandler
    from toolwise.recording.instrument import ConfirmHook, InstrumentedTool

__all__ = ["Toolwise"]

log = logging.getLogger("toolwise")

_DEFAULT_TTL = timedelta(days=30)
_TEXT_FIELDS = ("tool_input", "tool_output", "error_message", "task")
_READ_FLUSH_TIMEOUT = 5.0


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _threaded(
    method: Callable[Concatenate[Toolwise, _P], _R],
) -> Callable[Concatenate[Toolwise, _P], Coroutine[Any, Any, _R]]:
    """The async twin of a facade method: the same code, run in a worker thread, so an event
    loop never waits on the store (reads flush and query Chroma; both can take a while)."""

    async def twin(self: Toolwise, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return await asyncio.to_thread(method, self, *args, **kwargs)

    twin.__name__ = f"a{method.__name__}"
    twin.__qualname__ = f"Toolwise.a{method.__name__}"
    twin.__doc__ = f"Async twin of :meth:`Toolwise.{method.__name__}` (runs in a worker thread)."
    return twin


class Toolwise:
    """Records every tool call, learns from the outcomes and briefs the model.

    Args:
        path: directory of the embedded store and the spool (default ``$TOOLWISE_PATH`` or
            ``./.toolwise``). One process at a time per path: use ``url`` for several.
        url: a ``chroma run`` server (``http://127.0.0.1:8000``); the spool stays local.
        client: any Chroma client (e.g. ``chromadb.EphemeralClient()`` in tests).
        store: a custom :class:`~toolwise.storage.protocol.OutcomeStore` (overrides the above).
        embedding: vectors for records and queries; offline hashing by default.
        ttl: how long records live (default 30 days); ``None`` keeps them until forgotten.
        redactor: cleans inputs/outputs before storage; default redacts secrets; ``None`` off.
        spool_dir: where the durable spool lives (default ``<path>/spool``).
        fsync: spool durability policy, see :mod:`toolwise.storage.spool`.
        durability: ``"deferred"`` (default): a tool call hands its result to a background
            thread that builds and spools the record when the agent pauses, within about a
            second, so recording leaves the call one queue append; a crash of the process
            can lose the calls of that last second (:meth:`persist` closes the window on
            demand). ``"immediate"``: every record is spooled before the call returns and
            survives a SIGKILL from then on (≈ 45 µs more per call).
        batch_size: records per store write.
        max_payload_chars: inputs and outputs are truncated to this, with a marker.
        clock: returns "now" (UTC); inject for reproducible learning and instant tests.
        timer: monotonic seconds used to time tool calls (default ``time.perf_counter``);
            inject with ``clock`` to run simulations on simulated time.
        prefix: collection-name prefix, so several apps can share one Chroma.
        learning: how outcomes become rankings (decay, shrinkage, change detection, ...).
        refresh_interval: seconds between reads of records other processes wrote to the
            same store; default 30 s with ``url``, off for an embedded store.
        max_backoff: ceiling of the writer's retry wait while the store is down, seconds.
        improve: self-improvement settings (lessons, composites, prompt refinement); with
            ``improve_after_failures`` set, a pass runs in the background after N failures.
        chat_model: writes lessons and prompt revisions (templates are used without one).

    Thread-safe. Recording never raises into the agent: failures are logged and counted in
    :attr:`counters`. Use as a context manager, or call :meth:`close` (also run at exit).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        url: str | None = None,
        client: Any | None = None,
        store: OutcomeStore | None = None,
        embedding: EmbeddingFunction | None = None,
        ttl: timedelta | None = _DEFAULT_TTL,
        redactor: Redactor | Literal["default"] | None = "default",
        spool_dir: str | Path | None = None,
        fsync: FsyncPolicy = "interval",
        durability: Durability = "deferred",
        batch_size: int = 500,
        max_payload_chars: int = 2_000,
        clock: Callable[[], datetime] | None = None,
        timer: Callable[[], float] | None = None,
        prefix: str = "toolwise",
        learning: LearningConfig | None = None,
        refresh_interval: float | None = None,
        max_backoff: float = 30.0,
        improve: ImproveConfig | None = None,
        chat_model: ChatModel | None = None,
    ) -> None:
        if sum(x is not None for x in (url, client, store)) > 1:
            raise InvalidArgumentError("url", url, "give only one of url, client or store")
        if durability not in ("deferred", "immediate"):
            raise InvalidArgumentError(
                "durability", durability, "must be 'deferred' or 'immediate'"
            )
        if batch_size < 1:
            raise InvalidArgumentError("batch_size", batch_size, "must be at least 1")
        if ttl is not None and ttl <= timedelta(0):
            raise InvalidArgumentError("ttl", ttl, "must be positive or None")
        if not max_backoff > 0:
            raise InvalidArgumentError("max_backoff", max_backoff, "must be > 0 seconds")
        if url is not None:
            check_url(url)  # fail now, not forever inside the writer thread
        root = Path(path) if path is not None else default_root()
        self.embedding: EmbeddingFunction = embedding or HashingEmbedding()
        self._clock = clock or utcnow
        if store is None:
            if client is not None:
                backing: Any = client
            elif url is not None:
                backing = lambda: http_client(url)  # noqa: E731 - lazy: the server may be down
            else:
                backing = persistent_client(root / "chroma")
            store = ChromaOutcomeStore(backing, embedding=self.embedding, prefix=prefix)
        self.store: OutcomeStore = store
        self.ttl = ttl
        self._redactor: Redactor | None = SecretRedactor() if redactor == "default" else redactor
        self._max_payload = max_payload_chars
        self._spool = Spool(
            Path(spool_dir) if spool_dir is not None else root / "spool", fsync=fsync
        )
        self._batch_size, self._max_backoff = batch_size, max_backoff
        self._writer = self._start_writer(self.store)
        self.learning_config = learning or LearningConfig()
        self._embedding_cache: dict[str, list[float]] = {}
        self.recorder = Recorder(
            self._sink,
            redactor=self._redactor,
            ttl=ttl,
            max_payload_chars=max_payload_chars,
            on_invalid=lambda _exc: self._writer.notify_invalid(),
            timer=timer or time.perf_counter,
            wall_clock=(lambda: self._clock().timestamp()) if clock else time.time,
            durability=durability,
        )
        self._feed = LearningFeed(
            lambda: ReliabilityView(self.learning_config, self._task_similarity, self._clock),
            self.store,
            flush=lambda: self.flush(timeout=_READ_FLUSH_TIMEOUT),
            clock=self._clock,
            refresh_interval=refresh_interval
            if refresh_interval is not None
            else (30.0 if url is not None else None),
            catch_up=self.recorder.drain,
        )
        self._improve_config, self._chat_model = improve, chat_model
        self._improver: Improver | None = None
        self._improver_lock = threading.Lock()
        self._closed = False
        self._close_lock = threading.Lock()
        _live.add(self)
        _hook_multiprocessing()
        self._start_background_improver()

    # -- the write path -----------------------------------------------------------------------

    def _start_writer(self, store: OutcomeStore | None) -> BackgroundWriter:
        return BackgroundWriter(
            self._spool,
            store,
            batch_size=self._batch_size,
            housekeeping=self.purge_expired,
            max_backoff=self._max_backoff,
        )

    def _after_fork_in_child(self) -> None:
        """Runs in a forked child for every open Toolwise (``os.register_at_fork``).

        The parent's threads did not survive the fork, and its spool files and store
        connection are the parent's. The child gets its own hand-off thread, spool directory
        and writer, and a new connection when the store can serve it (a ``chroma run``
        server). Embedded Chroma cannot (it hangs in a forked child): the child then keeps
        recording into its spool — adopted and stored, once the child ends, by a process still
        running on the path (the parent) or the next one to start — and every read raises
        :class:`StoreError` at once, saying so.
        """
        self._close_lock = threading.Lock()
        self._improver_lock = threading.Lock()
        if self._closed:
            return
        self.recorder.after_fork()
        self._feed.after_fork()
        self._spool = self._spool.after_fork()
        reconnect = getattr(self.store, "after_fork", None)
        usable = bool(reconnect()) if callable(reconnect) else True
        self._writer = self._start_writer(self.store if usable else None)
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

    def _start_background_improver(self) -> None:
        """With ``improve_after_failures`` set, build the improver now, so it sees failures
        from the first call."""
        config = self._improve_config
        if config is not None and config.improve_after_failures is not None:
            _ = self.improver

    def _sink(self, outcome: ToolOutcome) -> None:
        """Spool one record and tell the learners. Never raises (the hot path of tool calls)."""
        try:
            self._spool.append(outcome)
        except SpoolError as exc:
            self._writer.notify_dropped(exc)
            log.error("toolwise: RECORD LOST — the spool cannot be written: %s", exc)
            return
        self._writer.touch()
        self._observe(outcome)

    def _observe(self, outcome: ToolOutcome) -> None:
        """Tell the learning view (cheap: it runs on every tool call); never raises."""
        try:
            self._feed.on_record(outcome)
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

        Pass a :class:`ToolOutcome` or its fields (``tool=``, ``outcome=``, ``latency_ms=`` …).
        ``expires_at`` defaults to ``timestamp + ttl``.

        Raises:
            InvalidArgumentError: a field is invalid; ``.field`` names it.
            SpoolError: the record could not be made durable.
        """
        if outcome is None:
            fields.setdefault("timestamp", self._clock())
            for name in _TEXT_FIELDS:  # the tracking API takes objects; store them safely
                if name in fields and not isinstance(fields[name], str | None):
                    fields[name] = to_safe_text(fields[name], self._redactor, self._max_payload)
            outcome = ToolOutcome(**fields)
        elif fields:
            raise InvalidArgumentError("fields", sorted(fields), "give a ToolOutcome or fields")
        update: dict[str, Any] = {
            name: to_safe_text(getattr(outcome, name), self._redactor, limit)
            for name, limit in (
                ("tool_input", self._max_payload),
                ("tool_output", self._max_payload),
                ("error_message", 500),
                ("task", 500),
            )
            if getattr(outcome, name)
        }
        if outcome.expires_at is None and self.ttl is not None:
            update["expires_at"] = outcome.timestamp + self.ttl
        outcome = outcome.model_copy(update=update)
        try:
            self._spool.append(outcome)
        except SpoolError as exc:
            self._writer.notify_dropped(exc)
            raise
        self._writer.touch()
        self._observe(outcome)
        return outcome

    @property
    def counters(self) -> WriterCounters:
        """recorded, written, retried, pending, dropped (0 unless the spool failed), invalid,
        queued (finished calls not yet spooled; part of recorded and pending)."""
        queued = self.recorder.queued
        counters = self._writer.counters
        return dataclasses.replace(
            counters,
            recorded=counters.recorded + queued,
            pending=counters.pending + queued,
            queued=queued,
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every record so far is in the store; False if ``timeout`` ran out."""
        self.recorder.drain()
        return self._writer.flush(timeout)

    def persist(self) -> None:
        """Make every call recorded so far durable in the local spool, now, without waiting
        for the store: it then survives a crash of this process or of the machine.

        For a checkpoint under ``durability="deferred"`` — before a risky step, or before a
        serverless platform freezes the process — when :meth:`flush` (which also waits for
        the store) would take too long.
        """
        self.recorder.drain()
        self._spool.sync()

    def close(self, timeout: float = 10.0) -> bool:
        """Drain the spool (up to ``timeout`` s) and stop; what is left is written next start."""
        with self._close_lock:
            if self._closed:
                return True
            self._closed = True
        self.recorder.close()
        if self._improver is not None:
            self._improver.close(timeout)
        drained = self._writer.close(timeout)
        self.store.close()
        _live.discard(self)
        return drained

    def __enter__(self) -> Toolwise:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Toolwise:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- entry points -------------------------------------------------------------------------

    def defaults(
        self,
        *,
        agent_id: str = "default",
        task_type: str = "",
        environment: str = "",
        tags: Sequence[str] = (),
        judge: Judge | None = None,
        costs: Mapping[str, float] | None = None,
    ) -> RecordingDefaults:
        """The labels an entry point puts on its records (validated now, not per call)."""
        from toolwise.storage.naming import collection_name_for

        collection_name_for(agent_id)  # raises InvalidAgentIdError naming agent_id
        for tool, cost in (costs or {}).items():
            if not cost >= 0.0 or cost == float("inf"):
                raise InvalidArgumentError(f"costs[{tool!r}]", cost, "must be finite and >= 0")
        return RecordingDefaults(
            agent_id=agent_id,
            task_type=task_type,
            environment=environment,
            tags=tuple(tags),
            judge=judge,
            costs=dict(costs or {}),
        )

    def callback(self, **labels: Any) -> ToolwiseCallbackHandler:
        """A LangChain callback handler that records every tool call it sees.

        Accepts the keyword arguments of :meth:`defaults`. Add it once, e.g.
        ``agent.invoke(inputs, config={"callbacks": [tw.callback(agent_id="devops")]})``.
        """
        from toolwise.recording.callback import ToolwiseCallbackHandler

        return ToolwiseCallbackHandler(self.recorder, self.defaults(**labels))

    def instrument(
        self,
        tool: BaseTool,
        *,
        timeout: float | None = None,
        retries: int = 0,
        cost_estimate: float | None = None,
        requires_confirmation: bool = False,
        confirm: ConfirmHook | None = None,
        backoff: WaitBaseT | None = None,
        **labels: Any,
    ) -> InstrumentedTool:
        """Wrap ``tool`` so every attempt is timed, judged and recorded.

        The result is a ``BaseTool`` with the same name, description and args schema, plus a
        ``timeout`` (seconds), ``retries`` with jittered backoff (each attempt recorded), a
        per-call ``cost_estimate`` and an optional human confirmation hook; ``backoff`` is a
        tenacity wait strategy between attempts. Accepts the labels of :meth:`defaults`.
        """
        from toolwise.recording.instrument import InstrumentedTool

        if cost_estimate is not None:
            labels["costs"] = {**labels.get("costs", {}), tool.name: cost_estimate}
        wrapped = InstrumentedTool.wrap(
            tool,
            recorder=self.recorder,
            defaults=self.defaults(**labels),
            timeout=timeout,
            retries=retries,
            requires_confirmation=requires_confirmation,
            confirm=confirm,
        )
        return wrapped if backoff is None else wrapped.with_backoff(backoff)

    def tool_wrapper(self, **labels: Any) -> ToolCallRecorder:
        """A LangGraph ``ToolNode`` interceptor that records each call.

        ``w = tw.tool_wrapper(agent_id=...)``, then
        ``ToolNode(tools, wrap_tool_call=w, awrap_tool_call=w.awrap)``.
        """
        from toolwise.integrations.langgraph import ToolCallRecorder

        return ToolCallRecorder(self.recorder, self.defaults(**labels))

    def middleware(self, *, advice: bool = True, **options: Any) -> ToolwiseMiddleware:
        """A langchain v1 ``AgentMiddleware`` for ``create_agent(..., middleware=[...])``.

        Records every tool call and, unless ``advice=False``, briefs the model before each
        call. Accepts the labels of :meth:`defaults` and the brief's options
        (:class:`~toolwise.advice.AdviceOptions`: ``mode="advise" | "filter" | "route"``,
        ``top_k``, ``budget``, ``strategy``, ``objective``, ``requires_confirmation`` …).
        """
        from toolwise.integrations.middleware import ToolwiseMiddleware

        labels, brief = _split_options(options)
        defaults = self.defaults(**labels)
        return ToolwiseMiddleware(
            self, defaults, self._advice_options(defaults, brief) if advice else None
        )

    def _advice_options(self, defaults: RecordingDefaults, options: Mapping[str, Any]) -> Any:
        from toolwise.advice import AdviceOptions

        return AdviceOptions(
            **{
                "agent_id": defaults.agent_id,
                "environment": defaults.environment,
                "task_type": defaults.task_type,
                **options,
            }
        )

    def advisor(self, **options: Any) -> Advisor:
        """The pre-selection core: ``advisor.advise(messages, state, config, tools) -> Brief``."""
        from toolwise.advice import Advisor

        return Advisor(self, **options)

    def preselect_node(self, **options: Any) -> Runnable[Any, Any]:
        """A LangGraph node for hand-built ``StateGraph``s, placed before the model node.

        It writes the decision and brief under the ``toolwise`` state key (never into
        ``messages``); the model node reads it with
        :func:`toolwise.integrations.preselect.with_brief`. Needs ``tools=``.
        """
        from toolwise.integrations.preselect import make_preselect_node

        return make_preselect_node(self, **options)

    def pre_model_hook(self, **options: Any) -> Runnable[Any, Any]:
        """A ``pre_model_hook`` for ``create_react_agent``: the brief reaches the model via
        ``llm_input_messages`` without entering history. Use
        ``state_schema=toolwise.integrations.preselect.ToolwiseReactState``. Needs ``tools=``.
        """
        from toolwise.integrations.preselect import make_pre_model_hook

        return make_pre_model_hook(self, **options)

    def tool_guard(self, **options: Any) -> ToolGuard:
        """A ``ToolNode`` interceptor that refuses hidden tools, asks before gated ones
        (LangGraph ``interrupt()``), then records the call.

        ``ToolNode(tools, wrap_tool_call=g, awrap_tool_call=g.awrap)`` with
        ``g = tw.tool_guard(agent_id=..., mode="filter")``.
        """
        from toolwise.integrations.preselect import make_tool_guard

        labels, brief = _split_options(options)
        recorder = self.tool_wrapper(**labels)
        return make_tool_guard(
            self, then=recorder, athen=recorder.awrap, **{**_advice_labels(labels), **brief}
        )

    # -- learning -----------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Start learning from the store in the background, so the first brief or ranking does
        not pay for it. Pre-selection (an advisor, node, hook or advising middleware) calls
        this when it is built; call it yourself at start-up if you rank tools directly."""
        self._feed.warm_up()

    @property
    def view(self) -> ReliabilityView:
        """The learnt reliability view (built from the store on first use)."""
        return self._feed.view()

    def _task_similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two task-type names under the store's embedding."""
        vectors = []
        for text in (a, b):
            vector = self._embedding_cache.get(text)
            if vector is None:
                vector = self.embedding([text.replace("_", " ")])[0]
                if len(self._embedding_cache) < 10_000:
                    self._embedding_cache[text] = vector
            vectors.append(vector)
        return max(0.0, min(1.0, cosine(vectors[0], vectors[1])))

    def observe(
        self,
        tool: str,
        success: bool | float,
        *,
        context_class: str = "",
        weight: float = 1.0,
        agent_id: str = "default",
        environment: str = "",
        latency_ms: float | None = None,
        cost: float | None = None,
    ) -> ToolPrior:
        """Record one outcome you judged (priors-API style) and return the updated prior.

        Durable like every record (spooled, then stored), so it survives restarts.

        Raises:
            InvalidArgumentError: naming ``tool``, ``success``, ``weight``, ``agent_id``,
                ``latency_ms`` or ``cost``.
        """
        view = self._feed.view()
        prior = view.observe(
            tool,
            success,
            agent_id=agent_id,
            context_class=context_class,
            environment=environment,
            weight=weight,
            latency_ms=latency_ms,
            cost=cost,
            timestamp=self._clock(),
        )
        quality = 1.0 if success is True else 0.0 if success is False else float(success)
        outcome = "success" if quality >= 1.0 else "failure" if quality <= 0.0 else "partial"
        record = ToolOutcome(
            agent_id=agent_id,
            tool=tool,
            task_type=context_class,
            environment=environment,
            outcome=outcome,
            quality=quality,
            latency_ms=latency_ms or 0.0,
            cost=cost or 0.0,
            timestamp=self._clock(),
            source="observe",
            metadata={"weight": float(weight)},
        )
        self._feed.mark_learnt(record.id)
        self.record(record)
        return prior

    def priors(
        self,
        tool: str | None = None,
        context_class: str | None = None,
        *,
        limit: int | None = None,
        agent_id: str = "default",
        environment: str | None = None,
    ) -> list[ToolPrior]:
        """Learnt reliability per tool and context: rate, 90 % interval, confidence, latency."""
        return self._feed.view().priors(
            agent_id=agent_id,
            tool=tool,
            context_class=context_class,
            environment=environment,
            limit=limit,
        )

    def recommend(
        self,
        task_type: str,
        tools: Sequence[str | BaseTool],
        *,
        agent_id: str = "default",
        environment: str = "",
        objective: Objective | ObjectiveWeights | Mapping[str, float] = "balanced",
        strategy: Strategy = "thompson",
        seed: int | None = None,
    ) -> list[Recommendation]:
        """Rank ``tools`` for a task, best first, each with its score broken down and a reason.

        Unknown tools are fine (they are explored); an empty list, an unknown strategy or
        objective, or negative weights raise :class:`InvalidArgumentError` naming the argument.
        """
        names = [t if isinstance(t, str) else t.name for t in tools]
        return self._feed.view().recommend(
            task_type=task_type,
            tools=names,
            agent_id=agent_id,
            environment=environment,
            objective=objective,
            strategy=strategy,
            seed=seed,
            now=self._clock(),
        )

    def seed_prior(
        self,
        tool: str,
        rate: float,
        strength: float = 5.0,
        *,
        agent_id: str = "default",
        task_type: str | None = None,
        environment: str | None = None,
    ) -> None:
        """Start a tool from a belief (yours or an LLM's) instead of knowing nothing."""
        self._feed.view().seed_prior(
            tool, rate, strength, agent_id=agent_id, task_type=task_type, environment=environment
        )

    def infra_events(self, agent_id: str | None = None) -> list[InfraEvent]:
        """Windows in which most tools failed together (not charged to the tools)."""
        return self._feed.view().infra_events(agent_id)

    # -- self-improvement ---------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], datetime]:
        """The injected clock ("now", UTC)."""
        return self._clock

    @property
    def improver(self) -> Improver:
        """Lessons, demonstrations, composite tools, prompt refinement and the audit trail."""
        improver = self._improver
        if improver is None:
            from toolwise.improve import Improver

            with self._improver_lock:
                if self._improver is None:
                    self._improver = Improver(
                        self, chat_model=self._chat_model, config=self._improve_config
                    )
                improver = self._improver
        return improver

    def lessons(self, task: str, k: int = 5, *, agent_id: str = "default") -> list[Lesson]:
        """Failure lessons most relevant to ``task`` (learnt by :meth:`improve`)."""
        return self.improver.lessons(task, k, agent_id=agent_id)

    def examples(self, task: str, k: int = 3, *, agent_id: str = "default") -> list[Demonstration]:
        """The agent's own best runs most similar to ``task`` (argument shapes, no values)."""
        return self.improver.examples(task, k, agent_id=agent_id)

    def composites(
        self, agent_id: str = "default", *, include_retired: bool = False
    ) -> list[CompositeSpec]:
        """Composite tools proposed from recurring tool sequences, with permission levels."""
        return self.improver.composites(agent_id, include_retired=include_retired)

    def composite_tools(
        self, tools: Sequence[BaseTool] = (), *, agent_id: str = "default"
    ) -> list[BaseTool]:
        """Runnable composite tools over ``tools`` (sandboxed until promoted)."""
        self.improver.register_tools(tools)
        return self.improver.composite_tools(agent_id)

    def refine_prompt(
        self,
        current: str,
        runs: Sequence[Run] | None = None,
        validation_tasks: Sequence[Any] = (),
        model: ChatModel | None = None,
        evaluate: Evaluator | None = None,
        *,
        agent_id: str = "default",
    ) -> RefinementResult:
        """Propose a prompt revision; keep it only if it validates at least as well."""
        return self.improver.refine_prompt(
            current, runs, validation_tasks, model, evaluate, agent_id=agent_id
        )

    def rollback_prompt(self, agent_id: str = "default", *, to_original: bool = False) -> str:
        """Return to the previous (or the original) prompt; audited."""
        return self.improver.rollback(agent_id, to_original=to_original)

    def improve(self, agent_id: str | None = None) -> list[ImprovementReport]:
        """One bounded pass: lessons → curation → composites → prompt refinement."""
        return self.improver.improve(agent_id)

    def audit(
        self, agent_id: str | None = None, limit: int = 50, since: datetime | None = None
    ) -> list[AuditEntry]:
        """Every change self-improvement made, with before, after, reason and time."""
        return self.improver.audit(agent_id, limit, since)

    # -- the tracking API ---------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[datetime]:
        """Flush, then read; a store failure surfaces as :class:`StoreError`."""
        self.flush(timeout=_READ_FLUSH_TIMEOUT)  # read-your-writes when the store is up
        now = self._clock()
        try:
            yield now
        except ToolwiseError:
            raise
        except Exception as exc:
            raise StoreError(f"reading the outcome store failed: {exc}") from exc

    def list_calls(
        self,
        agent_id: str = "default",
        *,
        tool: str | None = None,
        session_id: str | None = None,
        task_type: str | None = None,
        environment: str | None = None,
        success_only: bool = False,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ToolOutcome]:
        """Recorded calls, newest first, filtered and paged; expired records never appear."""
        if not 1 <= limit <= 1_000:
            raise InvalidArgumentError("limit", limit, "must be between 1 and 1000")
        if offset < 0:
            raise InvalidArgumentError("offset", offset, "must be >= 0")
        call_filter = CallFilter(
            tool=tool,
            session_id=session_id,
            task_type=task_type,
            environment=environment,
            success_only=success_only,
            since=since,
        )
        with self._reading() as now:
            return self.store.find(agent_id, call_filter, limit=limit, offset=offset, now=now)

    def get_call(self, call_id: str, *, agent_id: str | None = None) -> ToolOutcome | None:
        """One record by id (searching every agent unless ``agent_id`` is given)."""
        with self._reading() as now:
            found = self.store.get([call_id], agent_id=agent_id)
        live = [o for o in found if not o.is_expired(now)]
        return live[0] if live else None

    def summary(
        self, agent_id: str | None = None, *, since: datetime | None = None
    ) -> UsageSummary:
        """Totals and per-tool call count, success rate, latency mean/p50/p95 and cost."""
        with self._reading() as now:
            outcomes = list(self.store.iter_outcomes(agent_id, since=since, now=now))
        return summarize(
            outcomes,
            agent_id=agent_id,
            since=since,
            infra_events=self._summary_infra_events(agent_id, since, outcomes),
        )

    def _summary_infra_events(
        self, agent_id: str | None, since: datetime | None, outcomes: list[ToolOutcome]
    ) -> list[InfraEventSummary]:
        """Outages for a summary, without building the whole view just for them.

        Outages are found per agent and environment, from that agent's records alone, so when
        the view is not built yet (``toolwise summary`` in a fresh process) a throwaway view fed
        the records just read gives the same events at a fraction of the cost (at 100,000
        records: one pass over them instead of a second read of the store).
        """
        if since is not None or self._feed.ready:
            return list(self.infra_events(agent_id))
        view = ReliabilityView(self.learning_config, None, self._clock)
        for outcome in sorted(outcomes, key=lambda o: o.timestamp):
            learn(view, outcome)
        return list(view.infra_events(agent_id))

    def forget(
        self,
        agent_id: str = "default",
        *,
        tool: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> int:
        """Delete records: a retired ``tool``'s, specific ``ids``, or (neither) the agent's all.

        Pending records are flushed first so nothing forgotten reappears from the spool.
        Returns how many records were deleted.
        """
        if tool is not None and ids is not None:
            raise InvalidArgumentError("ids", ids, "give tool or ids, not both")
        self.flush(timeout=_READ_FLUSH_TIMEOUT)
        removed = self.store.delete(agent_id, tool=tool, ids=ids)
        self._feed.reset()  # unlearn: the view is rebuilt from what remains
        try:
            self.improver.on_forget(agent_id, tool=tool, ids=ids, removed=removed)
        except Exception as exc:  # forgetting records must not fail on lesson bookkeeping
            log.warning("toolwise: dropping lessons of forgotten records failed: %s", exc)
        return removed

    def purge_expired(self) -> int:
        """Delete every record whose TTL has passed; runs periodically in the background too."""
        return self.store.purge_expired(self._clock())

    # -- async twins: the same calls, off the event loop -----------------------------------------

    aflush = _threaded(flush)
    apersist = _threaded(persist)
    aclose = _threaded(close)
    arecord = _threaded(record)
    alist_calls = _threaded(list_calls)
    aget_call = _threaded(get_call)
    asummary = _threaded(summary)
    aforget = _threaded(forget)
    arecommend = _threaded(recommend)
    apriors = _threaded(priors)


_RECORDING_LABELS = frozenset({"agent_id", "task_type", "environment", "tags", "judge", "costs"})


def _split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Recording labels (for :meth:`Toolwise.defaults`) apart from the brief's options."""
    labels = {k: v for k, v in options.items() if k in _RECORDING_LABELS}
    return labels, {k: v for k, v in options.items() if k not in _RECORDING_LABELS}


def _advice_labels(labels: Mapping[str, Any]) -> dict[str, Any]:
    """The recording labels the brief shares (which agent, environment and task type)."""
    return {k: v for k, v in labels.items() if k in ("agent_id", "environment", "task_type")}


_live: weakref.WeakSet[Toolwise] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for instance in list(_live):
        try:
            instance._after_fork_in_child()
        except Exception as exc:  # the child must start; its calls still reach a spool
            log.error("toolwise: re-initialising after fork failed: %s", exc)


os.register_at_fork(after_in_child=_after_fork_in_child)


class _MultiprocessingHooks:
    """A weak-referenceable anchor for ``multiprocessing.util.register_after_fork``."""


def _close_at_multiprocessing_exit(_anchor: object) -> None:
    # A multiprocessing child ends with os._exit after running its finalizers, never the
    # atexit hooks, and it clears the finalizers it inherited: register the close anew.
    from multiprocessing.util import Finalize

    if _live:
        Finalize(None, _close_all_at_exit, exitpriority=10)


_MULTIPROCESSING_HOOKS = _MultiprocessingHooks()
_multiprocessing_hooked = False


def _hook_multiprocessing() -> None:
    """Register the exit hook for multiprocessing children once, when the first Toolwise is
    built (importing ``multiprocessing.util`` at ``import toolwise`` would cost every user)."""
    global _multiprocessing_hooked  # noqa: PLW0603 - a once-per-process switch
    if _multiprocessing_hooked:
        return
    from multiprocessing.util import register_after_fork

    register_after_fork(_MULTIPROCESSING_HOOKS, _close_at_multiprocessing_exit)
    _multiprocessing_hooked = True


@atexit.register
def _close_all_at_exit() -> None:
    for instance in list(_live):
        try:
            instance.close(timeout=5.0)
        except Exception as exc:  # exit must go on; the spool keeps what was not written
            log.warning("toolwise: close at exit failed: %s", exc)
