"""The heartbeat that tells a busy store from a frozen one: shared, bounded, never queued
behind the store's own calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from toolwise.storage.deadline import Alarms
from toolwise.storage.heartbeat import Heartbeat


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event a stuck heartbeat waits on; set at teardown so no thread stays blocked."""
    event = threading.Event()
    yield event
    event.set()


def test_a_store_that_answers_is_alive() -> None:
    heartbeat = Heartbeat(lambda: None, timeout=5.0, alarms=Alarms())
    assert heartbeat.alive()


def test_a_store_that_refuses_the_heartbeat_is_not_alive() -> None:
    """A killed server: the connection is refused, so the answer is no at once."""

    def refused() -> None:
        raise ConnectionRefusedError(111, "refused")

    heartbeat = Heartbeat(refused, timeout=5.0, alarms=Alarms())
    assert not heartbeat.alive()


def test_a_store_that_never_answers_is_not_alive_and_later_heartbeats_are_never_sent(
    gate: threading.Event,
) -> None:
    """A frozen server: each question is answered no at its timeout; the one heartbeat
    stuck on the server keeps the only thread, and the next is dropped from the queue."""
    sent: list[int] = []

    def frozen() -> None:
        sent.append(1)
        gate.wait()

    heartbeat = Heartbeat(frozen, timeout=0.05, alarms=Alarms())
    assert not heartbeat.alive()
    assert not heartbeat.ask().result(timeout=5)
    gate.set()
    assert sent == [1]


def test_questions_asked_while_one_is_out_share_its_heartbeat(gate: threading.Event) -> None:
    """A burst of late calls costs the store one heartbeat."""
    sent: list[int] = []

    def slow_beat() -> None:
        sent.append(1)
        gate.wait()

    heartbeat = Heartbeat(slow_beat, timeout=30.0, alarms=Alarms())
    answers = [heartbeat.ask() for _ in range(5)]
    assert len({id(answer) for answer in answers}) == 1
    gate.set()
    assert answers[0].result(timeout=5)
    assert sent == [1]
