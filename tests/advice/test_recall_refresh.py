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
