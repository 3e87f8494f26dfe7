"""Every Chroma round trip under a deadline and the circuit breaker.

:class:`StoreGuard` runs each call in a daemon worker and waits at most its timeout; a call
that cannot reach the server, or times out while the server answers no heartbeat either,
opens the :class:`~toolwise.storage.health.Breaker`, and while it is open calls raise
:class:`~toolwise.errors.StoreUnavailableError` at once. A call that times out on a server
that still answers is slow, not down: counted, and the breaker stays closed.
:class:`GuardedClient` and :class:`GuardedCollection` wrap a Chroma client and its collections
so that code written against Chroma's API (the outcome store, the failure index, the knowledge
store) gets both without a change: each method that talks to Chroma goes through the guard.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar, cast

from toolwise.errors import StoreUnavailableError
from toolwise.storage.deadline import Alarms, DeadlineExceededError, Workers
from toolwise.storage.health import Breaker, StoreHealth, StoreTimeouts
from toolwise.storage.heartbeat import Heartbeat
from toolwise.storage.progress import Progress

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

    A call past its deadline is *late*, not failed: the store may be busy (a ``chroma run``
    server indexing a burst under 32 clients missed recall's 0.5 s deadline 14 times in one
    benchmark run) or frozen. A :class:`~toolwise.storage.heartbeat.Heartbeat` tells them
    apart: the breaker opens when the store answers no heartbeat within ``timeouts.connect``
    either, when a call cannot reach it, when a call is still unanswered after
    ``timeouts.max_read``, or when the store is stuck: several calls late and none of its
    calls answered for ``timeouts.stall`` although heartbeats answer
    (:class:`~toolwise.storage.progress.Progress`; the breaker then stays open until it
    answers a call, not merely a heartbeat). A late call on a store that answers is counted
    (:attr:`StoreHealth.slow_calls`) and opens nothing.

    Args:
        timeouts: the deadlines (:class:`StoreTimeouts`).
        probe: one health check; the guard runs it under ``timeouts.connect + read``, and as
            a heartbeat under ``timeouts.connect``.

    Thread-safe.
    """

    def __init__(self, timeouts: StoreTimeouts, probe: Callable[[], object]) -> None:
        self.timeouts = timeouts
        self._probe = probe
        self._workers = Workers()
        self._alarms = Alarms(name="toolwise-store-watch")
        self._heartbeat = Heartbeat(probe, timeouts.connect, self._alarms)
        self._progress = Progress(timeouts.stall, _failed_to_reach)
        self.breaker = Breaker(self._bounded_probe, probe_interval=timeouts.probe_interval)

    @property
    def health(self) -> StoreHealth:
        return self.breaker.health

    def _bounded_probe(self) -> None:
        # connect + read: before the first connection a probe also makes the client, whose
        # constructor makes a few requests of its own (0.3-1.3 s measured, idle to loaded).
        self._workers.run(self._probe, self.timeouts.connect + self.timeouts.read)
        stuck = self._progress.unstuck()
        if stuck:
            raise StoreUnavailableError(stuck)

    def call(self, function: Callable[[], T], timeout: float | None = None) -> T:
        """``function()``, waited for ``timeout`` seconds, or by default ``timeouts.read`` and
        then more while the store still answers a heartbeat, to ``timeouts.max_read``: a busy
        store (a large page, a large batch, a loaded machine) gets the time, a frozen one
        does not.

        Past ``timeout`` the caller stops waiting and the call goes on in its worker (its
        result lands on the error's :attr:`DeadlineExceededError.running`), watched: it
        opens the breaker only if the store answers no heartbeat either, the call fails to
        reach the store, it is still unanswered ``max_read`` after it started, or the store
        is stuck (``timeouts.stall``).

        Raises:
            StoreUnavailableError: the store is unhealthy (at once), this call could not reach
                it (which makes the store unhealthy), or it did not answer in time.
            Exception: anything else ``function`` raised, unchanged (a refusal, not an outage).
        """
        workers = self._workers
        if workers.inside():  # an outer guarded call's deadline covers this one
            return function()
        self._fail_fast()
        started = time.monotonic()
        running = workers.submit(function)
        self._progress.watch(running)
        try:
            if timeout is None:
                return self._patiently(running, started)
            return workers.wait(running, timeout)
        except DeadlineExceededError as missed:
            if timeout is None or not _is_miss_of(missed, running):
                raise self._outage(missed) from missed
            self._late(running, timeout, started)
            raise StoreUnavailableError(
                f"the outcome store did not answer ({_reason(missed)})"
            ) from missed
        except Exception as exc:
            if not is_outage(exc):
                raise
            raise self._outage(exc) from exc

    def call_within(
        self, function: Callable[[], T], *, wait: float, timeout: float
    ) -> T | Future[T]:
        """:meth:`call` with ``timeout`` for a caller that waits at most ``wait`` seconds: past
        it, the future the call's result will land on (the call still runs in its worker).

        Missing ``wait`` is nothing; missing ``timeout`` is what a late call is to
        :meth:`call`. From ``wait`` on the call is watched: it opens the breaker if it fails
        to reach the store; at ``timeout`` (one ``toolwise-store-watch`` thread keeps every
        deadline) a call still queued is dropped (never runs), and the store is asked for a
        heartbeat as :meth:`call` asks. One hand-off fewer than waiting in a thread of one's
        own for :meth:`call`.

        Raises:
            StoreUnavailableError: the store is unhealthy (at once), or the call failed to
                reach it within ``wait``.
            Exception: anything else ``function`` raised within ``wait``, unchanged.
        """
        workers = self._workers
        if workers.inside() or wait >= timeout:
            return self.call(function, timeout)
        self._fail_fast()
        started = time.monotonic()
        running = workers.submit(function)
        self._progress.watch(running)
        try:
            return workers.wait(running, wait, give_up=False)
        except DeadlineExceededError as missed:
            if not _is_miss_of(missed, running):
                raise self._outage(missed) from missed
            running.add_done_callback(self._failed_late)
            self._alarms.at(started + timeout, lambda: self._overdue(running, timeout, started))
            return running
        except Exception as exc:
            if not is_outage(exc):
                raise
            raise self._outage(exc) from exc

    def _fail_fast(self) -> None:
        breaker = self.breaker
        if not breaker.healthy:
            raise StoreUnavailableError(_unavailable(breaker.health))

    def _overdue(self, running: Future[Any], timeout: float, started: float) -> None:
        """At a watched call's deadline: one still queued is dropped (never runs); one still
        running is late (:meth:`_suspect`)."""
        if running.done():
            return
        running.cancel()  # only a queued call can be
        self._suspect(running, timeout, started)

    def _late(self, running: Future[Any], waited: float, started: float) -> None:
        """``running`` missed its caller's deadline (``waited`` s): watched from now on."""
        if not running.cancelled():
            running.add_done_callback(self._failed_late)
        self._suspect(running, waited, started)

    def _suspect(self, running: Future[Any], waited: float, started: float) -> None:
        """A late call: ask the store for a heartbeat and judge by it (:meth:`_judge`)."""
        alive = self._heartbeat.ask()
        alive.add_done_callback(lambda beat: self._judge(running, waited, started, beat))

    def _judge(
        self,
        running: Future[Any],
        waited: float,
        started: float,
        beat: Future[bool],
        *,
        counted: bool = False,
    ) -> None:
        """A late call is slow if it answered, or its store answered ``beat``: counted once
        (``counted``), and one still running is asked about again every ``read``. Otherwise
        the store is down: the breaker opens, and a call still queued never runs."""
        timeouts = self.timeouts
        if running.done() and not running.cancelled():
            if not counted and not _failed_to_reach(running):
                self.breaker.slow()  # it answered: late, but the store was there
            return
        if not beat.result():
            running.cancel()
            self.breaker.trip(
                f"DeadlineExceededError: no answer within {waited:g} s, nor to a heartbeat "
                f"within {timeouts.connect:g} s"
            )
            return
        if not counted:
            self.breaker.slow()
        if running.cancelled():  # dropped from the queue: nothing runs to watch
            return
        self._progress.late(running)
        hang = started + timeouts.max_read
        again = min(time.monotonic() + timeouts.read, hang)
        self._alarms.at(again, lambda: self._again(running, started))

    def _again(self, running: Future[Any], started: float) -> None:
        """A late call of a store that answered heartbeats, ``read`` s on: answered, past
        ``max_read`` or stuck (the breaker opens: alive, but not answering), or asked about
        again."""
        if running.done():
            return
        max_read = self.timeouts.max_read
        waited = round(time.monotonic() - started, 1)
        if waited >= max_read:
            self.breaker.trip(f"DeadlineExceededError: no answer within {max_read:g} s")
            return
        stuck = self._progress.stuck(started)
        if stuck:
            self._stuck(stuck)
            return
        alive = self._heartbeat.ask()
        alive.add_done_callback(
            lambda beat: self._judge(running, waited, started, beat, counted=True)
        )

    def _failed_late(self, done: Future[Any]) -> None:
        """A watched call that could not reach the store opens the breaker: nobody waits for
        its error, the breaker is what counts."""
        if not done.cancelled() and _failed_to_reach(done):
            self._outage(cast(Exception, done.exception()))

    def _outage(self, exc: Exception) -> StoreUnavailableError:
        """``exc``, which means the store could not be reached, opens the breaker; the error
        a caller gets for it."""
        reason = _reason(exc)
        self.breaker.trip(reason)
        return StoreUnavailableError(f"the outcome store did not answer ({reason})")

    def _patiently(self, future: Future[T], started: float) -> T:
        """Wait ``read`` seconds, then more while a heartbeat still answers and the store is
        not stuck, to ``max_read``."""
        timeouts, waited, counted = self.timeouts, 0.0, False
        while True:
            step = min(timeouts.read, timeouts.max_read - waited)
            try:
                return self._workers.wait(future, step, give_up=False)
            except DeadlineExceededError as missed:
                if not _is_miss_of(missed, future):
                    raise  # the call's own error
            waited += step
            if waited >= timeouts.max_read or not self._heartbeat.alive():
                future.cancel()
                raise DeadlineExceededError(f"no answer within {waited:g} s")
            if not counted:
                self.breaker.slow()  # busy: counted once, given more time
                self._progress.late(future)
                counted = True
            stuck = self._progress.stuck(started)
            if stuck:
                future.cancel()
                self._stuck(stuck)
                raise StoreUnavailableError(f"the outcome store did not answer ({stuck})")

    def _stuck(self, reason: str) -> None:
        """The store answers heartbeats but none of its calls: open the breaker, and keep it
        open until the store answers a call (:meth:`Progress.unstuck`)."""
        self._progress.stick()
        self.breaker.trip(reason)

    def close(self) -> None:
        self.breaker.close()

    def after_fork(self) -> None:
        """In a forked child: new workers (threads do not survive a fork), a closed breaker."""
        self._workers = Workers()
        self._alarms = Alarms(name="toolwise-store-watch")
        self._heartbeat = Heartbeat(self._probe, self.timeouts.connect, self._alarms)
        self._progress = Progress(self.timeouts.stall, _failed_to_reach)
        self.breaker.after_fork()


def _is_miss_of(missed: DeadlineExceededError, running: Future[Any]) -> bool:
    """Whether ``missed`` is the caller's deadline passing on ``running`` (not an error the
    call itself raised): it names ``running``, or nothing once ``running`` was dropped."""
    return missed.running is running or (missed.running is None and running.cancelled())


def _failed_to_reach(done: Future[Any]) -> bool:
    """Whether the finished call ``done`` raised an outage (it did not reach the store)."""
    error = done.exception()
    return isinstance(error, Exception) and is_outage(error)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


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
