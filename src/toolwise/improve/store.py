"""Where lessons, demonstrations, composites, prompt versions and the audit trail live.

One Chroma collection per kind and agent, named ``{prefix}-{kind}_{agent}`` (so the outcome
store, which lists ``{prefix}_…``, never mistakes them for agents). Each item is its model as
JSON in metadata ``record`` plus a ``timestamp``; vectors are always computed by toolwise
(never ``query_texts``). Kinds that are never searched by meaning store a constant 1-d
vector, so the audit trail does not depend on the embedding and costs no embedding calls.

:class:`MemoryKnowledgeStore` keeps the same in a process (used when the outcome store is not
Chroma, and handy in tests); it is lost at exit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from toolwise.errors import EmbeddingMismatchError
from toolwise.storage.embeddings import EmbeddingFunction, cosine
from toolwise.storage.namespaces import adopt_legacy, check_owner, existing
from toolwise.storage.naming import collection_name_for, legacy_collection_name_for

__all__ = [
    "SEARCHABLE",
    "ChromaHost",
    "ChromaKnowledgeStore",
    "Item",
    "Kind",
    "KnowledgeStore",
    "MemoryKnowledgeStore",
    "knowledge_store_for",
]

log = logging.getLogger("toolwise.improve")

# A collection found missing is not asked for again this long: every brief asks for the
# agent's lessons, and before the first lesson exists that was two failing store round trips
# per brief (measured: a third of a brief's time in the HTTP service). Lessons written by
# this process create the collection at once; another process's appear within this delay.
_ABSENT_TTL = 10.0

Kind = Literal["lessons", "demonstrations", "composites", "prompts", "audit", "state"]
SEARCHABLE: frozenset[Kind] = frozenset({"lessons", "demonstrations"})
_PAGE = 2_000  # under Chroma's 32,766-match get() limit
_AGENT_KEY = "toolwise_improve_agent"
_PLACEHOLDER = [1.0]


@dataclass(frozen=True, slots=True)
class Item:
    """One stored model: id, its JSON, its vector (searchable kinds only) and a UTC epoch."""

    id: str
    payload: str
    timestamp: float
    vector: Sequence[float] | None = None


@runtime_checkable
class KnowledgeStore(Protocol):
    """Durable home of what self-improvement learns; one namespace per (kind, agent)."""

    def put(self, kind: Kind, agent_id: str, items: Sequence[Item]) -> None:
        """Insert or replace by id (idempotent)."""
        ...

    def load(self, kind: Kind, agent_id: str, *, since: float | None = None) -> list[Item]:
        """Every item (with ``timestamp >= since``), in no particular order."""
        ...

    def nearest(
        self, kind: Kind, agent_id: str, vector: Sequence[float], k: int
    ) -> list[tuple[Item, float]]:
        """Up to ``k`` items by cosine similarity to ``vector``, most similar first."""
        ...

    def remove(self, kind: Kind, agent_id: str, ids: Sequence[str]) -> None: ...

    def agents(self, kind: Kind) -> list[str]: ...


class MemoryKnowledgeStore:
    """A :class:`KnowledgeStore` in process memory (thread-safe; gone at exit)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], dict[str, Item]] = {}
        self._lock = threading.Lock()

    def put(self, kind: Kind, agent_id: str, items: Sequence[Item]) -> None:
        with self._lock:
            space = self._items.setdefault((kind, agent_id), {})
            for item in items:
                space[item.id] = item

    def load(self, kind: Kind, agent_id: str, *, since: float | None = None) -> list[Item]:
        with self._lock:
            items = list(self._items.get((kind, agent_id), {}).values())
        return [i for i in items if since is None or i.timestamp >= since]

    def nearest(
        self, kind: Kind, agent_id: str, vector: Sequence[float], k: int
    ) -> list[tuple[Item, float]]:
        scored = [
            (item, cosine(vector, item.vector))
            for item in self.load(kind, agent_id)
            if item.vector is not None
        ]
        scored.sort(key=lambda pair: pair[1], reverse=True)
        return scored[: max(k, 0)]

    def remove(self, kind: Kind, agent_id: str, ids: Sequence[str]) -> None:
        with self._lock:
            space = self._items.get((kind, agent_id), {})
            for item_id in ids:
                space.pop(item_id, None)

    def agents(self, kind: Kind) -> list[str]:
        with self._lock:
            return sorted(
                {agent for (k, agent), items in self._items.items() if k == kind and items}
            )


