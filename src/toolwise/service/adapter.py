"""Adapts a :class:`~toolwise.Runtime` to :class:`~toolwise.service.backend.ServiceBackend`.

The service takes the runtime through a Protocol of its own (:class:`ServiceRuntime`: the
parts an :class:`~toolwise.advice.Advisor` reads, plus the record path, the call log and the
lifecycle), never the ``Toolwise`` facade and never a private attribute, so an HTTP record goes
through the same validation, redaction, spool and learning as a Python one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from toolwise._calls import FORGET_FLUSH_TIMEOUT, CallLog
from toolwise.advice import AdviceRuntime, Advisor
from toolwise.advice.models import AdviceOptions
from toolwise.learning.models import Objective, Recommendation, Strategy, ToolPrior
from toolwise.models import ToolOutcome, UsageSummary
from toolwise.service.backend import Advising, ServiceBackend, StoreHealth
from toolwise.storage.health import StoreHealth as BreakerHealth
from toolwise.storage.protocol import CallFilter
from toolwise.storage.writer import WriterCounters

if TYPE_CHECKING:
    from toolwise._runtime import Runtime

__all__ = ["ServiceRuntime", "ToolwiseBackend"]

log = logging.getLogger("toolwise.service")

_PROBE_TIMEOUT = 2.0
_PROBE_REUSE = 1.0  # seconds a check's answer is reused: /readyz may be polled often


class ServiceRuntime(AdviceRuntime, Protocol):
    """What the service uses of a :class:`~toolwise.Runtime` (which satisfies it)."""

    @property
    def calls(self) -> CallLog:
        """List, get, summarise and forget recorded calls."""
        ...

    @property
    def counters(self) -> WriterCounters:
        """How many records wait for the store (``pending``)."""
        ...

    def record(self, outcome: ToolOutcome | None = None, /, **fields: Any) -> ToolOutcome:
        """The one record path: validate, redact, bound, spool."""
        ...

    def record_many(
        self, records: Iterable[ToolOutcome | Mapping[str, Any]], /
    ) -> list[ToolOutcome]:
        """:meth:`record` for a batch, all or nothing (``[3].cost`` names a field)."""
        ...

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
    ) -> ToolPrior:
        """Record a judged outcome and read its prior back."""
        ...

    def close(self, timeout: float = 10.0) -> bool:
        """Drain the spool and stop."""
        ...


class ToolwiseBackend:
    """A :class:`~toolwise.service.backend.ServiceBackend` over a runtime.

    Args:
        runtime: ``toolwise.Runtime(path)`` (or ``tw.runtime``), or anything with its members.
        probe_timeout: seconds ``health()`` waits for the store to answer while its breaker
            is closed.
        on_close: called once :meth:`close` has closed the runtime (drained its spool), even
            if that failed: ``toolwise serve`` stops the chroma child it started.

    Thread-safe, like the runtime.
    """

    def __init__(
        self,
        runtime: ServiceRuntime,
        *,
        probe_timeout: float = _PROBE_TIMEOUT,
        on_close: Callable[[], object] | None = None,
    ) -> None:
        self._runtime = runtime
        self._on_close = on_close
        # Late-bound: the runtime may replace its store (a fork reconnects it). The question
        # goes through the store's own guard, so a store that does not answer trips the
        # runtime's breaker: the writer and the recall learn of the outage too.
        self._check = _BoundedCheck(lambda: runtime.store.agents(), probe_timeout)  # noqa: PLW0108

    # -- writes ---------------------------------------------------------------------------

    def record(self, fields: Mapping[str, Any], /) -> ToolOutcome:
        return self._runtime.record(**fields)

    def record_many(self, batch: Sequence[Mapping[str, Any]], /) -> list[ToolOutcome]:
        return self._runtime.record_many(batch)

    def observe(
        self,
        tool: str,
        success: bool | float,
        *,
        agent_id: str,
        task_type: str = "",
        environment: str = "",
        weight: float = 1.0,
        latency_ms: float | None = None,
        cost: float | None = None,
    ) -> ToolPrior:
        return self._runtime.observe(
            tool,
            success,
            task_type=task_type,
            weight=weight,
            agent_id=agent_id,
            environment=environment,
            latency_ms=latency_ms,
            cost=cost,
        )

    def forget(
        self,
        agent_id: str,
        *,
        tool: str | None = None,
        ids: Sequence[str] | None = None,
        timeout: float = FORGET_FLUSH_TIMEOUT,
    ) -> int:
        return self._runtime.calls.forget(agent_id, tool=tool, ids=ids, timeout=timeout)

    # -- reads ----------------------------------------------------------------------------

    def list_calls(
        self, agent_id: str, call_filter: CallFilter, *, limit: int, offset: int
    ) -> list[ToolOutcome]:
        return self._runtime.calls.find(agent_id, call_filter, limit=limit, offset=offset)

    def iter_calls(self, agent_id: str, *, since: datetime | None = None) -> list[ToolOutcome]:
        return self._runtime.calls.iter_calls(agent_id, since=since)

    def get_call(self, call_id: str, *, agent_id: str) -> ToolOutcome | None:
        return self._runtime.calls.get_call(call_id, agent_id=agent_id)

    def summary(self, agent_id: str, *, since: datetime | None = None) -> UsageSummary:
        return self._runtime.calls.summary(agent_id, since=since)

    def agents(self) -> list[str]:
        return self._runtime.calls.agents()

    # -- learning -------------------------------------------------------------------------

    def priors(
        self,
        *,
        agent_id: str,
        tool: str | None = None,
        task_type: str | None = None,
        environment: str | None = None,
        limit: int | None = None,
    ) -> list[ToolPrior]:
        return self._runtime.view().priors(
            agent_id=agent_id,
            tool=tool,
            context_class=task_type,
            environment=environment,
            limit=limit,
        )

    def recommend(
        self,
        task_type: str,
        tools: Sequence[str],
        *,
        agent_id: str,
        environment: str = "",
        objective: Objective = "balanced",
        strategy: Strategy = "thompson",
        seed: int | None = None,
    ) -> list[Recommendation]:
        return self._runtime.view().recommend(
            task_type=task_type,
            tools=list(tools),
            agent_id=agent_id,
            environment=environment,
            objective=objective,
            strategy=strategy,
            seed=seed,
            now=self._runtime.clock(),
        )

    def advisor(self, options: AdviceOptions, /) -> Advising:
        return Advisor(self._runtime, options)

    # -- lifecycle ------------------------------------------------------------------------

    def health(self) -> StoreHealth:
        try:
            pending = self._runtime.counters.pending
        except Exception:  # counters are best effort here
            pending = 0
        store = self._runtime.store
        before = _breaker_of(store)
        if before is not None and not before.healthy:
            # The breaker already knows: answer from it, without a call that could hang.
            return _with_breaker(StoreHealth(False, pending=pending), before)
        reachable, detail = self._check.check()
        after = _breaker_of(store)  # the check may just have opened it
        answer = StoreHealth(reachable, pending=pending, detail=detail)
        return answer if after is None else _with_breaker(answer, after)

    def close(self, timeout: float = 10.0) -> bool:
        try:
            return self._runtime.close(timeout)
        finally:
            if self._on_close is not None:
                self._on_close()


def _breaker_of(store: object) -> BreakerHealth | None:
    """The store's circuit-breaker health, if it has a breaker (read without a call)."""
    health = getattr(store, "health", None)
    return health if isinstance(health, BreakerHealth) else None


