"""The failure index's entries: as little metadata as its deletes and recall need, and entries
written in the older layout read, forget and expire the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from toolwise.models import ToolOutcome
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.naming import collection_name_for

T0 = datetime(2030, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def _failure(minutes: int, **fields: Any) -> ToolOutcome:
    fields.setdefault("tool", "kubectl")
    return ToolOutcome(
        timestamp=T0 + timedelta(minutes=minutes),
        outcome="failure",
        error_type="TimeoutError",
        error_message="context deadline exceeded",
        **fields,
    )


def _index(client: Any, prefix: str) -> Any:
    return client.get_collection(
        collection_name_for("default", f"{prefix}-failures"), embedding_function=None
    )


def test_an_entry_keeps_only_what_deletes_and_recall_filter_on(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """Tool (forget by tool) and expiry (recall, purge): each key costs the server per row."""
    expires = T0 + timedelta(days=5)
    failure = _failure(1, expires_at=expires)
    store.write([failure])
    metadata = _index(client, prefix).get(ids=[failure.id], include=["metadatas"])["metadatas"]
    assert metadata == [{"tool": "kubectl", "expires_at": expires.timestamp()}]


def test_entries_in_the_older_layout_recall_forget_and_expire_alike(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """An index written before (its entries also kept ``timestamp``) works unchanged."""
    soon, later = T0 + timedelta(hours=1), T0 + timedelta(days=5)
    expiring, helm, kept = (
        _failure(1, expires_at=soon),
        _failure(2, tool="helm", expires_at=later),
        _failure(3, expires_at=later),
    )
    store.write([expiring, helm, kept])
    index = _index(client, prefix)
    old = [
        {"tool": o.tool, "timestamp": o.timestamp.timestamp(), "expires_at": expires.timestamp()}
        for o, expires in ((expiring, soon), (helm, later), (kept, later))
    ]
    index.update(ids=[expiring.id, helm.id, kept.id], metadatas=old)

    recalled = store.similar("default", "kubectl failure", k=5, now=T0, outcome="failure")
    assert {hit.outcome.id for hit in recalled} == {expiring.id, helm.id, kept.id}
    assert recalled[0].outcome in (expiring, kept)  # the full record, read back from home

    assert store.delete("default", tool="helm") == 1
    assert store.purge_expired(NOW) == 1
    assert index.get(include=[])["ids"] == [kept.id]
    found = store.similar("default", "kubectl failure", k=5, now=NOW, outcome="failure")
    assert [hit.outcome for hit in found] == [kept]
