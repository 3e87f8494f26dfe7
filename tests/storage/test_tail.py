"""Store times on rows, and reading what arrived after a watermark (the fleet's tail)."""

from __future__ import annotations

from datetime import timedelta

from toolwise.models import ToolOutcome, utcnow
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import ephemeral_client
from toolwise.storage.unstored import RECENT, UnstoredFailures


def _store(prefix: str) -> ChromaOutcomeStore:
    return ChromaOutcomeStore(ephemeral_client(), prefix=prefix)


def _stored_at(store: ChromaOutcomeStore, record_id: str) -> float:
    row = store._collection("default").get(ids=[record_id], include=["metadatas"])
    return float(row["metadatas"][0]["stored_at"])


def test_every_write_stamps_a_later_store_time(prefix: str) -> None:
    """Writing a record again (a retried batch) gives it a later store time."""
    store = _store(prefix)
    record = ToolOutcome(tool="kubectl_apply")
    store.write([record])
    first = _stored_at(store, record.id)
    store.write([record])
    assert _stored_at(store, record.id) > first


def test_recent_returns_what_was_stored_since(prefix: str) -> None:
    """Only rows stored at or after the watermark, of every agent, oldest first."""
    store = _store(prefix)
    old = ToolOutcome(tool="kubectl_apply")
    store.write([old])
    mark = _stored_at(store, old.id)
    later = [ToolOutcome(tool="helm_upgrade"), ToolOutcome(tool="argo_sync", agent_id="ops")]
    store.write(later)
    found = store.recent(mark + 1e-6, now=utcnow())  # stamps grow by >= 1 µs
    assert sorted(o.id for o in found) == sorted(o.id for o in later)
    assert {o.id for o in store.recent(mark, now=utcnow())} >= {old.id}


def test_recent_skips_known_ids_and_expired_rows(prefix: str) -> None:
    """Rows the caller has seen are not read back; expired ones never match."""
    store = _store(prefix)
    now = utcnow()
    seen, new = ToolOutcome(tool="a_tool"), ToolOutcome(tool="b_tool")
    gone = ToolOutcome(tool="c_tool", expires_at=now - timedelta(seconds=1))
    store.write([seen, new, gone])
    assert [o.id for o in store.recent(0.0, now=now, known={seen.id})] == [new.id]


def test_recent_by_record_time(prefix: str) -> None:
    """``key="timestamp"`` selects by when the call happened, not when it was stored."""
    store = _store(prefix)
    now = utcnow()
    old = ToolOutcome(tool="a_tool", timestamp=now - timedelta(hours=1))
    fresh = ToolOutcome(tool="b_tool", timestamp=now)
    store.write([old, fresh])
    since = (now - timedelta(minutes=2)).timestamp()
    assert [o.id for o in store.recent(since, now=now, key="timestamp")] == [fresh.id]


def test_unstored_failures_leave_once_the_writer_has_them() -> None:
    """A failure is unstored until the writer's count reaches its place; successes never are."""
    counts = {"recorded": 0, "written": 0}
    unstored = UnstoredFailures(
        recorded=lambda: counts["recorded"], written=lambda: counts["written"]
    )
    for outcome in ("success", "failure"):
        counts["recorded"] += 1
        unstored.add(ToolOutcome(tool="kubectl_apply", outcome=outcome))
    before = unstored.of("default", utcnow())
    assert [o.outcome for o in before.unstored] == ["failure"]
    counts["written"] = 1
    assert len(unstored.of("default", utcnow()).unstored) == 1
    counts["written"] = 2
    after = unstored.of("default", utcnow())
    assert after.unstored == ()
    assert after.generation == before.generation == 1
    assert unstored.of("other", utcnow()).generation == 0


def test_recent_failures_stay_once_stored_and_since_tells_what_is_new() -> None:
    """A reused recall is brought up to date from ``since``; past what is kept, it says None."""
    counts = {"recorded": 0, "written": 0}
    unstored = UnstoredFailures(
        recorded=lambda: counts["recorded"], written=lambda: counts["written"]
    )
    failures = [ToolOutcome(tool="kubectl_apply", outcome="failure") for _ in range(3)]
    for outcome in failures:
        counts["recorded"] += 1
        unstored.add(outcome)
    counts["written"] = 3
    local = unstored.of("default", utcnow())
    assert local.unstored == ()
    assert local.since(1) == tuple(failures[1:])
    assert local.since(3) == ()
    assert local.since(3 - RECENT - 1) is None


