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
    fields.setdefault("error_message", "context deadline exceeded")
    return ToolOutcome(
        timestamp=T0 + timedelta(minutes=minutes),
        outcome="failure",
        error_type="TimeoutError",
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


class _CountingHome:
    """The agent's collection, counting the rows each ``get`` asks for (recall's confirms)."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.asked: list[int] = []

    def get(self, **kwargs: Any) -> Any:
        self.asked.append(len(kwargs.get("ids") or []))
        return self._collection.get(**kwargs)


def _home(client: Any, prefix: str) -> Any:
    return client.get_collection(collection_name_for("default", prefix), embedding_function=None)


def _further(n: int) -> ToolOutcome:
    """A failure ``n`` steps further from recall's query than the first (no ties)."""
    return _failure(n, error_message="context deadline exceeded" + " while waiting" * n)


def _recall(store: ChromaOutcomeStore, home: Any, index: Any, k: int) -> list[str]:
    vector = store.embedding(["kubectl failure TimeoutError context deadline exceeded"])
    found = failure_index.FailureIndex.recall(home, index, vector, k, NOW.timestamp())
    assert found is not None
    return [hit.outcome.id for hit in found]


def test_recall_confirms_only_the_k_nearest_when_all_are_at_home(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """Each row read at home costs: recall reads the k it returns, not the whole window."""
    failures = [_further(n) for n in range(8)]
    store.write(failures)
    index = _index(client, prefix)
    nearest = _recall(store, _home(client, prefix), index, k=8)
    assert nearest == [failure.id for failure in failures]
    home = _CountingHome(_home(client, prefix))
    assert _recall(store, home, index, k=3) == nearest[:3]
    assert home.asked == [3]


def test_a_forgotten_record_among_the_k_nearest_gives_way_to_the_next_nearest(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """A hit not at home is never recalled: the next nearest confirmed one takes its place,
    in distance order, and its stale entry leaves the index."""
    failures = [_further(n) for n in range(8)]
    store.write(failures)
    index = _index(client, prefix)
    nearest = _recall(store, _home(client, prefix), index, k=8)
    assert nearest == [failure.id for failure in failures]
    _home(client, prefix).delete(ids=[nearest[1]])  # a writer that missed the index
    home = _CountingHome(_home(client, prefix))
    assert _recall(store, home, index, k=3) == [nearest[0], nearest[2], nearest[3]]
    assert home.asked == [3, 1]
    assert nearest[1] not in {meta["record_id"] for meta in index.get()["metadatas"]}
