"""Write leases: every stored record's store time is bounded by a lease taken before it, so a
new process can tell, without reading the records, that nothing was stored after a snapshot."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ChromaServer

from toolwise import Toolwise
from toolwise.learning import feed as feed_module
from toolwise.models import ToolOutcome
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import http_client
from toolwise.storage.snapshots import LEASE


def _outcome(n: int) -> ToolOutcome:
    return ToolOutcome(
        id=f"r{n}",
        tool="kubectl_apply",
        task_type="deploy",
        outcome="success",
        timestamp=datetime.now(UTC),
    )


def _until(store: ChromaOutcomeStore) -> float:
    """Where the leases end: no record was stored at or after it."""
    leases = store.snapshots.leases()
    assert leases is not None
    return max(leases.values(), default=-math.inf)


def _stored_at(store: ChromaOutcomeStore) -> list[float]:
    got = store._collection("default").get(include=["metadatas"])
    return [float(m["stored_at"]) for m in got["metadatas"]]


def test_a_write_takes_a_lease_that_bounds_its_rows(store: ChromaOutcomeStore) -> None:
    assert _until(store) == -math.inf  # nothing stored yet
    store.write([_outcome(n) for n in range(3)])
    stamps = _stored_at(store)
    assert max(stamps) <= _until(store) <= max(stamps) + LEASE


def test_a_lease_is_renewed_only_when_a_write_passes_it(store: ChromaOutcomeStore) -> None:
    store.write([_outcome(0)])
    first = _until(store)
    store.write([_outcome(1)])  # within the lease: no new lease row
    assert _until(store) == first
    store.snapshots.cover(first + 1.0)
    assert _until(store) == first + 1.0 + LEASE


def test_close_shrinks_the_lease_to_the_last_store_time(store: ChromaOutcomeStore) -> None:
    store.write([_outcome(n) for n in range(3)])
    store.snapshots.release()
    assert _until(store) == max(_stored_at(store))


def test_a_forked_child_takes_a_lease_of_its_own(store: ChromaOutcomeStore) -> None:
    store.snapshots.cover(100.0)
    parent_lease = store.snapshots._lease_id
    store.snapshots.after_fork()
    assert store.snapshots._lease_id != parent_lease
    store.snapshots.cover(50.0)
    store.snapshots.release()  # shrinks the child's lease, never the parent's
    assert _until(store) == 100.0 + LEASE


def test_saving_a_snapshot_drops_only_the_leases_no_snapshot_can_need(
    client: Any, prefix: str
) -> None:
    old, live = ChromaOutcomeStore(client, prefix=prefix), ChromaOutcomeStore(client, prefix=prefix)
    old.snapshots.cover(1_000.0)
    old.snapshots.release()
    live.snapshots.cover(5_000.0)
    save = {"version": 1, "fingerprint": "f", "records": 0, "built": 0.0}
    live.snapshots.save(b"x", watermark=2_000.0, **save)
    assert _until(live) == 5_000.0 + LEASE
    live.snapshots.save(b"x", watermark=4_000.0, **save)  # keeps 2,000 and 4,000
    rows = live.snapshots._collection(create=False).get(where={"kind": "lease"})["ids"]
    assert rows == [live.snapshots._lease_id]  # the old lease ended long before both


def test_a_server_is_never_taken_as_quiet(chroma_server: ChromaServer, prefix: str) -> None:
    """Writers of versions before leases may share a server: its replay is always read."""
    store = ChromaOutcomeStore(lambda: http_client(chroma_server.url), prefix=prefix)
    try:
        assert store.snapshots.leases() is None
    finally:
        store.close()


def test_a_start_after_a_quiet_store_skips_the_replay_and_answers_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last write was before the snapshot's watermark minus the overlap (here 0 s): the
    new process reads no record, and answers as a rebuild from every record does."""
    monkeypatch.setattr(feed_module, "TAIL_OVERLAP", 0.0)
    start = datetime.now(UTC) - timedelta(hours=1)
    ticks = iter(range(10_000))

    def clock() -> datetime:  # one second on at each call: no wall-clock decay in between
        return start + timedelta(seconds=next(ticks))

    with Toolwise(tmp_path / "store", clock=clock) as first:
        for n in range(12):
            first.observe("kubectl_apply" if n % 3 else "helm_upgrade", n % 4 != 0)
    with Toolwise(tmp_path / "store", clock=lambda: start + timedelta(days=1)) as second:
        second.runtime.view()
        assert second.runtime.feed.restored is not None
        assert second.runtime.feed.quiet
        want = [(p.tool, p.alpha, p.beta) for p in second.priors()]
        second.runtime.feed.rebuild()
        got = [(p.tool, p.alpha, p.beta) for p in second.priors()]
        assert [g[0] for g in got] == [w[0] for w in want]
        assert [g[1:] for g in got] == [pytest.approx(w[1:], rel=1e-9) for w in want]


