"""The inbox: this process's records reach the view on the next read, each once
(``learning/inbox.py``)."""

from __future__ import annotations

import pytest

from toolwise import Toolwise
from toolwise.learning import inbox


def _observations(tw: Toolwise, tool: str = "kubectl_apply") -> float:
    return sum(p.observations for p in tw.priors(tool=tool, task_type="deploy"))


def test_an_observation_read_back_from_the_store_is_not_learnt_again(tw: Toolwise) -> None:
    """``observe`` learns at once; the stored record, met again, is known by its id."""
    tw.observe("kubectl_apply", True, task_type="deploy")
    assert _observations(tw) == 1
    assert tw.flush(timeout=30)
    tw.runtime.feed.refresh()
    assert _observations(tw) == 1


def test_records_before_and_after_the_build_are_each_learnt_once(tw: Toolwise) -> None:
    """A record made before the first read comes from the store, a later one from the queue."""
    tw.record(tool="kubectl_apply", outcome="success", task_type="deploy")
    assert not tw.runtime.feed.ready
    assert _observations(tw) == 1
    tw.record(tool="kubectl_apply", outcome="failure", task_type="deploy")
    assert _observations(tw) == 2
    assert tw.runtime.feed.refresh() == 0  # the store holds nothing the view lacks
    assert _observations(tw) == 2


def test_a_queue_nobody_reads_is_learnt_in_the_background(
    tw: Toolwise, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the bound, recording returns at once (an HTTP server's event loop records) and a
    background thread learns the queue."""
    monkeypatch.setattr(inbox, "_MAX_QUEUED", 3)
    feed = tw.runtime.feed
    assert _observations(tw) == 0  # builds the view: records are queued from now on
    with feed._drain_lock:  # a drain inline would wait here, and so would the test
        for _ in range(5):
            tw.record(tool="kubectl_apply", outcome="success", task_type="deploy")
        assert len(feed._queued) == 5
    background = feed._background
    assert background is not None
    background.join(timeout=60)
    assert len(feed._queued) == 0
    assert _observations(tw) == 5


def test_the_tail_learns_a_long_queue_in_pauses_each_record_once(
    tw: Toolwise, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tail's look learns the queue a chunk at a time, letting the drain lock go in
    between; every record is learnt once, and none is read back from the store."""
    monkeypatch.setattr(inbox, "_CHUNK", 4)
    feed = tw.runtime.feed
    assert _observations(tw) == 0  # builds the view: records are queued from now on
    for n in range(11):
        tw.record(
            tool="kubectl_apply", outcome="success" if n % 2 else "failure", task_type="deploy"
        )
    chunks_locked: list[int] = []
    lock = feed._drain_lock

    class _Counting:
        def __enter__(self) -> None:
            chunks_locked.append(len(feed._queued))
            lock.acquire()

        def __exit__(self, *_exc: object) -> None:
            lock.release()

    monkeypatch.setattr(feed, "_drain_lock", _Counting())
    assert tw.flush(timeout=30)
    queued = len(feed._queued)  # each record once as recorded, once as stored
    assert queued >= 11
    assert feed.refresh() == 0  # the store holds nothing the view lacks
    assert chunks_locked[:3] == [queued, queued - 4, queued - 8]  # a chunk per lock
    assert len(feed._queued) == 0
    assert _observations(tw) == 11
