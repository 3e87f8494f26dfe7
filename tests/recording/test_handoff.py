"""The hand-off between tool calls and the spool: nothing stranded, order kept, drained on time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from toolwise.recording.handoff import Handoff

_PATIENCE = 10.0  # seconds a background drain may take on a loaded CI machine


def _eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + _PATIENCE
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


@pytest.fixture
def processed() -> list[int]:
    return []


@pytest.fixture
def handoff(processed: list[int]) -> Iterator[Handoff[int]]:
    queue: Handoff[int] = Handoff(processed.append, idle_after=0.01, max_delay=0.2)
    yield queue
    queue.close()


def test_put_only_queues_until_drained(processed: list[int]) -> None:
    """After the first put (processed by its caller, to measure what an item costs), a put
    does no processing itself: the caller's drain does it, in order."""
    queue: Handoff[int] = Handoff(processed.append, idle_after=60, max_delay=60)
    queue.put(-1)
    assert processed == [-1]
    for i in range(5):
        queue.put(i)
    assert processed == [-1]
    assert queue.queued == 5
    assert queue.drain() == 5
    assert processed == [-1, 0, 1, 2, 3, 4]
    assert queue.queued == 0
    queue.close()


def test_the_thread_drains_once_puts_pause(handoff: Handoff[int], processed: list[int]) -> None:
    """No flush needed: an idle pause lets the background thread process what waits."""
    for i in range(3):
        handoff.put(i)
    assert _eventually(lambda: processed == [0, 1, 2])
    assert handoff.queued == 0


def test_the_thread_wakes_again_after_sleeping(handoff: Handoff[int], processed: list[int]) -> None:
    """A put after the queue went quiet wakes the sleeping thread (no missed wake-up)."""
    handoff.put(1)
    assert _eventually(lambda: processed == [1])
    time.sleep(0.05)  # the thread is asleep with nothing to do
    handoff.put(2)
    assert _eventually(lambda: processed == [1, 2])


def test_a_long_burst_is_drained_within_max_delay(processed: list[int]) -> None:
    """Calls that never pause still get processed: the oldest waits at most ``max_delay``."""
    queue: Handoff[int] = Handoff(processed.append, idle_after=60, max_delay=0.05)
    stop = time.monotonic() + _PATIENCE
    i = 0
    while not processed and time.monotonic() < stop:
        queue.put(i)
        i += 1
        time.sleep(0.001)
    queue.close()
    assert processed[:1] == [0]
    assert processed == list(range(i))  # close drained the rest, in order


def test_high_water_triggers_a_drain(processed: list[int]) -> None:
    """Memory is bounded: reaching ``high_water`` waiting items wakes the thread at once."""
    queue: Handoff[int] = Handoff(processed.append, idle_after=60, max_delay=60, high_water=10)
    for i in range(11):  # the first is processed by its caller (it measures the cost)
        queue.put(i)
    assert _eventually(lambda: len(processed) == 11)
    queue.close()


def test_close_drains_and_later_puts_are_processed_by_the_caller(processed: list[int]) -> None:
    """Nothing is stranded: after close, a put is processed in the calling thread."""
    queue: Handoff[int] = Handoff(processed.append, idle_after=60, max_delay=60)
    queue.put(1)
    queue.close()
    assert processed == [1]
    queue.put(2)
    assert processed == [1, 2]


def test_a_failing_processor_is_logged_and_the_rest_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One bad item never blocks the queue behind it."""
    seen: list[int] = []

    def process(item: int) -> None:
        if item == 1:
            raise RuntimeError("boom")
        seen.append(item)

    queue: Handoff[int] = Handoff(process, idle_after=60, max_delay=60)
    for i in range(3):
        queue.put(i)
    queue.drain()
    queue.close()
    assert seen == [0, 2]
    assert "could not be processed" in caplog.text


def test_concurrent_puts_are_all_processed_once(processed: list[int]) -> None:
    """8 threads × 1,000 puts while the background thread drains: each item exactly once."""
    queue: Handoff[int] = Handoff(processed.append, idle_after=0.001, max_delay=0.01)

    def producer(base: int) -> None:
        for i in range(1_000):
            queue.put(base + i)

    threads = [threading.Thread(target=producer, args=(n * 1_000,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.close()
    assert sorted(processed) == list(range(8_000))


def test_memory_stays_bounded_when_the_thread_cannot_keep_up() -> None:
    """Past four times the high-water mark a put drains itself, waiting its turn behind the
    stuck background thread: the queue stops growing (back-pressure), and nothing is lost."""
    gate = threading.Event()
    seen: list[int] = []

    def process(item: int) -> None:
        if item == 0:
            gate.wait()  # the background thread is stuck on the first item
        seen.append(item)

    queue: Handoff[int] = Handoff(process, idle_after=0, max_delay=60, high_water=5)
    queue.put(-1)  # processed by the caller: it measures what an item costs
    queue.put(0)
    assert _eventually(lambda: queue.queued == 1 and not queue._items)  # the thread holds it
    producer = threading.Thread(target=lambda: [queue.put(i) for i in range(1, 50)])
    producer.start()
    assert _eventually(lambda: len(queue._items) == 20)
    time.sleep(0.05)
    assert producer.is_alive()  # held back at the limit, not queueing on
    assert len(queue._items) == 20
    gate.set()
    producer.join()
    queue.close()
    assert seen == list(range(-1, 50))


def test_a_backlog_slower_than_the_calls_never_waits_past_max_delay() -> None:
    """Records cost 4 ms to build, calls come every 1 ms, the thread is given no time (a
    simulated clock): once the oldest waiting call plus the backlog's cost would pass
    ``max_delay``, the calling thread processes the backlog, so no call waits unprocessed
    longer than ``max_delay`` plus one item's cost (what a SIGKILL could lose)."""
    now = [0.0]
    waited: list[float] = []
    helped_by_caller: list[bool] = []
    caller = threading.current_thread()

    def build_and_spool(queued_at: float) -> None:
        now[0] += 0.004
        waited.append(now[0] - queued_at)
        helped_by_caller.append(threading.current_thread() is caller)

    queue: Handoff[float] = Handoff(
        build_and_spool, idle_after=1e9, max_delay=1.0, clock=lambda: now[0]
    )
    for _ in range(3_000):
        now[0] += 0.001
        queue.put(now[0])
    assert queue.helped > 1
    assert max(waited) <= 1.0 + 0.004 + 1e-9
    queue.close()
    assert len(waited) == 3_000
    assert any(helped_by_caller)
