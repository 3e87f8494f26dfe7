"""Every Chroma round trip under a deadline and the circuit breaker.

:class:`StoreGuard` runs each call in a daemon worker and waits at most its timeout; a call
that times out or cannot reach the server opens the :class:`~toolwise.storage.health.Breaker`,
and while it is open calls raise :class:`~toolwise.errors.StoreUnavailableError` at once.
:class:`GuardedClient` and :class:`GuardedCollection` wrap a Chroma client and its collections
so that code written against Chroma's API (the outcome store, the failure index, the knowledge
store) gets both without a change: each method that talks to Chroma goes through the guard.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from toolwise.errors import StoreUnavailableError
from toolwise.storage.deadline import Alarms, DeadlineExceededError, Workers
from toolwise.storage.health import Breaker, StoreHealth, StoreTimeouts

__all__ = ["GuardedClient", "GuardedCollection", "StoreGuard", "is_outage"]

T = TypeVar("T")

_CLIENT_CALLS = frozenset(
    {
        "heartbeat",
        "list_collections",
        "count_collections",
        "get_max_batch_size",
        "delete_collection",
    }
)
_COLLECTION_RETURNING = frozenset(
    {"get_collection", "get_or_create_collection", "create_collection"}
)
_COLLECTION_CALLS = frozenset(
    {"add", "upsert", "update", "get", "query", "delete", "count", "peek", "modify"}
)


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the store could not be reached (not that it refused a call).

    Connection failures and timeouts anywhere in the exception chain count: Chroma's client
    re-raises a refused connection as ``ValueError("Could not connect ...")``.
    """
    httpx = sys.modules.get("httpx")  # loaded by Chroma's HTTP client; absent: no HTTP errors
    kinds: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    if httpx is not None:
        kinds = (*kinds, httpx.TransportError)
    seen: BaseException | None = error
    for _depth in range(8):
        if seen is None:
            return False
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class StoreGuard:
    """Deadlines and the breaker for one store.

    Args:
        timeouts: the deadlines (:class:`StoreTimeouts`).
        probe: one health check; the guard runs it under ``timeouts.connect + read``.

    Thread-safe.
    """

    def __init__(self, timeouts: StoreTimeouts, probe: Callable[[], object]) -> None:
        self.timeouts = timeouts
        self._probe = probe
        self._workers = Workers()
        self._alarms = Alarms(name="toolwise-store-watch")
        self.breaker = Breaker(self._bounded_probe, probe_interval=timeouts.probe_interval)

    @property
    def health(self) -> StoreHealth:
        return self.breaker.health

    def _bounded_probe(self) -> None:
        # connect + read: before the first connection a probe also makes the client, whose
        # constructor makes a few requests of its own (0.3-1.3 s measured, idle to loaded).
        self._workers.run(self._probe, self.timeouts.connect + self.timeouts.read)

    def call(self, function: Callable[[], T], timeout: float | None = None) -> T:
        """``function()``, given up on after ``timeout`` seconds, or by default after
        ``timeouts.read`` — unless the store still answers a heartbeat then: a busy store
        (a large page, a large batch, a loaded machine) gets up to ``timeouts.max_read``, a
        frozen one does not.

        Raises:
            StoreUnavailableError: the store is unhealthy (at once), or this call timed out or
                could not reach it (which makes the store unhealthy).
            Exception: anything else ``function`` raised, unchanged (a refusal, not an outage).
        """
        workers = self._workers
        if workers.inside():  # an outer guarded call's deadline covers this one
            return function()
        breaker = self.breaker
        if not breaker.healthy:
            raise StoreUnavailableError(_unavailable(breaker.health))
        try:
            if timeout is not None:
                return workers.run(function, timeout)
            return self._patiently(workers.submit(function))
        except Exception as exc:
            if not is_outage(exc):
                raise
            raise self._outage(exc) from exc

    def call_within(
        self, function: Callable[[], T], *, wait: float, timeout: float
    ) -> T | Future[T]:
        """:meth:`call` with ``timeout`` for a caller that waits at most ``wait`` seconds: past
        it, the future the call's result will land on (the call still runs in its worker).

        Missing ``wait`` is not an outage: only ``timeout`` is. From then on the call is
        watched: it opens the breaker if it fails to reach the store, or if it has not
        answered at its deadline (one ``toolwise-store-watch`` thread keeps every deadline, so
        a frozen store's backlog of calls is each given up on in time; one still queued then
        never runs). One hand-off fewer than waiting in a thread of one's own for
        :meth:`call`.

        Raises:
            StoreUnavailableError: the store is unhealthy (at once), or the call failed to
                reach it within ``wait``.
            Exception: anything else ``function`` raised within ``wait``, unchanged.
        """
        workers = self._workers
        if workers.inside() or wait >= timeout:
            return self.call(function, timeout)
        breaker = self.breaker
        if not breaker.healthy:
            raise StoreUnavailableError(_unavailable(breaker.health))
        deadline = time.monotonic() + timeout
        running = workers.submit(function)
        try:
            return workers.wait(running, wait, give_up=False)
        except DeadlineExceededError:
            running.add_done_callback(self._failed_late)
            self._alarms.at(deadline, lambda: self._overdue(running, timeout))
            return running
        except Exception as exc:
            if not is_outage(exc):
                raise
            raise self._outage(exc) from exc

    def _overdue(self, running: Future[Any], timeout: float) -> None:
        """At a watched call's deadline: unanswered, it opens the breaker (and, still
        queued, never runs: as with :meth:`call`)."""
        if running.done():
            return
        running.cancel()
        self.breaker.trip(f"DeadlineExceededError: no answer within {timeout:g} s")

    def _failed_late(self, done: Future[Any]) -> None:
        """A watched call that could not reach the store opens the breaker: nobody waits for
        its error, the breaker is what counts."""
        if done.cancelled():
            return
        error = done.exception()
        if isinstance(error, Exception) and is_outage(error):
            self._outage(error)

    def _outage(self, exc: Exception) -> StoreUnavailableError:
        """``exc``, which means the store could not be reached, opens the breaker; the error
        a caller gets for it."""
        reason = f"{type(exc).__name__}: {exc}"
        self.breaker.trip(reason)
        return StoreUnavailableError(f"the outcome store did not answer ({reason})")

    def _patiently(self, future: Future[T]) -> T:
        """Wait ``read`` seconds, then more while a heartbeat still answers, to ``max_read``."""
        timeouts, waited = self.timeouts, 0.0
        while True:
            step = min(timeouts.read, timeouts.max_read - waited)
            try:
                return self._workers.wait(future, step, give_up=False)
            except DeadlineExceededError:
                waited += step
                if waited >= timeouts.max_read or not self._answers():
                    future.cancel()
                    raise DeadlineExceededError(f"no answer within {waited:g} s") from None

    def _answers(self) -> bool:
        """Whether the store answers a heartbeat within ``timeouts.connect``."""
        try:
            self._workers.run(self._probe, self.timeouts.connect)
        except Exception:
            return False
        return True

    def close(self) -> None:
        self.breaker.close()

    def after_fork(self) -> None:
        """In a forked child: new workers (threads do not survive a fork), a closed breaker."""
        self._workers = Workers()
        self._alarms = Alarms(name="toolwise-store-watch")
        self.breaker.after_fork()


