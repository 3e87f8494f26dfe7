"""Deadlines and the circuit breaker, piece by piece: workers, the breaker, the guard."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from toolwise.errors import InvalidArgumentError, StoreUnavailableError
from toolwise.storage.deadline import Alarms, DeadlineExceededError, Workers, overdue
from toolwise.storage.guard import StoreGuard, is_outage
from toolwise.storage.health import Breaker, StoreHealth, StoreTimeouts

FAST = StoreTimeouts(connect=0.2, read=0.2, max_read=30, recall=0.2, probe_interval=0.05)


@pytest.fixture
def gate() -> Any:
    """An event a blocked call waits on; set at teardown so no worker stays blocked."""
    event = threading.Event()
    yield event
    event.set()


def test_a_call_within_its_deadline_returns_its_result() -> None:
    """The caller gets the value, or the exception, the call produced."""
    workers = Workers()
    assert workers.run(lambda: 42, timeout=5) == 42
    with pytest.raises(KeyError):
        workers.run(lambda: {}["missing"], timeout=5)


def test_a_call_past_its_deadline_raises_and_keeps_running(gate: threading.Event) -> None:
    """The caller stops waiting; the call itself finishes later, unwatched."""
    workers = Workers()
    finished = threading.Event()

    def slow() -> None:
        gate.wait()
        finished.set()

    with pytest.raises(DeadlineExceededError):
        workers.run(slow, timeout=0.05)
    gate.set()
    assert finished.wait(5)


def test_a_call_still_queued_at_its_deadline_never_runs(gate: threading.Event) -> None:
    """With every worker busy, a call that waited in the queue past its deadline is dropped."""
    workers = Workers(limit=1)
    ran = threading.Event()
    with pytest.raises(DeadlineExceededError):
        workers.run(gate.wait, timeout=0.05)  # occupies the only worker
    with pytest.raises(DeadlineExceededError):
        workers.run(ran.set, timeout=0.05)
    gate.set()
    assert workers.run(lambda: "free again", timeout=5) == "free again"
    assert not ran.is_set()


def test_calls_made_inside_a_worker_run_inline() -> None:
    """A guarded call within a guarded call is covered by the outer deadline."""
    workers = Workers(limit=1)
    assert workers.run(lambda: workers.run(lambda: "inner", timeout=5), timeout=5) == "inner"


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError("slow"), True),
        (DeadlineExceededError("no answer"), True),
        (httpx.ReadTimeout("read"), True),
        (ValueError("Expected a name of 3-512 characters"), False),
        (KeyError("record"), False),
    ],
)
def test_outages_are_told_from_refusals(error: Exception, outage: bool) -> None:
    """Only unreachable or silent stores count as outages; a refused call does not."""
    assert is_outage(error) is outage


def test_an_outage_hidden_in_the_exception_chain_counts() -> None:
    """Chroma re-raises a refused connection as ValueError("Could not connect ...")."""

    def connect() -> None:
        try:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        except httpx.ConnectError:
            raise ValueError("Could not connect to a Chroma server")  # noqa: B904 - as Chroma

    with pytest.raises(ValueError, match="Could not connect") as info:
        connect()
    assert is_outage(info.value)


def test_the_breaker_opens_on_a_trip_and_closes_once_a_probe_succeeds(
    eventually: Callable[..., bool],
) -> None:
    """Unhealthy from the trip, with the error and the time; healthy after a good probe."""
    answers = threading.Event()

    def probe() -> None:
        if not answers.is_set():
            raise ConnectionError("still down")

    changes: list[StoreHealth] = []
    breaker = Breaker(probe, probe_interval=0.01)
    breaker.on_change(changes.append)
    before = datetime.now(UTC)
    breaker.trip("ConnectError: refused")
    health = breaker.health
    assert (health.healthy, health.state) == (False, "unhealthy")
    assert health.since >= before
    assert eventually(lambda: breaker.health.last_error == "ConnectionError: still down")
    answers.set()
    assert eventually(lambda: breaker.healthy)
    assert [h.healthy for h in changes] == [False, True]
    breaker.close()


def test_while_unhealthy_the_guard_fails_at_once_without_calling(gate: threading.Event) -> None:
    """No network wait while the store is known to be down: the call never starts."""
    guard = StoreGuard(FAST, probe=gate.wait)  # the probe never succeeds
    with pytest.raises(StoreUnavailableError, match="did not answer"):
        guard.call(gate.wait)  # times out: the store turns unhealthy
    started = threading.Event()
    with pytest.raises(StoreUnavailableError, match="unavailable since"):
        guard.call(started.set)
    assert not started.is_set()
    assert not guard.health.healthy
    guard.close()


def test_a_busy_store_that_still_answers_heartbeats_gets_more_time(
    gate: threading.Event,
) -> None:
    """Past ``read``, a call goes on while the store answers heartbeats (a big page on a
    loaded machine), and its answer arrives."""
    guard = StoreGuard(FAST, probe=lambda: None)  # heartbeats answer

    def busy() -> str:
        gate.wait(10 * FAST.read)
        return "page"

    threading.Timer(4 * FAST.read, gate.set).start()
    assert guard.call(busy) == "page"
    assert guard.health.healthy


def test_a_call_to_a_store_that_answers_no_heartbeat_is_given_up(gate: threading.Event) -> None:
    """Past ``read`` with no heartbeat either: frozen, so the store turns unhealthy."""
    guard = StoreGuard(FAST, probe=gate.wait)  # heartbeats hang too
    with pytest.raises(StoreUnavailableError, match="did not answer"):
        guard.call(gate.wait)
    assert not guard.health.healthy
    guard.close()


def test_an_explicit_timeout_is_kept_even_while_heartbeats_answer(
    gate: threading.Event,
) -> None:
    """Recall's deadline is hard: a model turn never waits on a busy store past it."""
    guard = StoreGuard(FAST, probe=lambda: None)
    with pytest.raises(StoreUnavailableError):
        guard.call(gate.wait, timeout=0.05)


