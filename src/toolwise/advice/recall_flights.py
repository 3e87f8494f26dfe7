"""One store query in flight per recall question: briefs that ask it too wait for that one.

While one brief asks the store a question, concurrent briefs for it join that query (then
merge what they recorded since) instead of asking too. A query that misses the store's recall
deadline, or a brief's budget, runs on in its store worker (:class:`~toolwise.advice.
recall_budget.Late`) and stays the question's one flight until it answers: a brief joins it for
at most the deadline — unavailable at once while the store's breaker is open, or as soon as it
opens — and no brief starts another query. Under load, each question thus costs the store one
query, not one per brief that gives up on it. A late query older than ``recall_ttl`` is given
up on (its answer would be stale, or it was lost on a dead connection): the next brief asks.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from toolwise.advice.recall_budget import Late
from toolwise.advice.recall_neighbours import Key

__all__ = ["Flight", "Missing", "RecallFlights"]

Missing = Literal["pending", "late", "unavailable"]
"""Why a brief has no store answer: still loading past its budget, past the store's recall
deadline (busy or frozen: its heartbeat will tell), or the store is down."""

A = TypeVar("A")

_DOWN_CHECK = 0.05  # s: how often a brief waiting for a late query looks at the breaker


@dataclass(frozen=True, slots=True)
class Flight(Generic[A]):
    """A store query in progress; ``pid`` so a forked child never waits for its parent's."""

    pid: int
    answer: Future[A | Missing]
    started: float  # the clock when it was asked for
    late: float | None = None  # past its deadline: how long a brief joins it

    def wait(self, budget: float | None, down: Callable[[], bool]) -> A | Missing:
        """This query's answer for a brief that joins it: within ``budget`` (``None``: as
        long as it takes, bounded by the store's deadline), and a late query no longer than
        its caller waited — not at all while the store is ``down`` (as unavailable as a query
        of the brief's own would be), nor once it goes down while the brief waits."""
        if self.late is None:
            return _within(self.answer, budget)
        return _unless_down(
            self.answer, self.late if budget is None else min(self.late, budget), down
        )


class RecallFlights(Generic[A]):
    """The store query in flight for each question in this process. Thread-safe.

    Args:
        ttl: seconds after which a late query is given up on (its answer would be stale).
        clock: monotonic seconds (injected by tests).
    """

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._flights: dict[Key, Flight[A]] = {}
        self._lock = threading.Lock()

    def start(self, key: Key) -> tuple[Flight[A], bool]:
        """``key``'s query in flight, to join (``False``), or a new one the caller asks the
        store for and lands (``True``)."""
        pid = os.getpid()
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None and self._joinable(flight, pid):
                return flight, False
            flight = self._flights[key] = Flight(pid, Future(), self._clock())
            return flight, True

    def late(self, key: Key, flight: Flight[A], late: Late) -> Flight[A] | None:
        """``flight``'s query missed its deadline but runs on (``late``): it stays ``key``'s
        flight until it answers; the briefs that waited with it go without, as its own brief
        does. Returns the flight to land when it answers (``None``: ``key`` has another)."""
        later: Flight[A] | None = None
        with self._lock:
            if self._flights.get(key) is flight:
                later = self._flights[key] = Flight(
                    flight.pid, Future(), flight.started, late.deadline
                )
        flight.answer.set_result("pending" if late.budget else "late")
        return later

    def land(self, key: Key, flight: Flight[A], answer: A | Missing) -> None:
        """``flight``'s query is over: later briefs ask again (if they must)."""
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        flight.answer.set_result(answer)

    def after_fork(self) -> None:
        """In a forked child: a fresh lock. The parent's flights stay until replaced: their
        ``pid`` already keeps the child's briefs from joining them."""
        self._lock = threading.Lock()

    def _joinable(self, flight: Flight[A], pid: int) -> bool:
        """Whether a brief of ``pid`` waits for ``flight`` rather than asking (under the lock):
        a late query older than ``ttl`` is given up on (its answer would be stale)."""
        if flight.pid != pid:
            return False
        return flight.late is None or self._clock() - flight.started < self._ttl


def _unless_down(
    answer: Future[A | Missing], seconds: float, down: Callable[[], bool]
) -> A | Missing:
    """``answer`` if it lands within ``seconds``, else pending; unavailable as soon as the
    store is ``down``. A late query's store is being asked for a heartbeat: a frozen one
    opens the breaker while briefs wait, and they stop waiting then, not at the deadline."""
    left = seconds
    while not down():
        step = min(left, _DOWN_CHECK)
        try:
            return answer.result(step)
        except TimeoutError:
            left -= step
            if left <= 0:
                return "pending"
    return "unavailable"


def _within(answer: Future[A | Missing], seconds: float | None) -> A | Missing:
    """``answer`` if it lands within ``seconds`` (``None``: however long), else pending."""
    try:
        return answer.result(seconds)
    except TimeoutError:
        return "pending"
