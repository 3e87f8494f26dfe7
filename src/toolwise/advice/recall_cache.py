"""The store's answers to recall queries: reused, kept current, and asked for once at a time.

This is recall's path until the in-process index (:mod:`toolwise.advice.recall_index`) of the
brief's agent is loaded, after a ``forget`` until it is loaded again, and for a store that
cannot list its failures. A brief's recall asks the store for the failures nearest its query
(two Chroma round trips, which compete with the background writer for the store). An answer
is reused for ``recall_ttl`` seconds per (agent, query, k), and five rules keep the reuse
right and the store quiet while an agent keeps failing:

- **Brought up to date, not thrown away.** A failure this process records, or one another
  process stored that the learning feed's tail has read (every ``refresh_interval``, 1 s with
  a server), does not make an answer stale: the next brief merges the failures seen since the
  answer was fetched (:meth:`~toolwise.storage.unstored.LocalFailures.since`) into it by the
  cosine distance the store uses — the answer the store gives once it has them
  (read-your-writes), each id once. The store is asked again only when the answer is
  ``recall_ttl`` old, a ``forget`` ran since (here, or in another process whose tombstone the
  tail read), or more failures were seen since than memory keeps (``RECENT``).
- **Single flight.** While one brief asks the store for a key, concurrent briefs for the same
  key wait for its answer (then merge what they recorded since) instead of asking too
  (:mod:`toolwise.advice.recall_flights`).
- **A late answer is kept.** A query that misses the store's recall deadline (a slow store)
  leaves its brief, and the briefs waiting with it, without recall — the turn must not wait —
  but it still runs in its store worker (:class:`~toolwise.advice.recall_budget.Late`), and
  its answer, when it comes, is kept as the key's answer as of the query (unless it failed, or
  a ``forget`` ran since). Until then it stays the key's one flight: a brief for the key serves
  a stale answer if it has one (below), else joins the late query, and no brief starts another
  (a background refresh that misses it is kept the same way).
- **Refreshed in the background.** An answer older than ``recall_ttl`` but younger than twice
  that is still served at once — merged with this process's newest failures (those since its
  query, or the newest ``RECENT`` when more were recorded), so the very next brief still shows
  a failure just recorded — while one background query replaces it
  (:mod:`toolwise.advice.recall_refresh`). A turn waits for the store only for a query it has
  no answer for from the last ``2 * recall_ttl`` seconds, or after a ``forget``.
- **A neighbour stands in past the budget.** A brief waits for the store's answer at most its
  ``recall_budget`` (:mod:`toolwise.advice.recall_budget`). Past it, if the brief's task type
  is known and the store answered another question of that task within ``2 * recall_ttl``
  (no ``forget`` since: :mod:`toolwise.advice.recall_neighbours`), that answer is shown,
  brought up to date as a stale one is and re-ranked for this question (``nearby``).

Other processes' failures therefore reach a brief as soon as the tail has read them (within
``refresh_interval`` plus the writer's delay, ~1–2 s on a server), without a store query;
without a tail (``refresh_interval=None``) within ``2 * recall_ttl`` seconds. Another
process's ``forget`` takes the same way (:mod:`toolwise.storage.tombstones`): once the tail
has read its tombstone, the agent's answers from before are asked again; without a tail they
are only when they expire (up to ``2 * recall_ttl``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from toolwise import _process
from toolwise.advice.recall_budget import Ask, AskWithin, Late, RecallBudget
from toolwise.advice.recall_flights import Flight, Missing, RecallFlights
from toolwise.advice.recall_merge import FailureMerge
from toolwise.advice.recall_neighbours import Key, TaskNeighbours
from toolwise.advice.recall_refresh import RecallRefresher
from toolwise.models import ToolOutcome
from toolwise.storage.embeddings import EmbeddingFunction
from toolwise.storage.protocol import SimilarOutcome
from toolwise.storage.unstored import LocalFailures

__all__ = ["RecallCache", "Recalled"]

Recalled = Literal["recalled", "nearby", "pending", "late", "unavailable"]
"""Whether a brief has the store's answer: ``pending`` when the store is healthy but its answer
missed the brief's budget (kept for the next brief when it comes), ``nearby`` when it missed
it but the store's answer to another question of the same task stood in (re-ranked for this
one), ``late`` when the query missed the store's own recall deadline (busy or frozen: the
store's heartbeat tells them apart, and a busy store's answer is kept for the next brief),
``unavailable`` when the store is down. Without an answer only this process's unstored
failures are shown."""

log = logging.getLogger("toolwise.advice")

_ANSWERS = 256  # (agent, query, k) answers kept

Fresh = Callable[[], LocalFailures]
"""The agent's :class:`LocalFailures` as of now (read again by a background refresh)."""


