"""Busy is not stuck: a store whose heartbeat answers is stuck only when several calls are
late and it has answered none of its calls for ``stall`` seconds (a clock the test turns)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from toolwise.storage.health import StoreTimeouts
from toolwise.storage.progress import Progress

STALL = 15.0


class Clock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def progress(clock: Clock) -> Progress:
    return Progress(STALL, failed_to_reach=_refused, clock=clock)


def _refused(done: Future[Any]) -> bool:
    return isinstance(done.exception(), ConnectionRefusedError)


def _late_calls(progress: Progress, n: int) -> list[Future[Any]]:
    """``n`` calls, watched, and late from now on (still unanswered)."""
    calls: list[Future[Any]] = [Future() for _ in range(n)]
    for call in calls:
        progress.watch(call)
        call.set_running_or_notify_cancel()
        progress.late(call)
    return calls


def _answered(progress: Progress) -> None:
    """Some other call the store answers."""
    call: Future[Any] = Future()
    progress.watch(call)
    call.set_result("page")


def test_several_late_calls_and_no_answer_for_the_stall_window_is_stuck(
    progress: Progress, clock: Clock
) -> None:
    started = clock.now
    _late_calls(progress, 2)
    clock.now += STALL - 0.1
    assert progress.stuck(started) == ""
    clock.now += 0.1
    assert "no call answered within 15 s while 2 were late" in progress.stuck(started)


def test_one_late_call_alone_is_never_stuck(progress: Progress, clock: Clock) -> None:
    """It may be the one big page or batch ``max_read`` is there for."""
    started = clock.now
    _late_calls(progress, 1)
    clock.now += 10 * STALL
    assert progress.stuck(started) == ""


def test_a_store_that_answers_other_calls_is_busy_not_stuck(
    progress: Progress, clock: Clock
) -> None:
    """Late calls outstanding for many stall windows, but the store keeps answering."""
    started = clock.now
    _late_calls(progress, 3)
    for _window in range(10):
        clock.now += STALL - 1
        _answered(progress)
        assert progress.stuck(started) == ""


def test_a_refused_or_cancelled_call_is_no_answer(progress: Progress, clock: Clock) -> None:
    """Only the store answering counts as progress, not a call that could not reach it."""
    started = clock.now
    _late_calls(progress, 2)
    clock.now += STALL
    refused: Future[Any] = Future()
    progress.watch(refused)
    refused.set_exception(ConnectionRefusedError(111, "refused"))
    dropped: Future[Any] = Future()
    progress.watch(dropped)
    dropped.cancel()
    assert progress.stuck(started) != ""


def test_late_calls_that_were_answered_no_longer_count(progress: Progress, clock: Clock) -> None:
    started = clock.now
    first, _second = _late_calls(progress, 2)
    first.set_result("page")  # answered: progress, and no longer late
    clock.now += 2 * STALL
    assert progress.stuck(started) == ""


def test_once_stuck_only_an_answered_call_or_no_late_call_left_unsticks_it(
    progress: Progress, clock: Clock
) -> None:
    """A heartbeat is no evidence (the store answered heartbeats all along): the breaker's
    probe stays failed until the store answers a call, or no late call is left."""
    assert progress.unstuck() == ""  # never stuck
    first, second = _late_calls(progress, 2)
    clock.now += STALL
    progress.stick()
    clock.now += 1
    assert progress.unstuck().startswith("stuck: 2 late calls still unanswered")
    first.set_result("page")
    assert progress.unstuck() == ""
    progress.stick()
    clock.now += 1
    second.set_exception(ConnectionRefusedError(111, "refused"))  # ended, unanswered
    assert progress.unstuck() == ""


def test_the_stall_window_is_three_reads_capped_at_max_read() -> None:
    assert StoreTimeouts().stall == 15.0
    assert StoreTimeouts(read=1.0, max_read=2.0).stall == 2.0