def _opened(guard: StoreGuard) -> list[StoreHealth]:
    """Every change of ``guard``'s breaker from now on, as its listeners see them."""
    changes: list[StoreHealth] = []
    guard.breaker.on_change(changes.append)
    return changes


def test_a_call_past_its_timeout_on_a_store_that_answers_heartbeats_is_slow_not_down(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """Busy, not frozen: the caller stops waiting, the call is counted slow, the breaker
    stays closed, and the call's answer still lands on the error's future."""
    guard = StoreGuard(FAST, probe=lambda: None)
    changes = _opened(guard)

    def busy() -> str:
        gate.wait()
        return "nearest failures"

    with pytest.raises(StoreUnavailableError, match=r"no answer within 0\.05 s") as raised:
        guard.call(busy, timeout=0.05)
    assert eventually(lambda: guard.health.slow_calls == 1)
    gate.set()
    missed = overdue(raised.value)
    assert missed is not None
    assert missed.running is not None
    assert missed.running.result(timeout=5) == "nearest failures"
    assert guard.health.healthy
    assert changes == []
    guard.close()


def test_a_watched_call_past_its_deadline_on_a_store_that_answers_is_slow_not_down(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """``call_within`` past both the wait and the store's deadline: counted slow, nothing
    opened, and the answer lands on the future handed back."""
    guard = StoreGuard(FAST, probe=lambda: None)
    changes = _opened(guard)

    def busy() -> str:
        gate.wait()
        return "nearest failures"

    pending = guard.call_within(busy, wait=0.01, timeout=0.05)
    assert isinstance(pending, Future)
    assert eventually(lambda: guard.health.slow_calls == 1)
    gate.set()
    assert pending.result(timeout=5) == "nearest failures"
    assert guard.health.healthy
    assert changes == []
    guard.close()


def test_a_call_past_its_timeout_on_a_store_that_answers_no_heartbeat_opens_the_breaker(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """Frozen: the heartbeat goes unanswered too, so the late call opens the breaker, and
    later calls fail at once."""
    guard = StoreGuard(FAST, probe=gate.wait)
    with pytest.raises(StoreUnavailableError):
        guard.call(gate.wait, timeout=0.05)
    assert eventually(lambda: not guard.health.healthy)
    assert "nor to a heartbeat" in guard.health.last_error
    assert guard.health.slow_calls == 0
    guard.close()


def test_a_late_call_still_unanswered_after_max_read_opens_the_breaker(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """A store that answers heartbeats but never this call: given up on at ``max_read``
    (its heartbeat then closes the breaker again at once)."""
    timeouts = StoreTimeouts(connect=0.2, read=0.05, max_read=0.2, probe_interval=0.05)
    guard = StoreGuard(timeouts, probe=lambda: None)
    changes = _opened(guard)
    with pytest.raises(StoreUnavailableError):
        guard.call(gate.wait, timeout=0.05)
    assert eventually(lambda: len(changes) == 2)
    assert [health.healthy for health in changes] == [False, True]
    assert "no answer within 0.2 s" in changes[0].last_error
    assert guard.health.slow_calls == 1  # slow first, then hung
    guard.close()


def test_a_store_that_answers_heartbeats_but_no_call_opens_the_breaker_before_max_read(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """Stuck, not busy: two calls late and none answered for ``stall`` (three ``read``),
    while every heartbeat answers, opens the breaker long before ``max_read``; its probe's
    heartbeat does not close it again until the store answers a call."""
    timeouts = StoreTimeouts(connect=0.2, read=0.05, max_read=600, probe_interval=0.05)
    guard = StoreGuard(timeouts, probe=lambda: None)  # heartbeats answer
    changes = _opened(guard)
    late = [guard.call_within(gate.wait, wait=0.01, timeout=0.05) for _call in range(2)]
    assert all(isinstance(call, Future) for call in late)
    assert eventually(lambda: not guard.health.healthy)
    assert eventually(lambda: len(changes) == 1)  # listeners hear of it just after
    assert "stuck: " in changes[0].last_error
    assert eventually(lambda: "still unanswered" in guard.health.last_error)  # probed
    assert not guard.health.healthy
    with pytest.raises(StoreUnavailableError, match="unavailable since"):
        guard.call(lambda: "not sent")
    gate.set()
    assert eventually(lambda: len(changes) == 2)
    assert [health.healthy for health in changes] == [False, True]
    guard.close()


def test_a_patient_call_on_a_stuck_store_is_given_up_before_max_read(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """A read waiting past ``read`` while another call is late and the store answers
    nothing: raised once the store is stuck, not at ``max_read``."""
    timeouts = StoreTimeouts(connect=0.2, read=0.05, max_read=60, probe_interval=0.05)
    guard = StoreGuard(timeouts, probe=lambda: None)
    assert isinstance(guard.call_within(gate.wait, wait=0.01, timeout=0.05), Future)
    with pytest.raises(StoreUnavailableError, match="stuck: no call answered"):
        guard.call(gate.wait)
    assert not guard.health.healthy
    guard.close()


def test_a_busy_store_with_every_worker_taken_still_gets_more_time(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """The heartbeat does not queue behind the store's own calls: with all eight workers
    on slow calls, a call past ``read`` is still given more time, not taken for frozen."""
    guard = StoreGuard(FAST, probe=lambda: None)
    changes = _opened(guard)
    for _worker in range(7):  # seven workers busy, the eighth runs the call below
        assert isinstance(guard.call_within(gate.wait, wait=0.01, timeout=30), Future)
    threading.Timer(4 * FAST.read, gate.set).start()
    assert guard.call(lambda: gate.wait(30) and "page") == "page"
    assert guard.health.healthy
    assert guard.health.slow_calls >= 1
    assert changes == []
    guard.close()


def test_a_refusal_passes_through_and_leaves_the_store_healthy() -> None:
    """Errors that are not outages reach the caller unchanged."""
    guard = StoreGuard(FAST, probe=lambda: None)
    with pytest.raises(KeyError):
        guard.call(lambda: {}["missing"])
    assert guard.health.healthy


def test_a_caller_that_stops_waiting_gets_the_future_and_the_store_stays_healthy(
    gate: threading.Event,
) -> None:
    """``call_within``: past the caller's ``wait`` (a brief's budget) the call runs on, its
    answer lands on the future handed back, and nothing is tripped."""
    guard = StoreGuard(FAST, probe=lambda: None)

    def busy() -> str:
        gate.wait(30)
        return "nearest failures"

    pending = guard.call_within(busy, wait=0.01, timeout=30)
    assert isinstance(pending, Future)
    assert guard.health.healthy
    gate.set()
    assert pending.result(timeout=5) == "nearest failures"
    assert guard.call_within(lambda: "at once", wait=5, timeout=30) == "at once"
    guard.close()


def test_a_call_given_up_on_that_misses_its_deadline_too_opens_the_breaker(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """The store's deadline still holds after the caller left: a frozen store is found
    out by the watch, and later calls fail at once."""
    guard = StoreGuard(FAST, probe=gate.wait)  # heartbeats hang too: frozen
    pending = guard.call_within(gate.wait, wait=0.01, timeout=0.1)
    assert isinstance(pending, Future)
    assert eventually(lambda: not guard.health.healthy)
    assert "no answer within 0.1 s" in (guard.health.last_error or "")
    with pytest.raises(StoreUnavailableError, match="unavailable since"):
        guard.call_within(lambda: "never asked", wait=0.01, timeout=0.1)
    guard.close()


def test_a_call_still_queued_at_the_deadline_is_dropped_by_the_watch(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """Every store worker stuck on a frozen store: a caller that gave up on a queued call
    gets its future, which is cancelled at the deadline instead of running later; the
    heartbeat fails too, so the breaker opens."""
    guard = StoreGuard(FAST, probe=gate.wait)
    for _worker in range(8):  # the guard's workers, each stuck on the frozen store
        assert isinstance(guard.call_within(gate.wait, wait=0.01, timeout=30), Future)
    queued = guard.call_within(lambda: "too late", wait=0.01, timeout=0.1)
    assert isinstance(queued, Future)
    assert eventually(queued.cancelled)
    assert eventually(lambda: not guard.health.healthy)
    guard.close()


def test_alarms_ring_in_deadline_order_from_one_thread(
    eventually: Callable[..., bool],
) -> None:
    """Deadlines set latest first still ring earliest first, each from the same thread,
    and one callback that raises does not silence the rest."""
    alarms = Alarms(name="test-alarms")
    rung: list[tuple[int, str]] = []
    now = time.monotonic()

    def ring(n: int) -> Callable[[], None]:
        def callback() -> None:
            rung.append((n, threading.current_thread().name))
            if n == 3:
                raise RuntimeError("a broken callback")

        return callback

    for n in reversed(range(10)):
        alarms.at(now + 0.02 * n, ring(n))

    assert eventually(lambda: len(rung) == 10)
    assert [n for n, _ in rung] == list(range(10))
    assert {name for _, name in rung} == {"test-alarms"}


def test_a_watched_call_that_fails_to_reach_the_store_opens_the_breaker(
    gate: threading.Event, eventually: Callable[..., bool]
) -> None:
    """The caller stopped waiting; the call's connection error, when it comes, still counts."""
    guard = StoreGuard(FAST, probe=gate.wait)  # once tripped, it stays open
    release = threading.Event()

    def refused_later() -> None:
        release.wait()
        raise ConnectionRefusedError(111, "refused")

    running = guard.call_within(refused_later, wait=0.01, timeout=30)
    assert isinstance(running, Future)
    assert guard.health.healthy
    release.set()

    assert eventually(lambda: not guard.health.healthy)
    assert "refused" in (guard.health.last_error or "")
    guard.close()


def test_within_the_wait_outages_trip_and_refusals_pass_through(gate: threading.Event) -> None:
    """What the call raises before the caller gives up is handled as :meth:`call` does."""
    guard = StoreGuard(FAST, probe=gate.wait)  # once tripped, it stays open
    with pytest.raises(KeyError):
        guard.call_within(lambda: {}["missing"], wait=5, timeout=30)
    assert guard.health.healthy

    def refused() -> None:
        raise ConnectionRefusedError(111, "refused")

    with pytest.raises(StoreUnavailableError, match="did not answer"):
        guard.call_within(refused, wait=5, timeout=30)
    assert not guard.health.healthy
    guard.close()


def test_max_read_may_not_be_shorter_than_read() -> None:
    """The patient wait starts after ``read``, so it cannot end before it."""
    with pytest.raises(InvalidArgumentError) as info:
        StoreTimeouts(read=10, max_read=5)
    assert info.value.field == "max_read"


@pytest.mark.parametrize("field", ["connect", "read", "max_read", "recall", "probe_interval"])
def test_timeouts_must_be_positive_and_finite(field: str) -> None:
    """A zero, negative or infinite timeout is refused, naming the field."""
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(InvalidArgumentError) as info:
            StoreTimeouts(**{field: bad})
        assert info.value.field == field