def test_forget_starts_a_new_epoch() -> None:
    """An answer from before a forget may hold forgotten records: its epoch tells."""
    unstored = UnstoredFailures(recorded=lambda: 0, written=lambda: 0)
    before = unstored.of("default", utcnow()).epoch
    unstored.forget("default", tool="kubectl_apply")
    assert unstored.of("default", utcnow()).epoch == before + 1


def test_forget_drops_the_recent_failures_it_names_and_only_its_agent() -> None:
    """What a forget (here, or another process's tombstone) removed leaves the recent
    failures; failures recorded after it are still told apart by ``since``."""
    unstored = UnstoredFailures(recorded=lambda: 0, written=lambda: 0)
    helm, kubectl = (ToolOutcome(tool=t, outcome="failure") for t in ("helm", "kubectl"))
    ops = ToolOutcome(tool="helm", outcome="failure", agent_id="ops")
    unstored.add_stored([helm, kubectl, ops])
    unstored.forget("default", tool="helm")
    assert unstored.of("default", utcnow()).recent == (kubectl,)
    assert unstored.of("ops", utcnow()).recent == (ops,)
    after = unstored.of("default", utcnow()).generation
    again = ToolOutcome(tool="helm", outcome="failure")
    unstored.add_stored([helm, again])  # a forgotten id read again is news again
    assert unstored.of("default", utcnow()).since(after) == (helm, again)
    unstored.forget("default", ids=[kubectl.id])
    assert unstored.of("default", utcnow()).recent == (helm, again)


def test_another_process_forget_keeps_the_failures_not_stored_yet() -> None:
    """They were not in the store when it deleted: stored after it, they are not forgotten."""
    counts = {"recorded": 0, "written": 0}
    unstored = UnstoredFailures(
        recorded=lambda: counts["recorded"], written=lambda: counts["written"]
    )
    stored, pending = (ToolOutcome(tool="helm", outcome="failure") for _ in range(2))
    for outcome in (stored, pending):
        counts["recorded"] += 1
        unstored.add(outcome)
    counts["written"] = 1
    unstored.forget("default", tool="helm", elsewhere=True)
    local = unstored.of("default", utcnow())
    assert (local.unstored, local.recent) == ((pending,), (pending,))
    unstored.forget("default", tool="helm")  # this process's own: it flushed first
    assert unstored.of("default", utcnow()).recent == ()


def test_other_writers_failures_join_the_recent_ones_each_id_once() -> None:
    """What the tail reads counts like a failure recorded here: numbered, not unstored; a
    row read again (the tail's overlap) or this process's own failure read back, once."""
    unstored = UnstoredFailures(recorded=lambda: 1, written=lambda: 0)
    own = ToolOutcome(tool="kubectl_apply", outcome="failure")
    unstored.add(own)
    theirs = ToolOutcome(tool="helm_upgrade", outcome="failure")
    success = ToolOutcome(tool="helm_upgrade")
    unstored.add_stored([own, theirs, success])
    unstored.add_stored([theirs])
    local = unstored.of("default", utcnow())
    assert local.generation == 2
    assert local.since(1) == (theirs,)
    assert local.unstored == (own,)


def test_other_writers_failures_stay_in_their_agent() -> None:
    """A failure of agent ``ops`` never reaches the recent failures of ``default``."""
    unstored = UnstoredFailures(recorded=lambda: 0, written=lambda: 0)
    unstored.add_stored([ToolOutcome(tool="helm_upgrade", outcome="failure", agent_id="ops")])
    assert unstored.of("default", utcnow()).generation == 0
    assert len(unstored.of("ops", utcnow()).recent) == 1


def test_recent_keeps_the_newest_and_forgets_the_ids_it_dropped() -> None:
    """Past ``RECENT`` the oldest give way; one dropped may be read (and numbered) again."""
    unstored = UnstoredFailures(recorded=lambda: 0, written=lambda: 0)
    failures = [ToolOutcome(tool="helm_upgrade", outcome="failure") for _ in range(RECENT + 1)]
    unstored.add_stored(failures)
    local = unstored.of("default", utcnow())
    assert local.recent == tuple(failures[1:])
    unstored.add_stored([failures[0], failures[-1]])
    local = unstored.of("default", utcnow())
    assert local.generation == RECENT + 2
    assert local.recent[-1] == failures[0]
