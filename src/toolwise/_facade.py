"""``Toolwise``: the one object users build — a thin convenience over a :class:`Runtime`.

Everything it does, the runtime (``tw.runtime``) and the classes it builds do: record and
read through :class:`~toolwise._runtime.Runtime` and its :class:`~toolwise._calls.CallLog`,
rank through the learnt view, brief through :class:`~toolwise.advice.Advisor`, and adopt a
framework through the adapters in :mod:`toolwise.integrations`. ``Toolwise`` only saves the
wiring: ``tw.callback()`` instead of
``ToolwiseCallbackHandler(tw.runtime.recorder, tw.defaults())``.

This module holds recording, reading and ranking; the adapters' builders are mixed in from
:mod:`toolwise._adoption`, the self-improvement conveniences from
:mod:`toolwise._self_improvement`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, Unpack

from toolwise._adoption import Adoption
from toolwise._calls import CallLog
from toolwise._checks import check_int, check_text, check_tool_names
from toolwise._deprecations import renamed
from toolwise._runtime import Runtime, Settings
from toolwise._self_improvement import SelfImprovement
from toolwise.errors import InvalidArgumentError
from toolwise.learning import (
    InfraEvent,
    Objective,
    ObjectiveWeights,
    Recommendation,
    ReliabilityView,
    Strategy,
    ToolPrior,
)
from toolwise.models import check_agent_id
from toolwise.storage.protocol import OutcomeStore
from toolwise.storage.writer import WriterCounters

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool


__all__ = ["Toolwise"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_T = TypeVar("_T")


def _delegate(
    part: Callable[[Toolwise], _T], method: Callable[Concatenate[_T, _P], _R]
) -> Callable[Concatenate[Toolwise, _P], _R]:
    """``Toolwise.<name>``: ``method`` called on a part of the runtime, with its signature
    (typed through ``ParamSpec``) and its docstring."""

    def call(self: Toolwise, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return method(part(self), *args, **kwargs)

    functools.update_wrapper(call, method)
    call.__qualname__ = f"Toolwise.{method.__name__}"
    return call


def _runtime(tw: Toolwise) -> Runtime:
    return tw.runtime


def _calls(tw: Toolwise) -> CallLog:
    return tw.runtime.calls


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


def _check_labels(**labels: object) -> None:
    """Each label is a string, or ``None`` (any)."""
    for name, value in labels.items():
        if value is not None:
            check_text(name, value)


class Toolwise(Adoption, SelfImprovement):
    """Records every tool call, learns from the outcomes and briefs the model.

    Args:
        path: directory of the embedded store and the spool (default ``$TOOLWISE_PATH`` or
            ``./.toolwise``). One process at a time per path: use ``url`` for several.
        runtime: wrap an existing :class:`~toolwise.Runtime` instead of building one (then
            give no other setting).
        url: a ``chroma run`` server (``http://127.0.0.1:8000``); the spool stays local.
        client: any Chroma client (e.g. ``chromadb.EphemeralClient()`` in tests); it stays
            the caller's (:meth:`close` closes only a client toolwise made).
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
        refresh_interval: seconds between looks, in a background thread, at the records
            other processes stored in the same store (``recommend``/``priors`` see them
            within about this plus the store's write time); default 1 s with ``url``, off
            for an embedded store.
        max_backoff: ceiling of the writer's retry wait while the store is down, seconds.
        timeouts: how long store calls wait (:class:`~toolwise.storage.StoreTimeouts`:
            connect 2 s, read 5 s — 120 s while the store still answers heartbeats —, recall
            before a model turn 0.5 s); after a call times out or cannot connect, the store is
            unhealthy and calls fail fast until it answers again.
        improve: self-improvement settings (lessons, composites, prompt refinement); with
            ``improve_after_failures`` set, a pass runs in the background after N failures.
        chat_model: writes lessons and prompt revisions (templates are used without one).
        quality_judge: a :class:`~toolwise.recording.judge.LLMJudge` that scores the quality
            of successes in a background thread before they are spooled.

    Thread-safe. Recording never raises into the agent: failures are logged and counted in
    :attr:`counters`. Use as a context manager, or call :meth:`close` (also run at exit).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        runtime: Runtime | None = None,
        **settings: Unpack[Settings],
    ) -> None:
        if runtime is None:
            runtime = Runtime(path, **settings)
        elif path is not None or settings:
            given = sorted(settings) + (["path"] if path is not None else [])
            raise InvalidArgumentError("runtime", given, "give a runtime or settings, not both")
        self._runtime = runtime

    @property
    def runtime(self) -> Runtime:
        """The wired parts (store, spool, writer, recorder, learnt view, clock, embedding)."""
        return self._runtime

    @property
    def store(self) -> OutcomeStore:
        """The outcome log (read-only: give ``store=`` when building to replace it)."""
        return self._runtime.store

    @property
    def clock(self) -> Callable[[], datetime]:
        """The injected clock ("now", UTC)."""
        return self._runtime.clock

    @property
    def counters(self) -> WriterCounters:
        """recorded, written, retried, pending, dropped (0 unless the spool failed), invalid,
        queued (finished calls not yet spooled; part of recorded and pending)."""
        return self._runtime.counters

    # -- recording and lifecycle (the runtime's) ------------------------------------------------

    record = _delegate(_runtime, Runtime.record)
    observe = _delegate(_runtime, Runtime.observe)
    flush = _delegate(_runtime, Runtime.flush)
    persist = _delegate(_runtime, Runtime.persist)
    close = _delegate(_runtime, Runtime.close)
    warm_up = _delegate(_runtime, Runtime.warm_up)

    def __enter__(self) -> Toolwise:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Toolwise:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the tracking API (the runtime's call log) -----------------------------------------------

    list_calls = _delegate(_calls, CallLog.list_calls)
    get_call = _delegate(_calls, CallLog.get_call)
    summary = _delegate(_calls, CallLog.summary)
    forget = _delegate(_calls, CallLog.forget)
    purge_expired = _delegate(_calls, CallLog.purge_expired)

    # -- learning ---------------------------------------------------------------------------

    @property
    def view(self) -> ReliabilityView:
        """The learnt reliability view (built from the store on first use)."""
        return self._runtime.view()

    def priors(
        self,
        tool: str | None = None,
        task_type: str | None = None,
        *,
        limit: int | None = None,
        agent_id: str = "default",
        environment: str | None = None,
        context_class: str | None = None,
        as_of: datetime | None = None,
    ) -> list[ToolPrior]:
        """Learnt reliability per tool and task type: rate, 90 % interval, confidence, latency.

        ``observations`` counts the outcomes behind each estimate, ``effective_observations``
        their weight (lower after a detected change, or with an opt-in half-life). ``as_of``
        evaluates at another time (a simulation's, say); ``context_class`` is the deprecated
        name of ``task_type``.
        """
        task_type = renamed("context_class", "task_type", context_class, task_type, None)
        _check_labels(tool=tool, task_type=task_type, environment=environment)
        check_agent_id(agent_id)
        if limit is not None:
            check_int("limit", limit, minimum=1)
        return self._runtime.view().priors(
            agent_id=agent_id,
            tool=tool,
            context_class=task_type,
            environment=environment,
            limit=limit,
            now=as_of,
        )

    def recommend(
        self,
        task_type: str,
        tools: Sequence[str | BaseTool],
        *,
        agent_id: str = "default",
        environment: str | None = None,
        objective: Objective | ObjectiveWeights | Mapping[str, float] = "balanced",
        strategy: Strategy = "thompson",
        seed: int | None = None,
    ) -> list[Recommendation]:
        """Rank ``tools`` for a task, best first, each with its score broken down and a reason.

        With no ``environment`` every environment the agent has evidence in is pooled (with
        shrinkage); ``Recommendation.environments`` says whose evidence each estimate used.

        Unknown tools are fine (they are explored); an empty list, an unknown strategy or
        objective, or negative weights raise :class:`InvalidArgumentError` naming the argument.
        """
        _check_labels(task_type=task_type, environment=environment)
        check_agent_id(agent_id)
        names = check_tool_names(tools)
        return self._runtime.view().recommend(
            task_type=task_type,
            tools=names,
            agent_id=agent_id,
            environment=environment,
            objective=objective,
            strategy=strategy,
            seed=seed,
            now=self._runtime.clock(),
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
        _check_labels(tool=tool, task_type=task_type, environment=environment)
        check_agent_id(agent_id)
        self._runtime.view().seed_prior(
            tool, rate, strength, agent_id=agent_id, task_type=task_type, environment=environment
        )

    def infra_events(self, agent_id: str | None = None) -> list[InfraEvent]:
        """Windows in which most tools failed together (not charged to the tools)."""
        return self._runtime.view().infra_events(agent_id)

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