def test_a_write_after_the_snapshot_is_replayed(tmp_path: Path) -> None:
    with Toolwise(tmp_path / "store") as first:
        first.observe("kubectl_apply", True)
        first.runtime.view()
        assert first.runtime.feed.write_snapshot() is not None
        first.observe("helm_upgrade", False)
        first.runtime.flush()
        first.runtime.feed._learnt.since_snapshot = 0  # no snapshot at close: the write stays after
    with Toolwise(tmp_path / "store") as second:
        second.runtime.view()
        assert not second.runtime.feed.quiet
        assert second.runtime.feed.replayed == 1
        assert {p.tool for p in second.priors()} == {"kubectl_apply", "helm_upgrade"}


def test_a_restart_after_an_app_that_recorded_until_it_closed_is_quiet(tmp_path: Path) -> None:
    """The snapshot at close is written once the writer stopped: it holds all that writer
    stored, so its lease does not count, and the next start reads no record."""
    with Toolwise(tmp_path / "store") as first:
        first.runtime.view()
        for n in range(20):
            first.record(tool=f"tool{n % 3}", outcome="success" if n % 4 else "failure")
    with Toolwise(tmp_path / "store") as second:
        second.runtime.view()
        head = second.runtime.feed.restored
        assert head is not None
        assert head.writer
        assert second.runtime.feed.quiet
        assert sum(p.observations for p in second.priors()) == 20


def test_another_writers_records_after_a_snapshot_are_replayed(tmp_path: Path) -> None:
    """Only the lease of the writer a snapshot holds whole is left out: another writer on the
    same store that wrote just before it keeps the next start from skipping its replay."""
    from toolwise.storage.clients import persistent_client

    client = persistent_client(tmp_path / "chroma")
    other = Toolwise(client=client, spool_dir=tmp_path / "other")
    with Toolwise(client=client, spool_dir=tmp_path / "first") as first:
        first.runtime.view()
        first.record(tool="kubectl_apply", outcome="success")
        other.record(tool="helm_upgrade", outcome="failure")
        assert other.flush(timeout=30)
    other.close()
    with Toolwise(client=client, spool_dir=tmp_path / "next") as again:
        again.runtime.view()
        assert again.runtime.feed.restored is not None
        assert not again.runtime.feed.quiet
        assert {p.tool for p in again.priors()} == {"kubectl_apply", "helm_upgrade"}


def test_the_snapshots_index_is_written_at_every_write(client: Any, prefix: str) -> None:
    """So Chroma's log of the collection is purged at once, and a new process's first read
    of it replays nothing — also for a collection made before this setting."""
    store = ChromaOutcomeStore(client, prefix=prefix)
    old = client.create_collection(f"{prefix}-snapshots", embedding_function=None)
    assert old.configuration["hnsw"]["sync_threshold"] == 1000  # Chroma's default
    store.snapshots.cover(1.0)
    collection = client.get_collection(f"{prefix}-snapshots", embedding_function=None)
    assert collection.configuration["hnsw"]["sync_threshold"] == 1


def test_a_new_snapshots_collection_is_made_so(store: ChromaOutcomeStore, client: Any) -> None:
    store.snapshots.cover(1.0)
    made = client.get_collection(f"{store.prefix}-snapshots", embedding_function=None)
    assert made.configuration["hnsw"]["sync_threshold"] == 1
