"""Tombstones: a delete that removed anything tells the other processes on the store what went
(``storage/tombstones.py``), and is never itself a record."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.conftest import ephemeral_client

from toolwise.models import ToolOutcome
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.protocol import CallFilter, TombstoneStore
from toolwise.storage.tombstones import KEEP, MAX_IDS

NOW = datetime.now(UTC)


def _stores(prefix: str) -> tuple[ChromaOutcomeStore, ChromaOutcomeStore]:
    """Two processes' stores on one Chroma (ephemeral clients share one in-memory store)."""
    return (
        ChromaOutcomeStore(ephemeral_client(), prefix=prefix),
        ChromaOutcomeStore(ephemeral_client(), prefix=prefix),
    )


def _record(agent: str = "devops", tool: str = "helm_upgrade") -> ToolOutcome:
    return ToolOutcome(agent_id=agent, tool=tool, outcome="failure", error_message="leaked")


def test_a_delete_leaves_a_tombstone_for_the_other_processes_only(prefix: str) -> None:
    mine, theirs = _stores(prefix)
    assert isinstance(mine, TombstoneStore)
    gone = _record()
    mine.write([gone])
    assert mine.delete("devops", ids=[gone.id]) == 1
    (tombstone,) = theirs.tombstones(0.0)
    assert (tombstone.agent_id, tombstone.ids, tombstone.tool) == ("devops", (gone.id,), None)
    assert mine.tombstones(0.0) == []  # the forgetter unlearnt it when it deleted


def test_a_tombstone_names_the_tool_or_the_whole_agent(prefix: str) -> None:
    mine, theirs = _stores(prefix)
    mine.write([_record(tool="helm_upgrade"), _record(tool="kubectl_apply")])
    mine.delete("devops", tool="helm_upgrade")
    mine.delete("devops")
    by_tool, everything = theirs.tombstones(0.0)
    assert (by_tool.tool, by_tool.ids) == ("helm_upgrade", None)
    assert (everything.tool, everything.ids) == (None, None)
    assert by_tool.at < everything.at


def test_a_delete_that_removed_nothing_leaves_no_tombstone(prefix: str) -> None:
    mine, theirs = _stores(prefix)
    mine.write([_record()])
    assert mine.delete("devops", ids=["unknown"]) == 0
    assert mine.delete("nobody") == 0
    assert theirs.tombstones(0.0) == []


def test_a_tombstone_is_never_a_record(prefix: str) -> None:
    """Listings, reads, counts, agents and recall see only the records left."""
    mine, theirs = _stores(prefix)
    kept, gone = _record(tool="kubectl_apply"), _record()
    mine.write([kept, gone])
    mine.delete("devops", ids=[gone.id])
    assert theirs.agents() == ["devops"]
    assert theirs.count("devops") == 1
    assert [o.id for o in theirs.iter_outcomes(None, now=NOW)] == [kept.id]
    assert [o.id for o in theirs.find("devops", CallFilter(), limit=10, offset=0, now=NOW)] == [
        kept.id
    ]
    assert [o.id for o in theirs.recent(0.0, now=NOW)] == [kept.id]
    hits = theirs.similar("devops", "leaked", k=5, now=NOW, outcome="failure")
    assert [h.outcome.id for h in hits] == [kept.id]


def test_a_tombstone_is_read_from_a_watermark(prefix: str) -> None:
    mine, theirs = _stores(prefix)
    mine.write([_record(), _record(tool="kubectl_apply")])
    mine.delete("devops", tool="helm_upgrade")
    (first,) = theirs.tombstones(0.0)
    mine.delete("devops", tool="kubectl_apply")
    assert [t.tool for t in theirs.tombstones(first.at + 1e-6)] == ["kubectl_apply"]


def test_a_huge_forget_is_told_as_the_whole_agent(prefix: str) -> None:
    mine, theirs = _stores(prefix)
    records = [_record() for _ in range(3)]
    mine.write(records)
    ids = [o.id for o in records] + [f"gone-{n}" for n in range(MAX_IDS)]
    assert mine.delete("devops", ids=ids) == 3
    (tombstone,) = theirs.tombstones(0.0)
    assert (tombstone.tool, tombstone.ids) == (None, None)


def test_a_look_older_than_the_tombstones_are_kept_unlearns_every_agent(prefix: str) -> None:
    """What was pruned cannot be read: every agent's records may have gone."""
    mine, theirs = _stores(prefix)
    mine.write([_record("devops"), _record("support")])
    lapsed = theirs.tombstones(time.time() - KEEP - 60)
    assert sorted((t.agent_id, t.tool, t.ids) for t in lapsed) == [
        ("devops", None, None),
        ("support", None, None),
    ]
