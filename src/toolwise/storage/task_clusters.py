"""Where the task types toolwise learnt from requests are kept, one namespace per agent.

A learnt task type is a cluster of requests: a name (taken from its first request), the mean
of its requests' vectors, and how many requests it holds. Advice reads them back on start, so
a restarted agent matches a request to the type it learnt before instead of inventing a new
name. :class:`ChromaTaskClusterStore` keeps them in a collection ``{prefix}-tasktypes_{agent}``
beside the outcome store (same client: embedded, ephemeral or server); the outcome store lists
``{prefix}_…`` only, so it never mistakes them for an agent. :class:`MemoryTaskClusterStore`
is the fallback for other outcome stores (lost at exit: the type names survive in the records,
and advice matches a request to those by name).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from toolwise.storage.naming import collection_name_for
from toolwise.storage.protocol import OutcomeStore

__all__ = [
    "ChromaTaskClusterStore",
    "MemoryTaskClusterStore",
    "TaskCluster",
    "TaskClusterStore",
    "task_cluster_store_for",
]

log = logging.getLogger("toolwise.storage")

_KIND = "tasktypes"
_PAGE = 2_000  # under Chroma's 32,766-match get() limit


@dataclass(frozen=True, slots=True)
class TaskCluster:
    """One learnt task type: its name, the mean vector of its requests, and their count.

    ``embedding`` names the embedding the centroid was computed with (vectors of two
    embeddings are not comparable; a cluster of another embedding is ignored on load).
    """

    name: str
    centroid: tuple[float, ...]
    count: int
    embedding: str


@runtime_checkable
class TaskClusterStore(Protocol):
    """Durable home of learnt task types; ``save`` replaces a cluster by name (idempotent)."""

    def load(self, agent_id: str) -> list[TaskCluster]:
        """Every cluster of the agent, in no particular order."""
        ...

    def save(self, agent_id: str, clusters: Sequence[TaskCluster]) -> None:
        """Insert or replace ``clusters`` by name."""
        ...


class MemoryTaskClusterStore:
    """A :class:`TaskClusterStore` in process memory (thread-safe; gone at exit)."""

    def __init__(self) -> None:
        self._clusters: dict[str, dict[str, TaskCluster]] = {}
        self._lock = threading.Lock()

    def load(self, agent_id: str) -> list[TaskCluster]:
        with self._lock:
            return list(self._clusters.get(agent_id, {}).values())

    def save(self, agent_id: str, clusters: Sequence[TaskCluster]) -> None:
        with self._lock:
            space = self._clusters.setdefault(agent_id, {})
            space.update((c.name, c) for c in clusters)


class ChromaTaskClusterStore:
    """A :class:`TaskClusterStore` on Chroma collections ``{prefix}-tasktypes_{agent}``.

    Args:
        client: a Chroma client, or a zero-argument callable returning one (called per use,
            so a lazily connected client is shared with the outcome store).
        prefix: the application's collection prefix (the same as the outcome store's).
    """

    def __init__(self, client: Any, *, prefix: str = "toolwise") -> None:
        self._client_source: Callable[[], Any] = client if callable(client) else lambda: client
        self._prefix = prefix
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _collection(self, agent_id: str, *, create: bool) -> Any:
        name = collection_name_for(agent_id, f"{self._prefix}-{_KIND}")
        with self._lock:
            cached = self._collections.get(name)
        if cached is not None:
            return cached
        client = self._client_source()
        if create:
            collection = client.get_or_create_collection(
                name,
                metadata={"toolwise_tasktypes_agent": agent_id},
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        else:
            try:
                collection = client.get_collection(name, embedding_function=None)
            except Exception:  # Chroma raises NotFoundError or ValueError depending on version
                return None
        with self._lock:
            self._collections[name] = collection
        return collection

    def load(self, agent_id: str) -> list[TaskCluster]:
        collection = self._collection(agent_id, create=False)
        if collection is None:
            return []
        found: list[TaskCluster] = []
        offset = 0
        while True:
            page = collection.get(limit=_PAGE, offset=offset, include=["metadatas", "embeddings"])
            ids = page.get("ids") or []
            metadatas = page.get("metadatas") or []
            vectors = page.get("embeddings")
            for index, (name, meta) in enumerate(zip(ids, metadatas, strict=False)):
                if vectors is None or len(vectors) <= index:
                    continue
                found.append(
                    TaskCluster(
                        name=str(name),
                        centroid=tuple(float(v) for v in vectors[index]),
                        count=int((meta or {}).get("count", 1)),
                        embedding=str((meta or {}).get("embedding", "")),
                    )
                )
            if len(ids) < _PAGE:
                return found
            offset += _PAGE

    def save(self, agent_id: str, clusters: Sequence[TaskCluster]) -> None:
        if not clusters:
            return
        collection = self._collection(agent_id, create=True)
        collection.upsert(
            ids=[c.name for c in clusters],
            embeddings=[list(c.centroid) for c in clusters],
            metadatas=[{"count": c.count, "embedding": c.embedding} for c in clusters],
        )


def task_cluster_store_for(store: OutcomeStore) -> TaskClusterStore:
    """The cluster store beside ``store``: the same Chroma client and prefix, else memory."""
    from toolwise.storage.chroma import ChromaOutcomeStore

    if isinstance(store, ChromaOutcomeStore):
        # Share the outcome store's (possibly lazily connected) client rather than opening a
        # second one on the same path (embedded Chroma is not process-safe).
        return ChromaTaskClusterStore(lambda: store._client, prefix=store._prefix)
    log.info("toolwise: learnt task types are kept in memory (the outcome store is not Chroma)")
    return MemoryTaskClusterStore()
