"""An embedded store can be slow too (a hung disk, a long scan holding a lock): the caller
stops waiting at the deadline, and the store is healthy again as soon as it answers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from toolwise.errors import StoreUnavailableError
from toolwise.models import ToolOutcome
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import ephemeral_client
from toolwise.storage.deadline import overdue
from toolwise.storage.health import StoreTimeouts

NOW = datetime(2030, 1, 2, tzinfo=UTC)


class _StuckQueries:
    """A real collection whose vector queries wait while ``stuck`` is set."""

    def __init__(self, collection: Any, stuck: threading.Event, free: threading.Event) -> None:
        self._collection, self._stuck, self._free = collection, stuck, free

    def query(self, **kwargs: Any) -> Any:
        if self._stuck.is_set():
            self._free.wait()
        return self._collection.query(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


class _SlowClient:
    """A real embedded client whose collections' queries can be made to hang."""

    def __init__(self) -> None:
        self._client = ephemeral_client()
        self.stuck, self.free = threading.Event(), threading.Event()

    def get_collection(self, *args: Any, **kwargs: Any) -> Any:
        return _StuckQueries(self._client.get_collection(*args, **kwargs), self.stuck, self.free)

    def get_or_create_collection(self, *args: Any, **kwargs: Any) -> Any:
        found = self._client.get_or_create_collection(*args, **kwargs)
        return _StuckQueries(found, self.stuck, self.free)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def slow() -> Iterator[_SlowClient]:
    client = _SlowClient()
    yield client
    client.free.set()  # no query stays stuck after the test


def test_a_stuck_embedded_query_costs_recall_its_deadline_and_nothing_more(
    slow: _SlowClient, prefix: str, eventually: Callable[..., bool]
) -> None:
    """Recall gives up at ``recall``; the heartbeat answers, so the store is healthy again at
    once, and recall works as soon as queries do."""
    timeouts = StoreTimeouts(recall=1.0, probe_interval=0.05)  # ample for a loaded machine
    store = ChromaOutcomeStore(slow, prefix=prefix, timeouts=timeouts)
    failure = ToolOutcome(tool="kubectl", outcome="failure", error_type="Timeout")
    store.write([failure])

    def recall() -> list[str]:
        found = store.similar("default", "kubectl timeout", k=3, now=NOW, outcome="failure")
        return [hit.outcome.id for hit in found]

    assert recall() == [failure.id]
    slow.stuck.set()
    with pytest.raises(StoreUnavailableError, match=r"no answer within 1 s"):
        recall()
    assert eventually(lambda: store.health.healthy)
    slow.stuck.clear()
    assert recall() == [failure.id]


def test_a_stuck_recall_still_answers_on_the_errors_future(slow: _SlowClient, prefix: str) -> None:
    """The caller stops waiting; the query goes on, and its answer lands where the error
    says (:func:`~toolwise.storage.deadline.overdue`), for a caller that can use it late."""
    timeouts = StoreTimeouts(recall=1.0, probe_interval=0.05)
    store = ChromaOutcomeStore(slow, prefix=prefix, timeouts=timeouts)
    failure = ToolOutcome(tool="kubectl", outcome="failure", error_type="Timeout")
    store.write([failure])
    slow.stuck.set()
    with pytest.raises(StoreUnavailableError) as raised:
        store.similar("default", "kubectl timeout", k=3, now=NOW, outcome="failure")
    missed = overdue(raised.value)
    assert missed is not None
    assert missed.running is not None
    assert missed.timeout == 1.0
    slow.free.set()
    assert [hit.outcome.id for hit in missed.running.result(timeout=60)] == [failure.id]