def _unavailable(health: StoreHealth) -> str:
    since = health.since.isoformat(timespec="seconds")
    return f"the outcome store is unavailable since {since} ({health.last_error}); retrying"


def _through(guard: StoreGuard, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with each call run by ``guard``."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        return guard.call(lambda: method(*args, **kwargs))

    return guarded


class _Guarded:
    """A Chroma object whose methods named in ``_CALLS`` go through a :class:`StoreGuard`;
    other attributes (name, id, metadata: local, no round trip) pass through."""

    _CALLS: frozenset[str] = frozenset()

    def __init__(self, wrapped: Any, guard: StoreGuard) -> None:
        self._wrapped = wrapped
        self._guard = guard

    @property
    def unguarded(self) -> Any:
        return self._wrapped

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._wrapped, name)
        return _through(self._guard, attribute) if name in self._CALLS else attribute


class GuardedCollection(_Guarded):
    """A Chroma collection whose round trips go through a :class:`StoreGuard`."""

    _CALLS = _COLLECTION_CALLS


class GuardedClient(_Guarded):
    """A Chroma client whose round trips go through a :class:`StoreGuard`.

    Collections it returns are :class:`GuardedCollection` too.
    """

    _CALLS = _CLIENT_CALLS

    def __getattr__(self, name: str) -> Any:
        if name not in _COLLECTION_RETURNING:
            return super().__getattr__(name)
        opened = _through(self._guard, getattr(self._wrapped, name))
        return lambda *args, **kwargs: GuardedCollection(opened(*args, **kwargs), self._guard)
