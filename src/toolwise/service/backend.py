"""What the HTTP service needs from toolwise: one narrow Protocol, nothing of the facade.

The app (:func:`toolwise.service.create_app`) is built from any object with these methods, so
the service is a thin layer over the code the Python API runs — records go through the same
validation, redaction, spool and learning — and never reaches into ``Toolwise`` or its private
attributes. :class:`~toolwise.service.adapter.ToolwiseBackend` adapts a
:class:`~toolwise.Runtime`; another host may implement the Protocol directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from toolwise._calls import FORGET_FLUSH_TIMEOUT
from toolwise.advice.models import AdviceOptions, Brief
from toolwise.learning.models import Objective, Recommendation, Strategy, ToolPrior
from toolwise.models import ToolOutcome, UsageSummary
from toolwise.storage.protocol import CallFilter

__all__ = ["Advising", "BreakerState", "ServiceBackend", "StoreHealth"]

BreakerState = Literal["closed", "open", "unknown"]
"""The store's circuit breaker: ``closed`` lets calls through, ``open`` fails them fast (the
store refused a connection, or timed out and missed a heartbeat too, and its health probe has
not succeeded since);
``unknown`` for a store without one."""


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """Whether the store answers now, for ``/readyz``.

    Attributes:
        reachable: the breaker is closed and the store answered a cheap question in time.
        breaker: the store's circuit breaker (``unknown`` when the store has none).
        pending: records spooled locally but not yet in the store.
        detail: why it is not reachable (empty when it is).
        breaker_since: when the breaker last opened or closed (``None`` without one).
        failed_at: when a store call or health probe last failed (``None`` if none has).
        slow_calls: store calls that missed their deadline while the store still answered a
            heartbeat (busy, not down: they opened nothing).
    """

    reachable: bool
    breaker: BreakerState = "unknown"
    pending: int = 0
    detail: str = ""
    breaker_since: datetime | None = None
    failed_at: datetime | None = None
    slow_calls: int = 0


class Advising(Protocol):
    """The pre-selection core (:class:`toolwise.advice.Advisor` satisfies it)."""

    def advise(
        self,
        messages: Sequence[Any] | None = None,
        state: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        tools: Sequence[Any] | None = None,
    ) -> Brief: ...


class ServiceBackend(Protocol):
    """Everything the HTTP app calls. Methods block; the app runs them in worker threads.

    Errors: :class:`~toolwise.errors.InvalidArgumentError` (naming the field) becomes a
    ``422``, :class:`~toolwise.errors.StoreError` and :class:`~toolwise.errors.SpoolError` a
    ``503``; anything else is a bug and becomes a ``500`` without details.
    """

    def record(self, fields: Mapping[str, Any], /) -> ToolOutcome:
        """Build one record from the fields of a ``ToolOutcome`` — validated, redacted and
        bounded, once — and spool it; returns it as it will be stored."""
        ...

    def record_many(self, batch: Sequence[Mapping[str, Any]], /) -> list[ToolOutcome]:
        """:meth:`record` for a batch, in order, all or nothing: every record is built before
        the first is spooled, and an invalid one is named by its place (``[3].cost``)."""
        ...

    def list_calls(
        self, agent_id: str, call_filter: CallFilter, *, limit: int, offset: int
    ) -> list[ToolOutcome]:
        """Stored calls of one agent, newest first (``timestamp``, then ``id``, descending),
        after this process's pending records reached the store."""
        ...

    def iter_calls(self, agent_id: str, *, since: datetime | None = None) -> Iterable[ToolOutcome]:
        """Every unexpired call of one agent, oldest first (for the dashboard's overview)."""
        ...

    def get_call(self, call_id: str, *, agent_id: str) -> ToolOutcome | None:
        """One unexpired call of ``agent_id`` by id, or ``None``."""
        ...

    def forget(
        self,
        agent_id: str,
        *,
        tool: str | None = None,
        ids: Sequence[str] | None = None,
        timeout: float = FORGET_FLUSH_TIMEOUT,
    ) -> int:
        """Delete a tool's records, specific ids, or (neither) all of the agent's; a count.
        Waits up to ``timeout`` s for the calls recorded before to be stored, else deletes
        nothing and raises :class:`~toolwise.errors.StoreUnavailableError`."""
        ...

    def summary(self, agent_id: str, *, since: datetime | None = None) -> UsageSummary:
        """Per-tool usage of one agent."""
        ...

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
        """Record one judged outcome (priors-API style) and return the updated prior."""
        ...

    def priors(
        self,
        *,
        agent_id: str,
        tool: str | None = None,
        task_type: str | None = None,
        environment: str | None = None,
        limit: int | None = None,
    ) -> list[ToolPrior]:
        """Learnt reliability per tool, task type and environment."""
        ...

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
        """Rank ``tools`` for a task type, best first."""
        ...

    def advisor(self, options: AdviceOptions, /) -> Advising:
        """A pre-selection core for these options (the app keeps and reuses it)."""
        ...

    def agents(self) -> list[str]:
        """Every agent id with records in the store."""
        ...

    def health(self) -> StoreHealth:
        """The store's breaker state, and while it is closed a cheap, bounded question to the
        store; never raises, never hangs (no store call at all while the breaker is open)."""
        ...

    def close(self, timeout: float = 10.0) -> bool:
        """Drain the spool into the store (up to ``timeout`` s) and stop; False if left over."""
        ...
