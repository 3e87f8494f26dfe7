"""How long a brief waits for the store's recall answer: ``recall_budget``, not the store's
deadline.

The store's recall deadline (``StoreTimeouts.recall``, 0.5 s) says when the *store* is
suspect: a query past it makes the store's guard ask for a heartbeat, and the breaker opens if
that fails too. A brief's budget says how long a *turn* waits: on a
healthy but busy store (a ``chroma run`` server indexing a burst of writes answered recall in
up to 59 ms, measured) a brief should not wait that long, yet the store has not failed. So
the brief waits for the query at most the budget, and the query runs on under the store's
deadline as before; past the budget the brief goes on without the store's answer, which is
handed back as a :class:`Late` query: the recall cache keeps its answer when it comes, for the
next brief. Missing the budget is not an outage: nothing is tripped, nothing logged.

Toolwise's Chroma store keeps the budget itself
(:class:`~toolwise.storage.protocol.RecallWithinStore`): the brief hands the query straight to
the store's worker and waits there. For any other store, :class:`RecallBudget` runs the query
in a worker of its own (thread ``toolwise-recall``) and waits for that: one thread hand-off
more per brief, which on a busy machine costs a wait for the GIL each way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from toolwise.errors import StoreUnavailableError
from toolwise.storage.deadline import Workers
from toolwise.storage.protocol import SimilarOutcome

__all__ = ["Ask", "AskWithin", "Late", "RecallBudget"]


@dataclass(frozen=True, slots=True)
class Late:
    """A store query that missed its deadline, or a brief's budget, and still runs unwatched.

    Attributes:
        answer: where its nearest failures (or its exception) land.
        deadline: the seconds its caller waited; a brief joins the query at most that long.
        budget: it missed a brief's budget, not the store's deadline (the store is healthy).
    """

    answer: Future[list[SimilarOutcome]]
    deadline: float
    budget: bool = False


Ask = Callable[[], "list[SimilarOutcome] | Late | None"]
"""One store query: its nearest failures, ``None`` while the store is unavailable, a
:class:`Late` when it missed its deadline but still runs, and raising for any other error (the
answer is then not kept)."""
AskWithin = Callable[[float], "list[SimilarOutcome] | Late | None"]
"""The same query for a store that keeps the budget itself
(:class:`~toolwise.storage.protocol.RecallWithinStore`): ``ask_within(budget)`` is a
:class:`Late` with ``budget=True`` once the budget passed."""


class RecallBudget:
    """Runs a recall query for a brief that waits at most ``seconds``. Thread-safe.

    Args:
        seconds: the most a brief waits for the store's answer; ``None`` waits as long as the
            query takes (bounded by the store's recall deadline), in the brief's own thread.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._workers: Workers | None = None
        self._pid = 0

    def ask(self, ask: Ask) -> list[SimilarOutcome] | Late | None:
        """``ask()``'s answer if it comes within the budget, else a :class:`Late` for it."""
        if self.seconds is None:
            return ask()
        running = self._pool().submit(ask)
        try:
            return running.result(self.seconds)
        except FutureTimeout:
            return Late(_answer_of(running), self.seconds, budget=True)

    def bounded(self, ask: Ask, ask_within: AskWithin | None) -> Ask:
        """``ask`` as a brief makes it: waited for at most the budget (a :class:`Late` past
        it), by the store itself when it can (``ask_within``), else from a worker."""
        seconds = self.seconds
        if seconds is None:
            return ask
        if ask_within is not None:
            return lambda: ask_within(seconds)
        return lambda: self.ask(ask)

    def _pool(self) -> Workers:
        """This process's workers (threads do not survive a fork: a child starts its own)."""
        pid = os.getpid()
        if self._workers is None or self._pid != pid:
            self._workers, self._pid = Workers(name="toolwise-recall"), pid
        return self._workers


def _answer_of(running: Future[Any]) -> Future[list[SimilarOutcome]]:
    """The store's answer to a query still running in ``running``: its failures, or an
    exception when it failed, found the store unavailable or was cancelled (not kept)."""
    answer: Future[list[SimilarOutcome]] = Future()

    def landed(done: Future[Any]) -> None:
        if done.cancelled():
            answer.cancel()
        elif (error := done.exception()) is not None:
            answer.set_exception(error)
        elif isinstance(result := done.result(), Late):  # past the store's deadline too
            result.answer.add_done_callback(landed)
        elif result is None:
            answer.set_exception(StoreUnavailableError("the outcome store is unavailable"))
        else:
            answer.set_result(result)

    running.add_done_callback(landed)
    return answer