class ChromaKnowledgeStore:
    """A :class:`KnowledgeStore` on Chroma collections ``{prefix}-{kind}_{agent}``.

    Args:
        client: a Chroma client, or a zero-argument callable returning one (called per use,
            so a lazily connected client is shared with the outcome store).
        embedding: only its ``name`` is used here: it is stamped on searchable collections,
            and reopening them under another embedding raises :class:`EmbeddingMismatchError`.
        prefix: the application's collection prefix (the same as the outcome store's).
    """

    def __init__(
        self,
        client: Any,
        *,
        embedding: EmbeddingFunction,
        prefix: str = "toolwise",
    ) -> None:
        self._client_source: Callable[[], Any] = client if callable(client) else lambda: client
        self._embedding_name = embedding.name
        self._prefix = prefix
        self._collections: dict[str, Any] = {}
        self._absent: dict[str, float] = {}  # name -> when it was found missing (monotonic)
        self._lock = threading.Lock()

    def _name(self, kind: Kind, agent_id: str) -> str:
        return collection_name_for(agent_id, f"{self._prefix}-{kind}")

    def _collection(self, kind: Kind, agent_id: str, *, create: bool) -> Any:
        name = self._name(kind, agent_id)
        with self._lock:
            cached = self._collections.get(name)
            missing_since = self._absent.get(name)
        if cached is not None:
            return cached
        fresh = missing_since is not None and time.monotonic() - missing_since < _ABSENT_TTL
        if fresh and not create:
            return None
        client = self._client_source()
        # Checked to be this agent's, or found under the old naming and renamed: one agent's
        # lessons never mix with another's (toolwise.storage.namespaces).
        legacy = legacy_collection_name_for(agent_id, f"{self._prefix}-{kind}")
        collection = existing(client, name) or adopt_legacy(
            client, agent_id, name=name, legacy=legacy, owner_key=_AGENT_KEY
        )
        if collection is None:
            if not create:
                with self._lock:
                    self._absent[name] = time.monotonic()
                return None
            metadata: dict[str, Any] = {_AGENT_KEY: agent_id, "toolwise_improve_kind": kind}
            if kind in SEARCHABLE:
                metadata["toolwise_embedding"] = self._embedding_name
            collection = client.get_or_create_collection(
                name,
                metadata=metadata,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        check_owner(collection, _AGENT_KEY, agent_id)
        stored = (collection.metadata or {}).get("toolwise_embedding")
        if kind in SEARCHABLE and stored is not None and stored != self._embedding_name:
            msg = (
                f"collection {name!r} was written with embedding {stored!r}, not "
                f"{self._embedding_name!r}; pass the same embedding or a new prefix"
            )
            raise EmbeddingMismatchError(msg)
        with self._lock:
            self._collections[name] = collection
            self._absent.pop(name, None)
        return collection

    def put(self, kind: Kind, agent_id: str, items: Sequence[Item]) -> None:
        if not items:
            return
        collection = self._collection(kind, agent_id, create=True)
        unique = {item.id: item for item in items}  # last wins, as upsert would
        for start in range(0, len(unique), _PAGE):
            chunk = list(unique.values())[start : start + _PAGE]
            collection.upsert(
                ids=[i.id for i in chunk],
                embeddings=[
                    list(i.vector) if kind in SEARCHABLE and i.vector is not None else _PLACEHOLDER
                    for i in chunk
                ],
                metadatas=[{"record": i.payload, "timestamp": float(i.timestamp)} for i in chunk],
            )

    def load(self, kind: Kind, agent_id: str, *, since: float | None = None) -> list[Item]:
        collection = self._collection(kind, agent_id, create=False)
        if collection is None:
            return []
        where = None if since is None else {"timestamp": {"$gte": float(since)}}
        include = ["metadatas", "embeddings"] if kind in SEARCHABLE else ["metadatas"]
        items: list[Item] = []
        offset = 0
        while True:
            page = collection.get(where=where, limit=_PAGE, offset=offset, include=include)
            items.extend(_items(page, with_vectors=kind in SEARCHABLE))
            if len(page["ids"]) < _PAGE:
                return items
            offset += _PAGE

    def nearest(
        self, kind: Kind, agent_id: str, vector: Sequence[float], k: int
    ) -> list[tuple[Item, float]]:
        collection = self._collection(kind, agent_id, create=False)
        if collection is None or k <= 0 or kind not in SEARCHABLE:
            return []
        count = int(collection.count())
        if count == 0:
            return []
        result = collection.query(
            query_embeddings=[list(vector)],
            n_results=min(k, count),
            include=["metadatas", "distances", "embeddings"],
        )
        page = {
            "ids": (result.get("ids") or [[]])[0],
            "metadatas": (result.get("metadatas") or [[]])[0],
            "embeddings": _first(result.get("embeddings")),
        }
        distances = (result.get("distances") or [[]])[0]
        return [
            (item, 1.0 - float(distance))
            for item, distance in zip(_items(page, with_vectors=True), distances, strict=False)
        ]

    def remove(self, kind: Kind, agent_id: str, ids: Sequence[str]) -> None:
        if not ids:  # Chroma rejects delete(ids=[])
            return
        collection = self._collection(kind, agent_id, create=False)
        if collection is not None:
            collection.delete(ids=list(ids))

    def agents(self, kind: Kind) -> list[str]:
        found: list[str] = []
        client = self._client_source()
        start = f"{self._prefix}-{kind}_"
        for collection in client.list_collections():
            name = collection if isinstance(collection, str) else collection.name
            if not name.startswith(start):
                continue
            meta = getattr(collection, "metadata", None)
            if meta is None:
                meta = client.get_collection(name, embedding_function=None).metadata
            agent = (meta or {}).get(_AGENT_KEY)
            legacy = f"{self._prefix}-{kind}"
            if isinstance(agent, str) and name in (
                self._name(kind, agent),
                legacy_collection_name_for(agent, legacy),
            ):
                found.append(agent)
        return sorted(set(found))


def _first(batch: Any) -> Any:
    if batch is None:
        return None
    return batch[0] if len(batch) else None


def _items(page: Any, *, with_vectors: bool) -> list[Item]:
    ids = page.get("ids") or []
    metadatas = page.get("metadatas") or []
    vectors = page.get("embeddings") if with_vectors else None
    items = []
    for index, (item_id, meta) in enumerate(zip(ids, metadatas, strict=False)):
        vector = None
        if vectors is not None and len(vectors) > index:
            vector = [float(v) for v in vectors[index]]
        items.append(
            Item(
                id=str(item_id),
                payload=str(meta["record"]),
                timestamp=float(meta.get("timestamp", 0.0)),
                vector=vector,
            )
        )
    return items


@runtime_checkable
class ChromaHost(Protocol):
    """An outcome store on Chroma that lends its client (``ChromaOutcomeStore`` is one)."""

    @property
    def prefix(self) -> str: ...

    def client(self) -> Any: ...


def knowledge_store_for(outcomes: object, embedding: EmbeddingFunction) -> KnowledgeStore:
    """The knowledge store beside ``outcomes``: its Chroma client and prefix when it lends
    them (:class:`ChromaHost`), else in memory with a warning.

    Sharing the client matters: a second client on one embedded path is not process-safe.
    Pass ``store=`` to :class:`~toolwise.improve.Improver` to keep lessons of a non-Chroma
    outcome store across restarts.
    """
    if isinstance(outcomes, ChromaHost):
        # A factory, not the client: the outcome store connects lazily (and reconnects).
        return ChromaKnowledgeStore(outcomes.client, embedding=embedding, prefix=outcomes.prefix)
    log.warning(
        "toolwise.improve: the outcome store is not Chroma; lessons and the audit trail are "
        "kept in memory only (pass store= to keep them)"
    )
    return MemoryKnowledgeStore()