def _with_breaker(answer: StoreHealth, breaker: BreakerHealth) -> StoreHealth:
    if breaker.healthy:
        return replace(
            answer,
            breaker="closed",
            breaker_since=breaker.since,
            failed_at=breaker.failed_at,
            slow_calls=breaker.slow_calls,
        )
    since = breaker.since.isoformat(timespec="seconds")
    return replace(
        answer,
        reachable=False,
        breaker="open",
        breaker_since=breaker.since,
        failed_at=breaker.failed_at,
        slow_calls=breaker.slow_calls,
        detail=f"the store's circuit breaker is open since {since}: {breaker.last_error}"[:300],
    )


class _BoundedCheck:
    """Asks the store a cheap question in a thread of its own and waits at most ``timeout``.

    Used only while the breaker is closed: a store nobody has called lately (a frozen
    ``chroma run`` server, which without a read timeout answers nothing, ever) is noticed
    here. The caller stops waiting after ``timeout``; the question itself stays under the
    store's guard, which gives it up later and opens the breaker. Until it returns, every
    check answers "not reachable" at once instead of asking again.
    """

    def __init__(self, ask: Callable[[], object], timeout: float) -> None:
        self._ask = ask
        self._timeout = timeout
        self._lock = threading.Lock()
        self._running: threading.Event | None = None
        self._started = 0.0
        self._answer: tuple[bool, str] = (False, "not checked yet")
        self._answered_at = -float("inf")

    def check(self) -> tuple[bool, str]:
        with self._lock:
            now = time.monotonic()
            if now - self._answered_at < _PROBE_REUSE:
                return self._answer
            if self._running is not None and not self._running.is_set():
                waited = now - self._started
                return False, f"the store has not answered a check for {waited:.0f} s"
            done = threading.Event()
            self._running, self._started = done, now
            result: list[tuple[bool, str]] = []
            thread = threading.Thread(
                target=self._run, args=(done, result), name="toolwise-ready-check", daemon=True
            )
            thread.start()
        if not done.wait(self._timeout):
            return False, f"the store did not answer within {self._timeout:g} s"
        answer = result[0]
        with self._lock:
            self._answer, self._answered_at = answer, time.monotonic()
        return answer

    def _run(self, done: threading.Event, result: list[tuple[bool, str]]) -> None:
        try:
            self._ask()
            result.append((True, ""))
        except Exception as exc:
            result.append((False, f"{type(exc).__name__}: {exc}"[:300]))
        finally:
            done.set()


if TYPE_CHECKING:

    def _is_a_backend(backend: ToolwiseBackend) -> ServiceBackend:
        return backend  # mypy proves the adapter satisfies the Protocol

    def _is_a_service_runtime(runtime: Runtime) -> ServiceRuntime:
        return runtime  # and that the runtime is what the adapter takes
