"""The extension point for where outcomes live: anything with these methods is a store."""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from toolwise.models import ToolOutcome

__all__ = [
    "CallFilter",
    "FailureListingStore",
    "OutcomeStore",
    "RecallWithinStore",
    "SimilarOutcome",
    "StoredFailures",
    "TailingStore",
    "Tombstone",
    "TombstoneStore",
]


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which records a listing returns; empty fields do not filter. Expired records never match."""

    tool: str | None = None
    session_id: str | None = None
    task_type: str | None = None
    environment: str | None = None
    outcome: str | None = None
    success_only: bool = False
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SimilarOutcome:
    """A record found by a vector query, with its cosine distance (smaller is closer)."""

    outcome: ToolOutcome
    distance: float


@dataclass(frozen=True, slots=True)
class StoredFailures:
    """An agent's newest failures with the vectors the store keeps for them.

    Attributes:
        outcomes: newest first, one per distinct embedded text (the newest record with it).
        vectors: one per outcome, as the store keeps them (unit length for cosine).
        dimension: the dimension the store folds vectors to (a query is folded the same way:
            :func:`~toolwise.storage.collections.fold`); ``None``: kept as embedded.
    """

    outcomes: tuple[ToolOutcome, ...]
    vectors: Sequence[Sequence[float]]
    dimension: int | None = None


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A ``forget`` another process ran: which of one agent's records it deleted.

    Attributes:
        id: the tombstone's own id (a look that meets it twice applies it once).
        agent_id: the one agent whose records went (no other agent's are touched).
        at: its store time (epoch s), stamped after the records were deleted.
        tool: the tool whose records went, if the forget named one.
        ids: the record ids that went, if the forget named them; neither ``tool`` nor
            ``ids``: every record of the agent.
    """

    id: str
    agent_id: str
    at: float
    tool: str | None = None
    ids: tuple[str, ...] | None = None


@runtime_checkable
class OutcomeStore(Protocol):
    """Durable home of outcome records, one isolated namespace per agent id.

    Implementations must make ``write`` idempotent by record id (a spool replay may resend a
    batch) and must never return one agent's records from a read for another.
    """

    def write(self, outcomes: Sequence[ToolOutcome]) -> None:
        """Insert or replace records by id; raises on failure so the writer can retry."""
        ...

    def get(self, ids: Sequence[str], *, agent_id: str | None = None) -> list[ToolOutcome]: ...

    def find(
        self,
        agent_id: str,
        call_filter: CallFilter,
        *,
        limit: int,
        offset: int,
        now: datetime,
    ) -> list[ToolOutcome]:
        """Matching unexpired records, newest first."""
        ...

    def iter_outcomes(
        self, agent_id: str | None = None, *, since: datetime | None = None, now: datetime
    ) -> Iterator[ToolOutcome]:
        """Every unexpired record (of one agent or all), oldest first, in bounded pages."""
        ...

    def similar(
        self,
        agent_id: str,
        text: str,
        *,
        k: int,
        now: datetime,
        outcome: str | None = None,
    ) -> list[SimilarOutcome]:
        """At most ``k`` unexpired records nearest to ``text``, nearest first.

        ``outcome`` keeps one verdict only. Called before model turns (``outcome="failure"``):
        keep it fast — the Chroma store answers failures from an index of their own.
        """
        ...

    def delete(
        self, agent_id: str, *, tool: str | None = None, ids: Sequence[str] | None = None
    ) -> int: ...

    def purge_expired(self, now: datetime) -> int: ...

    def agents(self) -> list[str]: ...

    def count(self, agent_id: str) -> int: ...

    def close(self) -> None: ...


@runtime_checkable
class TailingStore(Protocol):
    """A store that can say cheaply which records arrived lately (optional capability).

    Each row carries its *store time* (``stored_at``, epoch seconds of the writer's wall clock,
    stamped when the row is written, later on every retry), so a process can follow what other
    processes wrote after a watermark with one indexed range query instead of a rescan
    (:class:`~toolwise.learning.feed.LearningFeed`). Stores without it are refreshed the old way.
    """

    def recent(
        self,
        since: float,
        *,
        now: datetime,
        key: Literal["stored_at", "timestamp"] = "stored_at",
        known: Container[str] = frozenset(),
    ) -> list[ToolOutcome]:
        """Unexpired records of every agent whose ``key`` (epoch seconds) is ``>= since``,
        except those whose id is in ``known``, oldest first.

        ``key="timestamp"`` asks by record time instead: it also finds rows written without
        a store time (by an older version of toolwise).
        """
        ...


@runtime_checkable
class RecallWithinStore(Protocol):
    """A store whose recall a caller can stop waiting for before the store's own deadline
    (optional capability).

    A brief waits for recall at most its budget (``AdviceOptions.recall_budget``), far less
    than the deadline after which the store counts as failed. Such a store runs the query
    in its own worker and hands back, past ``wait``, the future its answer lands on; with
    other stores the brief waits for :meth:`OutcomeStore.similar` from a worker of its own
    (one thread hand-off more per brief).
    """

    def similar_within(
        self,
        agent_id: str,
        text: str,
        *,
        k: int,
        now: datetime,
        wait: float,
        outcome: str | None = None,
    ) -> list[SimilarOutcome] | Future[list[SimilarOutcome]]:
        """:meth:`OutcomeStore.similar`'s answer within ``wait`` seconds, else the future it
        lands on (a result, or the exception the query raised). Missing ``wait`` does not
        make the store unhealthy; missing the store's deadline does, as in ``similar``."""
        ...


@runtime_checkable
class FailureListingStore(Protocol):
    """A store that can hand over an agent's newest failures with their vectors (optional
    capability).

    A brief's recall then ranks them in the process (:mod:`toolwise.advice.recall_index`)
    after one load per (agent, task type), instead of asking the store per question; other
    stores are asked per question (:meth:`OutcomeStore.similar`).
    """

    def newest_failures(
        self, agent_id: str, *, task_type: str | None, limit: int, now: datetime
    ) -> StoredFailures:
        """The agent's last ``limit`` failures stored (of ``task_type`` if given), unexpired,
        one per distinct text (the newest record with it), newest first, with their stored
        vectors. Raises on failure (the caller retries)."""
        ...


@runtime_checkable
class TombstoneStore(Protocol):
    """A store that tells other processes what a ``forget`` deleted (optional capability).

    Deleting records removes them from the store, but other processes sharing it keep what
    they learnt from them in memory (the learnt view, recalled failures). Such a store leaves a
    :class:`Tombstone` per ``delete`` that removed anything, which the others' tails read.
    """

    def tombstones(self, since: float) -> list[Tombstone]:
        """Other processes' tombstones stamped at or after ``since`` (epoch s), oldest first;
        this process's own are left out (it unlearnt them when it deleted)."""
        ...
