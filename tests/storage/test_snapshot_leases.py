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


def _stored_at(store: ChromaOutcomeStore) -> list[float]:
    got = store._collection("default").get(include=["metadatas"])
    return [float(m["stored_at"]) for m in got["metadatas"]]


def test_a_write_takes_a_lease_that_bounds_its_rows(store: ChromaOutcomeStore) -> None:
    assert store.snapshots.quiet_until() == -math.inf  # nothing stored yet
    store.write([_outcome(n) for n in range(3)])
    stamps = _stored_at(store)
    assert max(stamps) <= store.snapshots.quiet_until() <= max(stamps) + LEASE


def test_a_lease_is_renewed_only_when_a_write_passes_it(store: ChromaOutcomeStore) -> None:
    store.write([_outcome(0)])
    first = store.snapshots.quiet_until()
    store.write([_outcome(1)])  # within the lease: no new lease row
    assert store.snapshots.quiet_until() == first
    store.snapshots.cover(first + 1.0)
    assert store.snapshots.quiet_until() == first + 1.0 + LEASE


def test_close_shrinks_the_lease_to_the_last_store_time(store: ChromaOutcomeStore) -> None:
    store.write([_outcome(n) for n in range(3)])
    store.snapshots.release()
    assert store.snapshots.quiet_until() == max(_stored_at(store))


def test_a_forked_child_takes_a_lease_of_its_own(store: ChromaOutcomeStore) -> None:
    store.snapshots.cover(100.0)
    parent_lease = store.snapshots._lease_id
    store.snapshots.after_fork()
    assert store.snapshots._lease_id != parent_lease
    store.snapshots.cover(50.0)
    store.snapshots.release()  # shrinks the child's lease, never the parent's
    assert store.snapshots.quiet_until() == 100.0 + LEASE


def test_saving_a_snapshot_drops_only_the_leases_no_snapshot_can_need(
    client: Any, prefix: str
) -> None:
    old, live = ChromaOutcomeStore(client, prefix=prefix), ChromaOutcomeStore(client, prefix=prefix)
    old.snapshots.cover(1_000.0)
    old.snapshots.release()
    live.snapshots.cover(5_000.0)
    save = {"version": 1, "fingerprint": "f", "records": 0, "built": 0.0}
    live.snapshots.save(b"x", watermark=2_000.0, **save)
    assert live.snapshots.quiet_until() == 5_000.0 + LEASE
    live.snapshots.save(b"x", watermark=4_000.0, **save)  # keeps 2,000 and 4,000
    rows = live.snapshots._collection(create=False).get(where={"kind": "lease"})["ids"]
    assert rows == [live.snapshots._lease_id]  # the old lease ended long before both


def test_a_server_is_never_taken_as_quiet(chroma_server: ChromaServer, prefix: str) -> None:
    """Writers of versions before leases may share a server: its replay is always read."""
    store = ChromaOutcomeStore(lambda: http_client(chroma_server.url), prefix=prefix)
    try:
        assert store.snapshots.quiet_until() == math.inf
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
        first.runtime.feed._since_snapshot = 0  # no snapshot at close: the write stays after
    with Toolwise(tmp_path / "store") as second:
        second.runtime.view()
        assert not second.runtime.feed.quiet
        assert second.runtime.feed.replayed == 1
        assert {p.tool for p in second.priors()} == {"kubectl_apply", "helm_upgrade"}
