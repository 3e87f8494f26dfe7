"""The index settings a new collection of records is made with, and stores made before them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from toolwise.models import ToolOutcome
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import http_client, persistent_client
from toolwise.storage.collections import (
    AGENT_KEY,
    COSINE,
    INDEX_OF_KEY,
    SERVER_SYNC_THRESHOLD,
    stamp,
)
from toolwise.storage.embeddings import HashingEmbedding
from toolwise.storage.failure_index import STATE_KEY, FailureIndex
from toolwise.storage.naming import collection_name_for

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _calls(agent_id: str, count: int) -> list[ToolOutcome]:
    return [
        ToolOutcome(
            agent_id=agent_id,
            tool="kubectl",
            task_type="deploy",
            outcome="failure" if n % 2 else "success",
            error_type="TimeoutError" if n % 2 else "",
            timestamp=T0 + timedelta(minutes=n),
        )
        for n in range(count)
    ]


def _index_name(client: Any, prefix: str) -> str:
    return FailureIndex(
        lambda: client, prefix=prefix, embedding=HashingEmbedding(), max_batch=lambda: 100
    ).name("ops")


def _sync_threshold(collection: Any) -> int:
    return int(collection.configuration["hnsw"]["sync_threshold"])


def test_a_server_makes_new_collections_that_write_their_index_less_often(
    chroma_server: Any, prefix: str
) -> None:
    """On a server the agent's collection and its failure index persist every 10,000 rows."""
    client = http_client(chroma_server.url)
    store = ChromaOutcomeStore(client, prefix=prefix)
    store.write(_calls("ops", 4))
    collection = client.get_collection(collection_name_for("ops", prefix))
    index = client.get_collection(_index_name(client, prefix))
    assert _sync_threshold(collection) == SERVER_SYNC_THRESHOLD
    assert _sync_threshold(index) == SERVER_SYNC_THRESHOLD
    assert collection.configuration["hnsw"]["space"] == "cosine"


def test_an_embedded_store_keeps_chromas_default(tmp_path: Path, prefix: str) -> None:
    """Every process start reloads an embedded collection: the log replay stays short."""
    client = persistent_client(tmp_path / "chroma")
    ChromaOutcomeStore(client, prefix=prefix).write(_calls("ops", 2))
    assert _sync_threshold(client.get_collection(collection_name_for("ops", prefix))) == 1_000


def test_a_server_collection_made_before_keeps_its_settings_and_takes_records(
    chroma_server: Any, prefix: str
) -> None:
    """A store written by an earlier version opens, records, recalls, and is not changed."""
    client = http_client(chroma_server.url)
    embedding = HashingEmbedding()
    name = collection_name_for("ops", prefix)
    old = client.get_or_create_collection(  # as the earlier version made it
        name,
        metadata=stamp(AGENT_KEY, "ops", embedding),
        configuration=COSINE,
        embedding_function=None,
    )
    ChromaOutcomeStore(client, prefix=prefix).write(_calls("ops", 6))
    store = ChromaOutcomeStore(client, prefix=prefix)  # a new process on the old store
    store.write([o.model_copy(update={"id": f"new-{o.id}"}) for o in _calls("ops", 4)])
    assert _sync_threshold(client.get_collection(name)) == _sync_threshold(old) == 1_000
    assert store.count("ops") == 10
    recalled = store.similar("ops", "kubectl failure for deploy", k=3, now=T0, outcome="failure")
    assert recalled
    assert all(hit.outcome.outcome == "failure" for hit in recalled)


def test_an_old_failure_index_keeps_its_settings(chroma_server: Any, prefix: str) -> None:
    """A complete failure index made before is reused as it is."""
    client = http_client(chroma_server.url)
    store = ChromaOutcomeStore(client, prefix=prefix)
    index_name = _index_name(client, prefix)
    client.get_or_create_collection(
        index_name,
        metadata={**stamp(INDEX_OF_KEY, "ops", store.embedding), STATE_KEY: "complete"},
        configuration=COSINE,
        embedding_function=None,
    )
    store.write(_calls("ops", 4))
    assert _sync_threshold(client.get_collection(index_name)) == 1_000
    assert len(client.get_collection(index_name).get(include=[])["ids"]) == 2
