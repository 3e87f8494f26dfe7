"""The failure index's entries: as little metadata as its deletes and recall need.

(Indexes of the older per-record layout are replaced on the next write:
tests/storage/test_chroma_store.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from toolwise.models import ToolOutcome
from toolwise.storage import failure_index
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
        collection_name_for("default", f"{prefix}-{failure_index.KIND}"), embedding_function=None
    )


def test_an_entry_keeps_only_what_deletes_recall_and_the_recall_index_filter_on(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """Tool (forget by tool), expiry (recall, purge), the record it stands for (forget by
    id, and recall reads it back), and the record's time and task type (the in-process
    recall index loads the newest of a task type): each key costs the server per row."""
    expires = T0 + timedelta(days=5)
    failure = _failure(1, expires_at=expires, task_type="deploy")
    store.write([failure])
    metadata = _index(client, prefix).get(include=["metadatas"])["metadatas"]
    assert metadata == [
        {
            "tool": "kubectl",
            "expires_at": expires.timestamp(),
            "record_id": failure.id,
            "timestamp": failure.timestamp.timestamp(),
            "task_type": "deploy",
        }
    ]
