"""An agent's newest failures, handed to the in-process recall index: read through its failure
index (one entry per distinct text), never by a filtered scan of its collection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from toolwise.models import ToolOutcome
from toolwise.storage import collection_reads, failure_index
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import ephemeral_client
from toolwise.storage.naming import collection_name_for

T0 = datetime(2030, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def _failure(minutes: int, message: str, **fields: Any) -> ToolOutcome:
    fields.setdefault("task_type", "deploy")
    return ToolOutcome(
        tool="kubectl",
        timestamp=T0 + timedelta(minutes=minutes),
        outcome="failure",
        error_type="TimeoutError",
        error_message=message,
        **fields,
    )


def _newest(
    store: ChromaOutcomeStore, task_type: str | None = "deploy", limit: int = 10
) -> list[str]:
    return [
        o.id
        for o in store.newest_failures(
            "default", task_type=task_type, limit=limit, now=NOW
        ).outcomes
    ]


def _index(client: Any, prefix: str) -> Any:
    return client.get_collection(
        collection_name_for("default", f"{prefix}-{failure_index.KIND}"), embedding_function=None
    )


class _WhereCounting:
    """A real in-memory Chroma that keeps the ``where`` of every collection ``get``."""

    def __init__(self) -> None:
        self._client = ephemeral_client()
        self.wheres: list[Any] = []

    def get_collection(self, *args: Any, **kwargs: Any) -> Any:
        return _Counted(self._client.get_collection(*args, **kwargs), self.wheres)

    def get_or_create_collection(self, *args: Any, **kwargs: Any) -> Any:
        return _Counted(self._client.get_or_create_collection(*args, **kwargs), self.wheres)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _Counted:
    def __init__(self, collection: Any, wheres: list[Any]) -> None:
        self._collection, self._wheres = collection, wheres

    def get(self, **kwargs: Any) -> Any:
        self._wheres.append(kwargs.get("where"))
        return self._collection.get(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


@pytest.fixture
def history(store: ChromaOutcomeStore) -> dict[str, ToolOutcome]:
    """A failure repeated (older, newer), another failure, one of another task type, one
    expired by ``NOW`` and a success."""
    made = {
        "older": _failure(1, "deadline exceeded"),
        "other": _failure(3, "image pull backoff"),
        "migration": _failure(4, "lock timeout", task_type="migration"),
        "newer": _failure(5, "deadline exceeded"),
        "expired": _failure(6, "quota exceeded", expires_at=T0 + timedelta(hours=1)),
        "success": ToolOutcome(tool="kubectl", task_type="deploy", timestamp=T0),
    }
    store.write(list(made.values()))
    return made


def test_the_newest_record_of_each_failure_text_of_the_task_type_comes_newest_first(
    store: ChromaOutcomeStore, history: dict[str, ToolOutcome]
) -> None:
    assert _newest(store) == [history["newer"].id, history["other"].id]
    every = _newest(store, task_type=None)
    assert every == [history["newer"].id, history["migration"].id, history["other"].id]


def test_the_index_gives_what_the_scan_of_the_collection_gives(
    store: ChromaOutcomeStore, client: Any, prefix: str, history: dict[str, ToolOutcome]
) -> None:
    """The same failures, vectors and dimension as the filtered scan it replaces."""
    indexed = store.newest_failures("default", task_type="deploy", limit=10, now=NOW)
    collection = client.get_collection(collection_name_for("default", prefix))
    scanned = collection_reads.newest_failures(
        collection, task_type="deploy", limit=10, now=NOW, step=100
    )
    assert indexed.outcomes == scanned.outcomes
    assert indexed.dimension == scanned.dimension
    np.testing.assert_allclose(np.asarray(indexed.vectors), np.asarray(scanned.vectors), rtol=1e-6)


def test_the_limit_keeps_the_newest(store: ChromaOutcomeStore) -> None:
    failures = [_failure(n, f"failure {n}") for n in range(5)]
    store.write(failures)
    assert _newest(store, limit=3) == [f.id for f in reversed(failures[2:])]


def test_no_collection_is_read_with_a_where(prefix: str) -> None:
    """Chroma answers a ``where`` by scanning every row of the collection."""
    client = _WhereCounting()
    store = ChromaOutcomeStore(client, prefix=prefix)
    store.write([_failure(n, f"failure {n}") for n in range(3)])
    client.wheres.clear()
    assert len(_newest(store)) == 3
    assert client.wheres
    assert [where for where in client.wheres if where is not None] == []


def test_an_entry_whose_record_is_gone_is_skipped(
    store: ChromaOutcomeStore, client: Any, prefix: str, history: dict[str, ToolOutcome]
) -> None:
    """Deleted by a writer that missed the index: the collection is the source of truth."""
    collection = client.get_collection(collection_name_for("default", prefix))
    collection.delete(ids=[history["newer"].id])
    assert _newest(store) == [history["other"].id]


def test_entries_written_before_record_times_were_kept_read_as_the_oldest(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """Entries of an earlier version (tool, expiry and record id only) still load, their
    task type checked on the record, and give way to newer ones past the limit."""
    old, new = _failure(1, "old failure"), _failure(0, "new failure")
    store.write([old])
    index = _index(client, prefix)
    index.update(ids=index.get()["ids"], metadatas=[{"timestamp": None, "task_type": None}])
    store.write([new, _failure(2, "lock timeout", task_type="migration")])
    assert _newest(store) == [old.id, new.id]  # newest first, by the records' times
    assert _newest(store, limit=1) == [new.id]


def test_without_a_complete_index_the_collection_is_scanned(
    store: ChromaOutcomeStore, client: Any, prefix: str, history: dict[str, ToolOutcome]
) -> None:
    """A store written before the index existed, until its first write here."""
    client.delete_collection(_index(client, prefix).name)
    reopened = ChromaOutcomeStore(client, prefix=prefix)
    assert _newest(reopened) == [history["newer"].id, history["other"].id]
