"""A turn's recall: the nearest past failures of the visible tools, for the brief.

With a store that can list an agent's failures, recall is ranked in the process from an index
of them loaded once per (agent, task type) and kept current
(:mod:`toolwise.advice.recall_index`): a brief then never waits on the store. Until that
index is loaded (and with other stores), the store's answer to a similarity query (reused for
``recall_ttl`` seconds per query, kept current with this process's new failures and asked for
once at a time: :mod:`toolwise.advice.recall_cache`) is merged with this process's failures
the writer has not stored yet (read-your-writes). Either way recall is limited to the matched
task type, so an unrelated request is never shown another task's errors. Recall never fails a
turn: while the store is unavailable it is skipped (and the brief says so), and any other
error leaves the brief without it. A query that times out still runs; the cache keeps its
answer when it comes. A brief waits for the store's answer at most ``recall_budget`` seconds
(:mod:`toolwise.advice.recall_budget`): past it the brief says the store's recall is still
loading, and the next brief for the question has it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from datetime import datetime
from typing import cast

from toolwise.advice.format import Failure
from toolwise.advice.models import AdviceOptions
from toolwise.advice.protocols import AdviceRuntime
from toolwise.advice.recall_budget import Late
from toolwise.advice.recall_cache import RecallCache, Recalled
from toolwise.advice.recall_index import SHARED, RecallIndex
from toolwise.advice.task import TaskResolution
from toolwise.errors import StoreUnavailableError
from toolwise.storage.deadline import overdue
from toolwise.storage.health import store_is_down
from toolwise.storage.protocol import FailureListingStore, RecallWithinStore, SimilarOutcome
from toolwise.storage.unstored import LocalFailures

__all__ = ["FailureRecall", "Recalled"]

log = logging.getLogger("toolwise.advice")


class FailureRecall:
    """Recalls past failures for an :class:`~toolwise.advice.Advisor`'s turns. Thread-safe."""

    def __init__(self, runtime: AdviceRuntime, options: AdviceOptions) -> None:
        self.runtime = runtime
        self.options = options
        self._cache = RecallCache(
            runtime.embedding,
            options.recall_ttl,
            down=self.store_down,
            budget=options.recall_budget,
        )
        store = runtime.store
        self._index: RecallIndex | None = None
        if (
            options.recall_index
            and options.recall_ttl > 0  # 0: the store is asked on every turn
            and isinstance(store, FailureListingStore)
        ):
            embedding = runtime.embedding
            self._index = SHARED.of(
                runtime,  # one per runtime: its cores share the loads and the memory bound
                lambda: RecallIndex(store, embedding, down=lambda: store_is_down(store)),
            )

    def recall(
        self,
        agent_id: str,
        task: TaskResolution,
        text: str,
        tools: set[str],
        now: datetime,
    ) -> tuple[list[Failure], Recalled]:
        """The nearest past failures of the visible tools (empty when recall is off or fails),
        and whether the store's answer is among them (else only this process's unstored
        ones are: :data:`Recalled`)."""
        if self.options.top_k == 0 or not text.strip():
            return [], "recalled"
        # A type toolwise matched or learnt from the request: recall only that task's
        # failures — an unrelated request must not be shown another task's errors.
        same_task = task.task_type if task.inferred and task.task_type else None
        if same_task is not None and task.source == "new":
            return [], "recalled"  # a type learnt just now has no failures yet
        query = f"failure for {task.task_type}. Task: {text}" if task.task_type else text
        k = self.options.top_k
        # Other tasks' failures are dropped after the query, so ask for more of them.
        wide = k if same_task is None else 3 * k
        local = self.runtime.local_failures(agent_id)
        indexed = self._indexed((agent_id, same_task), query, wide, local, now)
        if indexed is not None:
            return self._failures(indexed, same_task, tools, now), "recalled"
        found, recalled = self._cache.nearest(
            (agent_id, query, wide),
            local,
            now,
            ask=lambda: self._similar(agent_id, query, now, wide),
            fresh=lambda: self.runtime.local_failures(agent_id),
            ask_within=(
                (lambda wait: self._similar(agent_id, query, now, wide, wait))
                if isinstance(self.runtime.store, RecallWithinStore)
                else None
            ),
            family=task.task_type or None,  # a neighbour's answer may stand in for a late one
        )
        return self._failures(found, same_task, tools, now), recalled

    def _indexed(
        self,
        key: tuple[str, str | None],
        query: str,
        k: int,
        local: LocalFailures,
        now: datetime,
    ) -> list[SimilarOutcome] | None:
        """The index's nearest failures; ``None`` without a usable index (the store is
        asked instead), also when the index failed (logged: a turn never fails for it)."""
        if self._index is None:
            return None
        agent_id = key[0]
        try:
            return self._index.nearest(
                key,
                query,
                k,
                local,
                now,
                fresh=lambda: self.runtime.local_failures(agent_id),
                refresh=self.options.recall_ttl,
            )
        except Exception as exc:
            log.warning("toolwise: recalling from the in-process index failed: %s", exc)
            return None

    def _failures(
        self,
        found: list[SimilarOutcome],
        same_task: str | None,
        tools: set[str],
        now: datetime,
    ) -> list[Failure]:
        """The brief's failures from the nearest ``found``: of ``same_task`` (if any) and the
        visible ``tools``, one per (tool, error) with its repeats."""
        k = self.options.top_k
        if same_task is not None:
            found = [hit for hit in found if hit.outcome.task_type == same_task][:k]
        merged: dict[tuple[str, str], Failure] = {}
        # Nearest first, graded by importance (bounded, see ToolOutcome.importance), then newest.
        for hit in sorted(
            found,
            key=lambda h: (
                h.distance / (0.5 + h.outcome.importance),
                -h.outcome.timestamp.timestamp(),
            ),
        ):
            record = hit.outcome
            if record.tool not in tools:
                continue
            error = record.error_message or record.error_type
            if record.error_type and record.error_message:
                error = f"{record.error_type}: {record.error_message}"
            if record.judged_by:  # which rule judged it a failure (a returned error, say)
                error = f"{error} [{record.judged_by}]"
            key = (record.tool, error)
            if key in merged:
                seen = merged[key]
                merged[key] = Failure(
                    seen.tool, seen.error, seen.task, seen.age_seconds, seen.repeats + 1
                )
                continue
            age = (now - record.timestamp).total_seconds()
            merged[key] = Failure(record.tool, error, record.task, age)
        return list(merged.values())

    def store_down(self) -> bool:
        """True while the store says it is unhealthy (reading it would fail at once)."""
        return store_is_down(self.runtime.store)

    def _similar(
        self, agent_id: str, query: str, now: datetime, k: int, wait: float | None = None
    ) -> list[SimilarOutcome] | Late | None:
        """``store.similar`` for failures; ``None`` while the store is unavailable (skipped at
        once when it says so), :class:`Late` when it timed out but still runs (its answer is
        kept when it comes). Raises for any other error (the cache logs it).

        ``wait``: the brief's budget, for a :class:`RecallWithinStore` (past it, a
        :class:`Late` that missed the budget, not the store's deadline).
        """
        if self.store_down():
            return None
        store = self.runtime.store
        try:
            if wait is None:
                return store.similar(agent_id, query, k=k, now=now, outcome="failure")
            found = cast(RecallWithinStore, store).similar_within(
                agent_id, query, k=k, now=now, wait=wait, outcome="failure"
            )
            return Late(found, wait, budget=True) if isinstance(found, Future) else found
        except StoreUnavailableError as exc:  # down, or timed out (bounded by the store)
            missed = overdue(exc)
            # A late query is slow, not down (the store's guard asks it for a heartbeat and
            # opens the breaker if that fails too): on a busy store every brief may miss, so
            # it is not a warning each time.
            level = logging.WARNING if missed is None else logging.INFO
            log.log(level, "toolwise: no recall this turn: %s", exc)
            if missed is None or missed.running is None:
                return None
            return Late(cast(Future[list[SimilarOutcome]], missed.running), missed.timeout)
