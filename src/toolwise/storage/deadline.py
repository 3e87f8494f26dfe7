"""Run a blocking call with a deadline: the caller stops waiting, the call finishes unwatched.

Neither embedded Chroma nor its HTTP client can be interrupted mid-call, so a deadline can only
be kept by running the call elsewhere. :class:`Workers` are daemon threads (a call stuck on a
frozen server must not keep the interpreter from exiting, which the standard library's
``ThreadPoolExecutor`` would); a call that timed out keeps its worker until it returns (its
result still lands on the error's :attr:`~DeadlineExceededError.running` future, for a caller
that can use it late), and a call still queued when its caller gave up never runs.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

__all__ = ["Alarms", "DeadlineExceededError", "Workers", "overdue"]

log = logging.getLogger("toolwise.store")

T = TypeVar("T")

_IDLE_RETIRE = 60.0  # a worker idle this long ends; the next call starts one (~100 µs)


class DeadlineExceededError(TimeoutError):
    """The call did not return in time (it may still be running in its worker).

    Attributes:
        running: the call's future while it still runs unwatched (its result or exception
            lands there), ``None`` when it never started (cancelled in the queue).
        timeout: the seconds the caller waited.
    """

    def __init__(
        self, message: str, *, running: Future[Any] | None = None, timeout: float = 0.0
    ) -> None:
        super().__init__(message)
        self.running = running
        self.timeout = timeout


def overdue(error: BaseException) -> DeadlineExceededError | None:
    """The deadline ``error`` was raised for (itself or in its chain) whose call still runs;
    ``None`` if none (a refusal, a queued call never started)."""
    seen: BaseException | None = error
    for _depth in range(8):
        if seen is None:
            return None
        if (
            isinstance(seen, DeadlineExceededError)
            and seen.running is not None
            and not seen.running.cancelled()
        ):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class Workers:
    """Daemon threads that run calls for callers who will wait only so long.

    Args:
        limit: at most this many threads; calls beyond wait in a queue (within their deadline).
        name: thread name prefix.

    Thread-safe. A call made from one of these threads runs inline (:meth:`inside`): the outer
    call's deadline already covers it.
    """

    def __init__(self, limit: int = 8, name: str = "toolwise-store") -> None:
        self._limit = limit
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Future[object], Callable[[], object]]] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._local = threading.local()

    def inside(self) -> bool:
        """True in one of this pool's threads."""
        return getattr(self._local, "worker", False)

    def run(self, call: Callable[[], T], timeout: float) -> T:
        """``call()``'s result, or :class:`DeadlineExceededError` after ``timeout`` seconds.

        Exceptions of ``call`` are re-raised here, unchanged.
        """
        if self.inside():
            return call()
        return self.wait(self.submit(call), timeout)

    def submit(self, call: Callable[[], T]) -> Future[T]:
        """Queue ``call``; its future (see :meth:`wait`)."""
        future: Future[T] = Future()
        self._queue.put((future, call))  # type: ignore[arg-type]
        with self._lock:
            if self._idle == 0 and self._threads < self._limit:
                self._threads += 1
                self._idle += 1  # counted at once, so the next call does not start another
                threading.Thread(
                    target=self._work, name=f"{self._name}-{self._threads}", daemon=True
                ).start()
        return future

    @staticmethod
    def wait(future: Future[T], timeout: float, *, give_up: bool = True) -> T:
        """``future``'s result within ``timeout`` s, else :class:`DeadlineExceededError`.

        ``give_up``: on timeout, cancel a call still queued (a running one finishes
        unwatched); False to wait for it again.
        """
        try:
            return future.result(timeout)
        except FutureTimeout:
            if give_up:
                future.cancel()
            running = None if future.cancelled() else future
            raise DeadlineExceededError(
                f"no answer within {timeout:g} s", running=running, timeout=timeout
            ) from None

    def _work(self) -> None:
        self._local.worker = True
        while True:
            try:
                future, call = self._queue.get(timeout=_IDLE_RETIRE)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():  # checked under the lock run() starts threads with
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
            if future.set_running_or_notify_cancel():
                try:
                    result = call()
                except BaseException as exc:  # handed to the caller, whatever it is
                    future.set_exception(exc)
                else:
                    future.set_result(result)
                del future, call  # release results while idle
            with self._lock:
                self._idle += 1


class Alarms:
    """Runs each callback at its deadline, all from one daemon thread.

    For deadlines many callers may be waiting out at once (a frozen store, every call
    past its caller's wait): a thread blocked per deadline would need as many threads, and a
    bounded pool of them would keep the deadlines queued behind the first ones late.

    Args:
        name: the thread's name; it starts with the first alarm and ends when none is left.

    Thread-safe. A callback that raises is logged; the others still run.
    """

    def __init__(self, name: str = "toolwise-alarms") -> None:
        self._name = name
        self._due: list[tuple[float, int, Callable[[], object]]] = []
        self._order = itertools.count()  # equal deadlines run in the order they were set
        self._changed = threading.Condition()
        self._running = False

    def at(self, deadline: float, callback: Callable[[], object]) -> None:
        """Run ``callback`` at ``deadline`` (``time.monotonic()`` seconds), or at once if past."""
        with self._changed:
            heapq.heappush(self._due, (deadline, next(self._order), callback))
            self._changed.notify()
            if not self._running:
                self._running = True
                threading.Thread(target=self._ring, name=self._name, daemon=True).start()

    def _ring(self) -> None:
        while True:
            with self._changed:
                while True:
                    if not self._due:
                        self._running = False
                        return
                    delay = self._due[0][0] - time.monotonic()
                    if delay <= 0:
                        callback = heapq.heappop(self._due)[2]
                        break
                    self._changed.wait(delay)
            try:
                callback()
            except Exception:  # one alarm's failure must not silence the others
                log.exception("toolwise: a deadline's callback failed")
