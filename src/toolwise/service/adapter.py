"""Adapts today's ``Toolwise`` facade to :class:`~toolwise.service.backend.ServiceBackend`.

Only public members are used, typed by a Protocol of their own (:class:`FacadeLike`), so the
service never imports the facade. Once a runtime object satisfies ``ServiceBackend`` itself,
``toolwise serve`` builds the app from it and this adapter goes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from toolwise.advice.models import AdviceOptions
from toolwise.errors import StoreError, ToolwiseError
from toolwise.learning.models import Objective, Recommendation, Strategy, ToolPrior
from toolwise.models import ToolOutcome, UsageSummary
from toolwise.service.backend import Advising, ServiceBackend, StoreHealth
from toolwise.storage.protocol import CallFilter, OutcomeStore
from toolwise.storage.writer import WriterCounters

__all__ = ["FacadeLike", "ToolwiseBackend"]

log = logging.getLogger("toolwise.service")

_READ_FLUSH_TIMEOUT = 5.0  # the facade's own: read-your-writes while the store is up
_PROBE_TIMEOUT = 2.0
_PROBE_REUSE = 1.0  # seconds a probe's answer is reused: /readyz may be polled often


class FacadeLike(Protocol):
    """The public members of ``toolwise.Toolwise`` the adapter uses."""

    @property
    def store(self) -> OutcomeStore: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def counters(self) -> WriterCounters: ...

    def record(self, outcome: ToolOutcome | None = None, /, **fields: Any) -> ToolOutcome: ...

    def flush(self, timeout: float | None = None) -> bool: ...

    def get_call(self, call_id: str, *, agent_id: str | None = None) -> ToolOutcome | None: ...

    def forget(
        self,
        agent_id: str = "default",
        *,
        tool: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> int: ...

    def summary(
        self, agent_id: str | None = None, *, since: datetime | None = None
    ) -> UsageSummary: ...

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
    ) -> ToolPrior: ...

    def priors(
        self,
        tool: str | None = None,
        context_class: str | None = None,
        *,
        limit: int | None = None,
        agent_id: str = "default",
        environment: str | None = None,
    ) -> list[ToolPrior]: ...

    def recommend(
        self,
        task_type: str,
        tools: Sequence[Any],
        *,
        agent_id: str = "default",
        environment: str = "",
        objective: Any = "balanced",
        strategy: Strategy = "thompson",
        seed: int | None = None,
    ) -> list[Recommendation]: ...

    def advisor(self, **options: Any) -> Advising: ...

    def close(self, timeout: float = 10.0) -> bool: ...


class ToolwiseBackend:
    """A :class:`~toolwise.service.backend.ServiceBackend` over a ``Toolwise``.

    Args:
        tw: the facade (or anything with its public members).
        probe_timeout: seconds ``health()`` waits for the store to answer.

    Thread-safe, like the facade.
    """

    def __init__(self, tw: FacadeLike, *, probe_timeout: float = _PROBE_TIMEOUT) -> None:
        self._tw = tw
        # Late-bound: the facade may replace its store (a fork reconnects it).
        self._probe = _StoreProbe(lambda: tw.store.agents(), probe_timeout)  # noqa: PLW0108

    # -- writes ---------------------------------------------------------------------------

    def record(self, outcome: ToolOutcome, /) -> ToolOutcome:
        return self._tw.record(outcome)

    def record_many(self, outcomes: Sequence[ToolOutcome], /) -> list[ToolOutcome]:
        return [self._tw.record(outcome) for outcome in outcomes]

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
        return self._tw.observe(
            tool,
            success,
            context_class=task_type,
            weight=weight,
            agent_id=agent_id,
            environment=environment,
            latency_ms=latency_ms,
            cost=cost,
        )

    def forget(
        self, agent_id: str, *, tool: str | None = None, ids: Sequence[str] | None = None
    ) -> int:
        return self._tw.forget(agent_id, tool=tool, ids=ids)

    # -- reads ----------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[datetime]:
        """Flush, then read; a store failure surfaces as :class:`StoreError`."""
        self._tw.flush(timeout=_READ_FLUSH_TIMEOUT)
        try:
            yield self._tw.clock()
        except ToolwiseError:
            raise
        except Exception as exc:
            raise StoreError(f"reading the outcome store failed: {exc}") from exc

    def list_calls(
        self, agent_id: str, call_filter: CallFilter, *, limit: int, offset: int
    ) -> list[ToolOutcome]:
        with self._reading() as now:
            return self._tw.store.find(agent_id, call_filter, limit=limit, offset=offset, now=now)

    def iter_calls(self, agent_id: str, *, since: datetime | None = None) -> list[ToolOutcome]:
        with self._reading() as now:
            return list(self._tw.store.iter_outcomes(agent_id, since=since, now=now))

    def get_call(self, call_id: str, *, agent_id: str) -> ToolOutcome | None:
        return self._tw.get_call(call_id, agent_id=agent_id)

    def summary(self, agent_id: str, *, since: datetime | None = None) -> UsageSummary:
        return self._tw.summary(agent_id, since=since)

    def agents(self) -> list[str]:
        with self._reading():
            return self._tw.store.agents()

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
        return self._tw.priors(
            tool, task_type, limit=limit, agent_id=agent_id, environment=environment
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
        return self._tw.recommend(
            task_type,
            tools,
            agent_id=agent_id,
            environment=environment,
            objective=objective,
            strategy=strategy,
            seed=seed,
        )

    def advisor(self, options: AdviceOptions, /) -> Advising:
        return self._tw.advisor(**{name: getattr(options, name) for name in options.model_fields})

    # -- lifecycle ------------------------------------------------------------------------

    def health(self) -> StoreHealth:
        reachable, detail = self._probe.check()
        try:
            pending = self._tw.counters.pending
        except Exception:  # counters are best effort here
            pending = 0
        return StoreHealth(reachable=reachable, pending=pending, detail=detail)

    def close(self, timeout: float = 10.0) -> bool:
        return self._tw.close(timeout)


class _StoreProbe:
    """Asks the store a cheap question in a thread of its own and waits at most ``timeout``.

    A store with no read timeout (a frozen ``chroma run`` server waits forever) must not hang
    ``/readyz``: the probe thread is left waiting, and until it returns every check answers
    "not reachable" at once instead of starting another stuck thread.
    """

    def __init__(self, ask: Callable[[], object], timeout: float) -> None:
        self._ask = ask
        self._timeout = timeout
        self._lock = threading.Lock()
        self._running: threading.Event | None = None
        self._answer: tuple[bool, str] = (False, "not probed yet")
        self._answered_at = -float("inf")

    def check(self) -> tuple[bool, str]:
        with self._lock:
            if time.monotonic() - self._answered_at < _PROBE_REUSE:
                return self._answer
            if self._running is not None and not self._running.is_set():
                return False, "the previous probe of the store has not returned"
            done = threading.Event()
            self._running = done
            result: list[tuple[bool, str]] = []
            thread = threading.Thread(
                target=self._run, args=(done, result), name="toolwise-store-probe", daemon=True
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
