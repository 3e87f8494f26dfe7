"""Background refreshes: one named daemon thread runs them in order, and a failure stops none."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from toolwise.advice.recall_refresh import RecallRefresher

Eventually = Callable[..., bool]


def test_queued_refreshes_run_in_order_in_one_background_thread(eventually: Eventually) -> None:
    refresher, gate = RecallRefresher(), threading.Event()
    ran: list[tuple[int, threading.Thread]] = []

    def refresh(n: int) -> Callable[[], None]:
        def run() -> None:
            gate.wait(timeout=30)
            ran.append((n, threading.current_thread()))

        return run

    for n in range(3):
        refresher.submit(refresh(n))
    gate.set()
    assert eventually(lambda: len(ran) == 3)
    assert [n for n, _ in ran] == [0, 1, 2]
    (thread,) = {thread for _, thread in ran}
    assert thread.name == "toolwise-recall-refresh"
    assert thread.daemon


def test_a_failing_refresh_is_logged_and_the_next_one_runs(
    eventually: Eventually, caplog: pytest.LogCaptureFixture
) -> None:
    refresher, ran = RecallRefresher(), threading.Event()

    def broken() -> None:
        raise ConnectionError("reset by peer")

    refresher.submit(broken)
    refresher.submit(ran.set)
    assert ran.wait(timeout=30)
    assert eventually(lambda: "reset by peer" in caplog.text)


class _HoldsTheIdleThread:
    """The refresher's lock, holding its thread just after it found the queue empty (the
    moment it goes idle) until ``go`` is set."""

    def __init__(self, refresher: RecallRefresher) -> None:
        self._refresher, self._lock = refresher, threading.Lock()
        self.idle, self.go = threading.Event(), threading.Event()
        self._empty = False

    def __enter__(self) -> None:
        self._lock.acquire()
        self._empty = not self._refresher._queue

    def __exit__(self, *_: object) -> None:
        empty, self._empty = self._empty, False
        self._lock.release()
        refreshing = threading.current_thread().name == "toolwise-recall-refresh"
        if refreshing and empty and not self.idle.is_set():
            self.idle.set()
            self.go.wait(timeout=30)


def test_a_refresh_queued_as_the_thread_goes_idle_still_runs() -> None:
    """Else it would sit in the queue, and briefs that join its question's flight would wait
    for an answer that never lands."""
    refresher, ran = RecallRefresher(), threading.Event()
    held = _HoldsTheIdleThread(refresher)
    refresher._lock = held  # type: ignore[assignment]
    refresher.submit(lambda: None)
    assert held.idle.wait(timeout=30)
    refresher.submit(ran.set)
    held.go.set()
    assert ran.wait(timeout=30)


def test_a_thread_that_cannot_start_leaves_the_refresh_to_the_caller(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, eventually: Eventually
) -> None:
    """A process out of threads: the brief that asked is not failed, and its refresh runs in
    its own thread rather than waiting in the queue for a submit that may never come."""
    refresher, ran = RecallRefresher(), threading.Event()
    start = threading.Thread.start

    def refuse(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    refresher.submit(ran.set)
    assert ran.is_set()
    assert "can't start new thread" in caplog.text
    monkeypatch.setattr(threading.Thread, "start", start)
    refresher.submit(ran.clear)  # threads again: the next refresh starts one
    assert eventually(lambda: not ran.is_set())