@dataclass(frozen=True, slots=True)
class _Answer:
    """A store answer merged with the failures this process had not stored yet."""

    fetched: float  # the clock at the store query: the staleness bound counts from it
    generation: int  # the agent's failures seen before the query (all merged in)
    epoch: int  # the agent's forgets before the query
    found: tuple[SimilarOutcome, ...]  # nearest first, at most k
    failed: bool = False  # the query raised: used by this turn (and its waiters), not kept


_Flight = Flight[_Answer]


class RecallCache:
    """Reused, current recall answers with one store query in flight per key. Thread-safe,
    and renewed in a forked child (:meth:`after_fork`).

    Args:
        embedding: the store's embedding (the same distances as the store's answers).
        ttl: seconds an answer is reused (0: every recall asks the store); served for as long
            again while a background query refreshes it.
        clock: monotonic seconds (injected by tests).
        down: True while the store says it is unavailable (a brief then does not wait for a
            late query: a query of its own would be skipped at once too).
        budget: the most seconds a brief waits for the store's answer, its own query's or one
            in flight (:mod:`toolwise.advice.recall_budget`); ``None``: as long as the query
            takes, within the store's recall deadline.
    """

    def __init__(
        self,
        embedding: EmbeddingFunction,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        down: Callable[[], bool] = lambda: False,
        budget: float | None = None,
    ) -> None:
        self._merging = FailureMerge(embedding)
        self._budget = RecallBudget(budget)
        self._ttl = ttl
        self._clock = clock
        self._down = down
        self._answers: OrderedDict[Key, _Answer] = OrderedDict()
        self._neighbours = TaskNeighbours(2 * _ANSWERS)
        self._flights = RecallFlights[_Answer](ttl, clock)
        self._refresher = RecallRefresher()
        self._lock = threading.Lock()  # guards _answers
        _process.renew_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: fresh locks (a parent thread may have held one at the fork: the
        child's first brief would wait for ever), none of the parent's queued refreshes, and
        the answers kept so far (they are data; the child reuses them as the parent would).
        The parent's flights need nothing: their pid keeps the child's briefs out of them,
        and the recall budget's workers are started anew per process."""
        self._lock = threading.Lock()
        self._refresher.after_fork()
        self._flights.after_fork()
        self._neighbours.after_fork()
        self._merging.after_fork()

    def nearest(
        self,
        key: Key,
        local: LocalFailures,
        now: datetime,
        ask: Ask,
        fresh: Fresh,
        *,
        ask_within: AskWithin | None = None,
        family: str | None = None,
    ) -> tuple[list[SimilarOutcome], Recalled]:
        """The ``k`` failures nearest the query of ``key = (agent, query, k)``: the store's
        answer (``ask``, or one reused) merged with this process's failures it may lack
        (``local``, and ``fresh()`` for a background refresh). ``ask_within(budget)``: the
        same query for a store that keeps a caller's budget itself (no worker of the cache's
        own between the brief and the store). ``family``: the task type the brief's recall is
        limited to; when the store's answer misses the budget, the freshest answer to another
        question of that task stands in, re-ranked for this one (``nearby``).

        Returns:
            The failures, nearest first, and whether the store's answer is among them (else
            only this process's unstored failures are there).
        """
        current: _Answer | Missing | None = None
        if family is not None:
            self._neighbours.name(key, family)
        # A brief waits at most the budget; a background refresh (``raw``) waits as long as
        # the store's deadline.
        raw, ask = ask, self._budget.bounded(ask, ask_within)
        if self._ttl <= 0:
            current = self._fetch(key, local, now, ask, fresh, keep=False)
        else:
            with self._lock:
                kept = self._answers.get(key)
            age = math.inf if kept is None else self._clock() - kept.fetched
            if kept is not None and age < self._ttl:
                current = self._current(key, kept, local, now)
            elif kept is not None and age < 2 * self._ttl and kept.epoch == local.epoch:
                self._refresh(key, now, raw, fresh)
                return self._stale(key, kept, local, now), "recalled"
            if current is None:
                current = self._shared(key, local, now, ask, fresh)
                if isinstance(current, _Answer):
                    current = self._current(key, current, local, now)
                    if current is None:  # a forget, or a burst, between its query and ours
                        current = self._fetch(key, local, now, ask, fresh, keep=True)
        if not isinstance(current, _Answer):  # no store answer: what only this process knows
            nearby = self._nearby(key, local, now) if current in ("pending", "late") else None
            if nearby is not None:
                return nearby, "nearby"
            return self._merging.merge(key, [], local.unstored, now), current or "unavailable"
        return _unexpired(current.found, now), "recalled"

    def _nearby(self, key: Key, local: LocalFailures, now: datetime) -> list[SimilarOutcome] | None:
        """The store's freshest answer to another question of ``key``'s task
        (:mod:`~toolwise.advice.recall_neighbours`; within ``2 * ttl``, and no ``forget``
        since), brought up to date as a stale answer is and re-ranked by distance to this
        question; ``None`` if there is none."""
        other = self._neighbours.neighbour(key)
        with self._lock:
            kept = None if other is None else self._answers.get(other)
        if kept is None or kept.epoch != local.epoch or kept.failed:
            return None
        if self._clock() - kept.fetched >= 2 * self._ttl:
            return None
        extra = [*(hit.outcome for hit in kept.found), *_newest(kept, local)]
        return _unexpired(self._merging.merge(key, [], extra, now), now)

    def _shared(
        self, key: Key, local: LocalFailures, now: datetime, ask: Ask, fresh: Fresh
    ) -> _Answer | Missing:
        """The store's answer for ``key``: a query already in flight, or ours."""
        flight, ours = self._flights.start(key)
        if ours:
            return self._fetch(key, local, now, ask, fresh, keep=True, flight=flight)
        return flight.wait(self._budget.seconds, self._down)

    def _stale(
        self, key: Key, kept: _Answer, local: LocalFailures, now: datetime
    ) -> list[SimilarOutcome]:
        """``kept`` (past its ttl) with this process's newest failures merged in; not kept."""
        extra = _newest(kept, local)
        return _unexpired(self._merging.merge(key, list(kept.found), extra, now), now)

    def _refresh(self, key: Key, now: datetime, ask: Ask, fresh: Fresh) -> None:
        """Queue one background query for ``key`` (none if one is in flight)."""
        flight, ours = self._flights.start(key)
        if ours:
            self._refresher.submit(lambda: self._refetch(key, now, ask, fresh, flight))

    def _refetch(self, key: Key, now: datetime, ask: Ask, fresh: Fresh, flight: _Flight) -> None:
        """A background refresh (in the refresher's thread): ask the store again for ``key``,
        merging what ``fresh()`` says this process has seen by now."""
        asked = False
        try:
            local = fresh()
            asked = True  # the query lands its flight
            self._fetch(key, local, now, ask, fresh, keep=True, flight=flight)
        finally:
            if not asked:
                self._flights.land(key, flight, "unavailable")

    def _fetch(
        self,
        key: Key,
        local: LocalFailures,
        now: datetime,
        ask: Ask,
        fresh: Fresh,
        *,
        keep: bool,
        flight: _Flight | None = None,
    ) -> _Answer | Missing:
        """Ask the store, merge what it may not have yet, keep the answer when ``keep``, and
        land ``flight`` with it; a late query is kept, and lands, when it answers."""
        fetched = self._clock()
        answer: _Answer | Missing = "unavailable"
        try:
            try:
                stored = ask()
            except Exception as exc:  # advice must not fail a turn because recall did
                log.warning("toolwise: recalling similar failures failed: %s", exc)
                found = self._merging.merge(key, [], local.unstored, now)
                answer = failed = _Answer(
                    fetched, local.generation, local.epoch, tuple(found), failed=True
                )
                return failed
            if isinstance(stored, Late):
                answer = "pending" if stored.budget else "late"
                if keep:
                    self._later(key, flight, stored, (fetched, local, now), fresh)
                    flight = None  # handed on: landed when the query answers
                return answer
            if stored is None:
                return answer
            answer = current = self._answer(key, stored, fetched, local, now)
            if keep:
                self._keep(key, current)
            return current
        finally:
            if flight is not None:
                self._flights.land(key, flight, answer)

    def _answer(
        self,
        key: Key,
        stored: list[SimilarOutcome],
        fetched: float,
        local: LocalFailures,
        now: datetime,
    ) -> _Answer:
        """The store's answer to a query made at ``fetched``, with ``local`` merged in."""
        found = self._merging.merge(key, stored, local.unstored, now)
        return _Answer(fetched, local.generation, local.epoch, tuple(found))

    def _later(
        self,
        key: Key,
        flight: _Flight | None,
        late: Late,
        asked: tuple[float, LocalFailures, datetime],
        fresh: Fresh,
    ) -> None:
        """``late`` stays ``flight``'s query (for briefs to come) until it answers, when its
        answer is kept."""
        later = None if flight is None else self._flights.late(key, flight, late)
        late.answer.add_done_callback(lambda done: self._arrived(key, later, done, asked, fresh))

    def _arrived(
        self,
        key: Key,
        flight: _Flight | None,
        done: Future[list[SimilarOutcome]],
        asked: tuple[float, LocalFailures, datetime],
        fresh: Fresh,
    ) -> None:
        """A late query answered (in the store worker that ran it): keep its answer, as of
        the query, unless it failed or a ``forget`` ran since; land ``flight`` with it. The
        merge embeds little: the brief that gave up on it embedded the same failures."""
        answer: _Answer | Missing = "unavailable"
        try:
            if not done.cancelled() and done.exception() is None:
                fetched, local, now = asked
                answer = self._answer(key, done.result(), fetched, local, now)
                if fresh().epoch == answer.epoch:  # else it may hold forgotten records
                    self._keep(key, answer)
        except Exception as exc:  # runs in a store worker: must not raise there
            log.warning("toolwise: keeping a late recall answer failed: %s", exc)
        finally:
            if flight is not None:
                self._flights.land(key, flight, answer)

    def _current(
        self, key: Key, answer: _Answer, local: LocalFailures, now: datetime
    ) -> _Answer | None:
        """``answer`` with the failures recorded since its query merged in (and kept so);
        ``None`` when it cannot be brought up to date (a forget, or too many since)."""
        if answer.failed:
            return answer
        if answer.epoch != local.epoch:
            return None
        newer = local.since(answer.generation)
        if newer is None:
            return None
        if not newer:
            return answer
        found = self._merging.merge(key, list(answer.found), newer, now)
        current = _Answer(answer.fetched, local.generation, answer.epoch, tuple(found))
        self._keep(key, current)
        return current

    def _keep(self, key: Key, answer: _Answer) -> None:
        if answer.failed:
            return
        with self._lock:
            kept = self._answers.get(key)
            if (
                kept is not None
                and kept.epoch == answer.epoch
                and kept.generation >= answer.generation
                and kept.fetched >= answer.fetched
            ):
                return  # a concurrent brief, or a later query, kept a more current one
            self._answers[key] = answer
            self._answers.move_to_end(key)
            self._neighbours.answered(key)
            while len(self._answers) > _ANSWERS:
                self._answers.popitem(last=False)


def _newest(kept: _Answer, local: LocalFailures) -> tuple[ToolOutcome, ...]:
    """This process's failures ``kept`` may lack: those seen since its query (the newest
    ``RECENT`` when more were), and the unstored ones."""
    newer = local.since(kept.generation)
    return (*(local.recent if newer is None else newer), *local.unstored)


def _unexpired(found: Sequence[SimilarOutcome], now: datetime) -> list[SimilarOutcome]:
    return [h for h in found if h.outcome.expires_at is None or h.outcome.expires_at > now]
