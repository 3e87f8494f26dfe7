"""``CallLog``: the tracking API over recorded calls — list, get, summarise, forget.

Shared by :class:`~toolwise.Toolwise` and anything else built on a
:class:`~toolwise._runtime.Runtime` (an HTTP service), so both read the same way: pending
records are flushed first (read-your-writes while the store is up), expired records never
appear, and a store failure surfaces as :class:`~toolwise.errors.StoreError` instead of a
client library's exception.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from toolwise._checks import (
    check_id_list,
    check_int,
    check_moment,
    check_seconds,
    check_text,
)
from toolwise._summary import summarize
from toolwise.errors import (
    InvalidArgumentError,
    StoreError,
    StoreUnavailableError,
    ToolwiseError,
)
from toolwise.models import InfraEventSummary, ToolOutcome, UsageSummary, check_agent_id
from toolwise.storage.protocol import CallFilter, OutcomeStore

__all__ = ["FORGET_FLUSH_TIMEOUT", "READ_FLUSH_TIMEOUT", "CallLog", "Forgotten", "OutagesFor"]

READ_FLUSH_TIMEOUT = 5.0
"""Seconds a read waits for pending records to reach the store before it reads anyway."""
FORGET_FLUSH_TIMEOUT = 30.0
"""Seconds a forget waits for pending records to reach the store before it refuses: a record
still in the spool when the delete ran would be written after it and come back."""

MAX_PAGE = 1_000

OutagesFor = Callable[[str | None, datetime | None, list[ToolOutcome]], list[InfraEventSummary]]
"""``outages(agent_id, since, records_just_read)``: the infrastructure events of a summary."""

Forgotten = Callable[[str, str | None, Sequence[str] | None, int], None]
"""``forgotten(agent_id, tool, ids, removed)``: told after records were deleted, to unlearn."""


class CallLog:
    """Reads and deletes recorded calls.

    Args:
        store: the outcome log.
        flush: ``flush(timeout) -> bool``: moves this process's pending records to the store.
        settle: ``settle(timeout) -> bool``: every call recorded so far (the judge's queue
            included) in the store, or False; what a forget waits for.
        clock: "now" (UTC): what counts as expired.
        outages: the infrastructure events a summary reports.
        forgotten: called after :meth:`forget` deleted records (must not raise).
        labels: the stored form of a queried label (the record builder's ``label``): a
            ``task_type`` or ``environment`` filter finds the records it was cut or redacted in.
        identifiers: the stored form of a queried ``session_id`` (the builder's
            ``identifier``): a session id holding a secret is stored as its digest.
    """

    def __init__(
        self,
        store: OutcomeStore,
        *,
        flush: Callable[[float], bool],
        settle: Callable[[float], bool],
        clock: Callable[[], datetime],
        outages: OutagesFor,
        forgotten: Forgotten,
        labels: Callable[[str], str] = str,
        identifiers: Callable[[str], str] = str,
    ) -> None:
        self._store = store
        self._labels = labels
        self._identifiers = identifiers
        self._flush = flush
        self._settle = settle
        self._clock = clock
        self._outages = outages
        self._forgotten = forgotten

    @contextmanager
    def _reading(self) -> Iterator[datetime]:
        """Flush, then read; a store failure surfaces as :class:`StoreError`."""
        self._flush(READ_FLUSH_TIMEOUT)  # read-your-writes when the store is up
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
        """Recorded calls, newest first, filtered and paged; expired records never appear.

        Raises:
            InvalidArgumentError: ``limit`` outside 1–1000 or a negative ``offset``.
            StoreError: the store could not be read.
        """
        _check_agent(agent_id)
        for name, text in (
            ("tool", tool),
            ("session_id", session_id),
            ("task_type", task_type),
            ("environment", environment),
        ):
            if text is not None:
                check_text(name, text)
        call_filter = CallFilter(
            tool=tool,
            session_id=session_id,
            task_type=task_type,
            environment=environment,
            success_only=success_only,
            since=None if since is None else check_moment("since", since),
        )
        return self.find(agent_id, call_filter, limit=limit, offset=offset)

    def find(
        self, agent_id: str, call_filter: CallFilter, *, limit: int = 50, offset: int = 0
    ) -> list[ToolOutcome]:
        """:meth:`list_calls` with every filter of :class:`CallFilter` (``outcome``,
        ``until``): what an HTTP listing needs. Same order, paging and errors."""
        _check_agent(agent_id)
        check_int("limit", limit)
        check_int("offset", offset)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidArgumentError("limit", limit, f"must be between 1 and {MAX_PAGE}")
        if offset < 0:
            raise InvalidArgumentError("offset", offset, "must be >= 0")
        call_filter = dataclasses.replace(
            call_filter,
            task_type=self._stored(call_filter.task_type),
            environment=self._stored(call_filter.environment),
            session_id=(
                self._identifiers(call_filter.session_id)
                if call_filter.session_id
                else call_filter.session_id
            ),
        )
        with self._reading() as now:
            return self._store.find(agent_id, call_filter, limit=limit, offset=offset, now=now)

    def _stored(self, label: str | None) -> str | None:
        return self._labels(label) if isinstance(label, str) and label else label

    def iter_calls(self, agent_id: str, *, since: datetime | None = None) -> list[ToolOutcome]:
        """Every unexpired call of one agent, oldest first (an overview's input)."""
        with self._reading() as now:
            return list(self._store.iter_outcomes(agent_id, since=since, now=now))

    def agents(self) -> list[str]:
        """Every agent id with records in the store."""
        with self._reading():
            return self._store.agents()

    def get_call(self, call_id: str, *, agent_id: str | None = None) -> ToolOutcome | None:
        """One record by id (searching every agent unless ``agent_id`` is given)."""
        check_text("call_id", call_id, blank=False)
        _check_agent(agent_id, optional=True)
        with self._reading() as now:
            found = self._store.get([call_id], agent_id=agent_id)
        live = [o for o in found if not o.is_expired(now)]
        return live[0] if live else None

    def summary(
        self, agent_id: str | None = None, *, since: datetime | None = None
    ) -> UsageSummary:
        """Totals and per-tool call count, success rate, latency mean/p50/p95 and cost."""
        _check_agent(agent_id, optional=True)
        since = None if since is None else check_moment("since", since)
        with self._reading() as now:
            outcomes = list(self._store.iter_outcomes(agent_id, since=since, now=now))
        return summarize(
            outcomes,
            agent_id=agent_id,
            since=since,
            infra_events=self._outages(agent_id, since, outcomes),
        )

    def forget(
        self,
        agent_id: str = "default",
        *,
        tool: str | None = None,
        ids: Sequence[str] | None = None,
        timeout: float = FORGET_FLUSH_TIMEOUT,
    ) -> int:
        """Delete records: a retired ``tool``'s, specific ``ids``, or (neither) the agent's all.

        Every call recorded before the forget is stored first (up to ``timeout`` s), so none
        of them is written after the delete and comes back — after an outage the spool can
        hold minutes of backlog. When they cannot all be stored in time, nothing is deleted
        and :class:`~toolwise.errors.StoreUnavailableError` says so: forget again later.
        Other processes on the same Chroma server drop the records from recall and their
        learnt view within their tail's lag (~1–2 s): the delete leaves them a tombstone
        (:mod:`toolwise.storage.tombstones`). Returns how many records were deleted.

        Raises:
            InvalidArgumentError: ``ids`` empty, a bare string, or holding a blank or non-string
                id (an empty list never means "everything"); both ``tool`` and ``ids``;
                ``timeout`` negative or not finite.
            StoreUnavailableError: records recorded before are still waiting for the store
                (down, or behind after an outage); nothing was deleted.
        """
        if tool is not None and ids is not None:
            raise InvalidArgumentError("ids", ids, "give tool or ids, not both")
        _check_agent(agent_id)
        if tool is not None:
            check_text("tool", tool, blank=False)
        if ids is not None:
            ids = check_id_list("ids", ids)
        timeout = check_seconds("timeout", timeout)
        if not self._settle(timeout):
            raise StoreUnavailableError(
                "forget: calls recorded before it are still waiting for the store (down, or "
                "behind after an outage), and would come back after a delete; nothing was "
                "deleted: forget again once flush() returns True"
            )
        removed = self._store.delete(agent_id, tool=tool, ids=ids)
        self._forgotten(agent_id, tool, ids, removed)
        return removed

    def purge_expired(self) -> int:
        """Delete every record whose TTL has passed; runs periodically in the background too."""
        return self._store.purge_expired(self._clock())


def _check_agent(agent_id: str | None, *, optional: bool = False) -> None:
    """``agent_id`` is a string (or ``None`` where every agent is meant)."""
    if agent_id is not None or not optional:
        check_agent_id(agent_id)  # type: ignore[arg-type]  # None is refused there, by name
