"""The background writer: batches from disk, retries a failing store, never loses a record."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from toolwise.models import ToolOutcome
from toolwise.storage.protocol import CallFilter, SimilarOutcome
from toolwise.storage.spool import Spool
from toolwise.storage.writer import BackgroundWriter

Eventually = Callable[..., bool]


class FakeStore:
    """An in-memory store that can be switched down; upserts by id like Chroma."""

    def __init__(self) -> None:
        self.records: dict[str, ToolOutcome] = {}
        self.batch_sizes: list[int] = []
        self.ids_seen_while_down: set[str] = set()
        self.down = threading.Event()
        self.attempted = threading.Event()

    def write(self, outcomes: Sequence[ToolOutcome]) -> None:
        self.batch_sizes.append(len(outcomes))
        self.attempted.set()
        if self.down.is_set():
            self.ids_seen_while_down.update(o.id for o in outcomes)
            raise ConnectionError("store is down")
        self.records.update((o.id, o) for o in outcomes)

    def get(self, ids: Sequence[str], *, agent_id: str | None = None) -> list[ToolOutcome]:
        return [self.records[i] for i in ids if i in self.records]

    def find(
        self, agent_id: str, call_filter: CallFilter, *, limit: int, offset: int, now: datetime
    ) -> list[ToolOutcome]:
        return list(self.records.values())[offset : offset + limit]

    def iter_outcomes(
        self, agent_id: str | None = None, *, since: datetime | None = None, now: datetime
    ) -> Iterator[ToolOutcome]:
        return iter(self.records.values())

    def similar(
        self, agent_id: str, text: str, *, k: int, now: datetime, outcome: str | None = None
    ) -> list[SimilarOutcome]:
        return []

    def delete(
        self, agent_id: str, *, tool: str | None = None, ids: Sequence[str] | None = None
    ) -> int:
        return 0

    def purge_expired(self, now: datetime) -> int:
        return 0

    def agents(self) -> list[str]:
        return ["default"]

    def count(self, agent_id: str) -> int:
        return len(self.records)

    def close(self) -> None:
        pass


def _record(writer: BackgroundWriter, spool: Spool, n: int) -> list[ToolOutcome]:
    """What the facade does per tool call: append, then touch the writer."""
    outcomes = [ToolOutcome(tool="t", latency_ms=float(i)) for i in range(n)]
    for outcome in outcomes:
        spool.append(outcome)
        writer.touch()
    return outcomes


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


def test_flush_delivers_every_record(tmp_path: Path, store: FakeStore) -> None:
    """After flush, the store holds exactly what was recorded."""
    spool = Spool(tmp_path)
    writer = BackgroundWriter(spool, store, batch_size=100)
    outcomes = _record(writer, spool, 250)
    assert writer.flush(timeout=30)
    assert set(store.records) == {o.id for o in outcomes}
    counters = writer.counters
    assert (counters.recorded, counters.written, counters.pending) == (250, 250, 0)
    assert max(store.batch_sizes) <= 100
    writer.close()


def test_failing_store_is_retried_until_it_recovers(
    tmp_path: Path, store: FakeStore, eventually: Eventually
) -> None:
    """Writes that fail are counted as retries and delivered once the store is back."""
    spool = Spool(tmp_path)
    writer = BackgroundWriter(spool, store, max_backoff=0.05)
    store.down.set()
    outcomes = _record(writer, spool, 10)
    assert not writer.flush(timeout=0.3)
    assert eventually(lambda: writer.counters.retried > 0)
    down = writer.counters
    assert down.pending == 10
    assert down.dropped == 0
    assert "store is down" in down.last_error
    store.down.clear()
    assert writer.flush(timeout=30)
    assert set(store.records) == {o.id for o in outcomes}
    assert writer.counters.pending == 0
    writer.close()


def test_memory_stays_bounded_while_the_store_is_down(
    tmp_path: Path, store: FakeStore, eventually: Eventually
) -> None:
    """During an outage the writer retries one batch; the rest waits on disk, not in memory."""
    spool = Spool(tmp_path, fsync="never")
    writer = BackgroundWriter(spool, store, batch_size=50, max_backoff=0.02)
    store.down.set()
    _record(writer, spool, 2_000)
    assert not writer.flush(timeout=0.3)
    assert eventually(lambda: writer.counters.retried > 3)
    assert len(store.ids_seen_while_down) <= 50  # the same batch, retried
    assert max(store.batch_sizes) <= 50
    store.down.clear()
    assert writer.flush(timeout=60)
    assert len(store.records) == 2_000
    writer.close()


def test_close_with_the_store_down_keeps_records_for_the_next_start(
    tmp_path: Path, store: FakeStore
) -> None:
    """Undelivered records survive close() on disk and are delivered by the next writer."""
    spool = Spool(tmp_path)
    writer = BackgroundWriter(spool, store, max_backoff=0.05)
    store.down.set()
    outcomes = _record(writer, spool, 5)
    assert not writer.close(timeout=0.2)
    assert writer.counters.pending == 5
    store.down.clear()
    next_spool = Spool(tmp_path)
    next_writer = BackgroundWriter(next_spool, store)
    assert next_writer.counters.replayed == 5
    assert next_writer.flush(timeout=30)
    assert set(store.records) == {o.id for o in outcomes}
    assert next_writer.close()
    assert not list(tmp_path.iterdir())  # everything stored: nothing left to replay


def test_writer_waits_for_the_agent_to_pause_then_writes_unasked(
    tmp_path: Path, store: FakeStore
) -> None:
    """Without flush(), records are written once no new one arrived for `idle_after`."""
    spool = Spool(tmp_path)
    writer = BackgroundWriter(spool, store, idle_after=0.01)
    _record(writer, spool, 3)
    assert store.attempted.wait(timeout=30)
    writer.close()
    assert len(store.records) == 3


def test_dropped_record_is_counted_not_pending(tmp_path: Path, store: FakeStore) -> None:
    """A record the spool could not take is reported as dropped and not waited for."""
    spool = Spool(tmp_path)
    writer = BackgroundWriter(spool, store)
    writer.notify_dropped(OSError("disk full"))
    counters = writer.counters
    assert (counters.recorded, counters.dropped, counters.pending) == (0, 1, 0)
    assert "disk full" in counters.last_error
    assert writer.flush(timeout=5)
    writer.close()


class _RefusesOne:
    """A store that refuses one record for good and stores the rest."""

    def __init__(self, bad_id: str) -> None:
        self.bad_id = bad_id
        self.stored: list[str] = []

    def write(self, outcomes):  # type: ignore[no-untyped-def]
        if any(o.id == self.bad_id for o in outcomes):
            from toolwise.errors import StoreError

            raise StoreError("cannot store this one")
        self.stored.extend(o.id for o in outcomes)


def test_a_record_the_store_refuses_for_good_is_set_aside_not_retried_forever(tmp_path):
    """A permanent store error moves that record to rejected.jsonl; the others are written."""
    import json

    from toolwise.models import ToolOutcome
    from toolwise.storage.spool import Spool
    from toolwise.storage.writer import BackgroundWriter

    spool = Spool(tmp_path / "spool")
    records = [ToolOutcome(tool="t", agent_id="a") for _ in range(3)]
    store = _RefusesOne(records[1].id)
    writer = BackgroundWriter(spool, store, idle_after=0.0)  # type: ignore[arg-type]
    for record in records:
        spool.append(record)
        writer.touch()
    assert writer.flush(timeout=30)
    counters = writer.counters
    writer.close()
    assert store.stored == [records[0].id, records[2].id]
    assert counters.rejected == 1
    assert counters.pending == 0
    rejected = [json.loads(line) for line in (tmp_path / "spool" / "rejected.jsonl").open()]
    assert [r["record"]["id"] for r in rejected] == [records[1].id]


class SlowStore(FakeStore):
    """Each write takes a while, like an embedding plus a Chroma upsert."""

    def write(self, outcomes: Sequence[ToolOutcome]) -> None:
        threading.Event().wait(0.01)
        super().write(outcomes)


def test_a_writer_paced_by_a_busy_agent_still_flushes(tmp_path: Path) -> None:
    """While calls keep coming the writer pauses between batches (to leave the agent the GIL),
    yet every record reaches the store, and a flush is never held up by the pauses."""
    store = SlowStore()
    spool = Spool(tmp_path, fsync="never")
    writer = BackgroundWriter(spool, store, batch_size=50, max_delay=0.0, high_water=1)
    stop = threading.Event()
    recorded: list[ToolOutcome] = []

    def busy_agent() -> None:
        while not stop.is_set():
            recorded.extend(_record(writer, spool, 1))
            stop.wait(0.001)

    agent = threading.Thread(target=busy_agent)
    agent.start()
    try:
        threading.Event().wait(0.3)  # the writer is pacing itself now
        assert writer.flush(timeout=30)  # never held up by a pause
    finally:
        stop.set()
        agent.join()
    assert writer.flush(timeout=30)
    assert set(store.records) == {o.id for o in recorded}
    writer.close()


class _Waits(threading.Condition):
    """A condition that notes every wait's timeout and returns at once."""

    def __init__(self, lock: Any) -> None:
        super().__init__(lock)
        self.timeouts: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        return False


@pytest.mark.parametrize(("burst_pause", "expected"), [(3.0, [6.0]), (0.0, [])])
def test_a_burst_pauses_the_writer_by_its_burst_pause(
    tmp_path: Path, store: FakeStore, burst_pause: float, expected: list[float]
) -> None:
    """After a batch written while calls keep coming, the writer pauses ``burst_pause`` times
    as long as the write took; a writer to a server (``burst_pause=0``) does not pause."""
    spool = Spool(tmp_path, fsync="never")
    writer = BackgroundWriter(spool, store, burst_pause=burst_pause)
    try:
        waits = _Waits(writer._lock)
        writer._wake = waits
        _record(writer, spool, 1)  # a call just now: the agent is busy
        with writer._lock:
            writer._yield_to_a_busy_agent(2.0)
        assert waits.timeouts == expected
    finally:
        writer._wake = threading.Condition(writer._lock)
        writer.close()
