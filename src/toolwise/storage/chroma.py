"""Outcome records in ChromaDB: one collection per agent, vectors computed by toolwise.

Each record is stored as a short searchable document, its own vector (from the configured
:class:`~toolwise.storage.embeddings.EmbeddingFunction`), flat metadata for filtering, and the
full record as JSON under ``record`` so reads are lossless. Writes use ``upsert`` so a replayed
batch never duplicates (Chroma's ``add`` silently ignores existing ids).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from toolwise.errors import EmbeddingMismatchError, InvalidAgentIdError, InvalidArgumentError
from toolwise.models import ToolOutcome
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding
from toolwise.storage.naming import collection_name_for
from toolwise.storage.protocol import CallFilter, SimilarOutcome

__all__ = ["ChromaOutcomeStore", "outcome_document"]

_NO_EXPIRY = 32_503_680_000.0  # year 3000: records without a TTL still pass `expires_at > now`
_PAGE = 2_000  # well under Chroma's 32,766-match get() limit and its max batch size
_AGENT_KEY = "toolwise_agent_id"
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def outcome_document(outcome: ToolOutcome) -> str:
    """The text embedded for a record: tool, verdict, task and error, in words."""
    parts = [f"{outcome.tool} {outcome.outcome}"]
    if outcome.task_type:
        parts.append(f"for {outcome.task_type}")
    if outcome.environment:
        parts.append(f"in {outcome.environment}")
    text = " ".join(parts)
    if outcome.task:
        text += f". Task: {outcome.task[:300]}"
    if outcome.error_type or outcome.error_message:
        text += f". Error: {outcome.error_type} {outcome.error_message[:300]}".rstrip()
    return text


def _epoch(moment: datetime | None) -> float:
    return _NO_EXPIRY if moment is None else moment.timestamp()


def _metadata(outcome: ToolOutcome) -> dict[str, Any]:
    return {
        "agent_id": outcome.agent_id,
        "tool": outcome.tool,
        "task_type": outcome.task_type,
        "environment": outcome.environment,
        "session_id": outcome.session_id,
        "outcome": outcome.outcome,
        "timestamp": outcome.timestamp.timestamp(),
        "expires_at": _epoch(outcome.expires_at),
        "latency_ms": float(outcome.latency_ms),
        "cost": float(outcome.cost),
        "error_type": outcome.error_type,
        "decision_id": outcome.decision_id,
        "importance": outcome.importance,
        "record": outcome.model_dump_json(),
    }


def _where(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _filter_clauses(call_filter: CallFilter, now: datetime) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = [{"expires_at": {"$gt": now.timestamp()}}]
    for key in ("tool", "session_id", "task_type", "environment", "outcome"):
        value = getattr(call_filter, key)
        if value is not None:
            clauses.append({key: value})
    if call_filter.success_only:
        clauses.append({"outcome": "success"})
    if call_filter.since is not None:
        clauses.append({"timestamp": {"$gte": call_filter.since.timestamp()}})
    if call_filter.until is not None:
        clauses.append({"timestamp": {"$lt": call_filter.until.timestamp()}})
    return clauses


def _records(result: Any) -> list[ToolOutcome]:
    return [ToolOutcome.model_validate_json(m["record"]) for m in result["metadatas"] or []]


class ChromaOutcomeStore:
    """An :class:`~toolwise.storage.protocol.OutcomeStore` on any Chroma client.

    Args:
        client: ``chromadb.PersistentClient``, ``HttpClient`` or ``EphemeralClient`` — or a
            zero-argument factory for one, called on first use and again after a failure, so
            a server that is down when the app starts does not stop it (records wait spooled).
        embedding: vectors for documents and queries; defaults to the offline hashing one.
        prefix: collection-name prefix, so several toolwise apps can share one server.

    Thread-safe: Chroma's clients are; the collection cache is behind a lock. Embedded clients
    are not process-safe — point several processes at a ``chroma run`` server instead.
    """

    def __init__(
        self,
        client: Any,
        *,
        embedding: EmbeddingFunction | None = None,
        prefix: str = "toolwise",
    ) -> None:
        if not _PREFIX.match(prefix):
            # Checked now: Chroma would reject every collection name only at the first write,
            # in the writer thread, where it can only be retried forever.
            raise InvalidArgumentError(
                "prefix", prefix, "must be 1-64 of [A-Za-z0-9._-], starting alphanumeric"
            )
        self._factory: Callable[[], Any] | None = client if callable(client) else None
        self._client_obj: Any | None = None if callable(client) else client
        self._embedding: EmbeddingFunction = embedding or HashingEmbedding()
        self._prefix = prefix
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._max_batch = (
            1_000 if client is None or callable(client) else self._read_max_batch(client)
        )

    @property
    def embedding(self) -> EmbeddingFunction:
        return self._embedding

    @property
    def _client(self) -> Any:
        client = self._client_obj
        if client is None:
            with self._lock:
                if self._client_obj is None:
                    assert self._factory is not None
                    self._client_obj = self._factory()  # raises while the server is down
                    self._max_batch = self._read_max_batch(self._client_obj)
                client = self._client_obj
        return client

    @staticmethod
    def _read_max_batch(client: Any) -> int:
        try:
            return max(1, min(int(client.get_max_batch_size()), 5_000))
        except Exception:  # older clients, or a server that went away again
            return 1_000

    def _collection(self, agent_id: str, *, create: bool = True) -> Any:
        """The agent's collection; ``None`` when ``create`` is False and it does not exist."""
        name = collection_name_for(agent_id, self._prefix)
        with self._lock:
            cached = self._collections.get(name)
        if cached is not None:
            return cached
        if create:
            collection = self._client.get_or_create_collection(
                name,
                metadata={
                    _AGENT_KEY: agent_id,
                    "toolwise_embedding": self._embedding.name,
                    "toolwise_dimension": self._embedding.dimension,
                },
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        else:
            try:
                collection = self._client.get_collection(name, embedding_function=None)
            except Exception:  # Chroma raises NotFoundError/ValueError by version
                return None
        self._check_embedding(collection)
        with self._lock:
            self._collections[name] = collection
        return collection

    def _check_embedding(self, collection: Any) -> None:
        meta = collection.metadata or {}
        stored = meta.get("toolwise_embedding")
        if stored is not None and stored != self._embedding.name:
            msg = (
                f"collection {collection.name!r} was written with embedding {stored!r}, "
                f"not {self._embedding.name!r}; pass the same embedding or a new prefix"
            )
            raise EmbeddingMismatchError(msg)

    # -- writes -------------------------------------------------------------------------------

    def write(self, outcomes: Sequence[ToolOutcome]) -> None:
        by_agent: dict[str, list[ToolOutcome]] = {}
        for outcome in outcomes:
            by_agent.setdefault(outcome.agent_id, []).append(outcome)
        for agent_id, group in by_agent.items():
            collection = self._collection(agent_id)
            for start in range(0, len(group), self._max_batch):
                chunk = {o.id: o for o in group[start : start + self._max_batch]}  # last wins
                documents = [outcome_document(o) for o in chunk.values()]
                collection.upsert(  # no documents: Chroma's full-text index costs ~25% per write
                    ids=list(chunk),
                    embeddings=self._embedding(documents),
                    metadatas=[_metadata(o) for o in chunk.values()],
                )

    def delete(
        self, agent_id: str, *, tool: str | None = None, ids: Sequence[str] | None = None
    ) -> int:
        collection = self._collection(agent_id, create=False)
        if collection is None:
            return 0
        if ids is not None:
            if not ids:  # Chroma rejects get(ids=[]) with a ValueError; nothing to forget
                return 0
            found = collection.get(ids=list(ids), include=[])["ids"]
            if found:
                collection.delete(ids=found)
            return len(found)
        where = {"tool": tool} if tool is not None else None
        removed = 0
        while True:
            page = collection.get(where=where, limit=_PAGE, include=[])["ids"]
            if not page:
                return removed
            collection.delete(ids=page)
            removed += len(page)

    def purge_expired(self, now: datetime) -> int:
        removed = 0
        for agent_id in self.agents():
            collection = self._collection(agent_id)
            while True:
                page = collection.get(
                    where={"expires_at": {"$lte": now.timestamp()}}, limit=_PAGE, include=[]
                )["ids"]
                if not page:
                    break
                collection.delete(ids=page)
                removed += len(page)
        return removed

    # -- reads --------------------------------------------------------------------------------

    def get(self, ids: Sequence[str], *, agent_id: str | None = None) -> list[ToolOutcome]:
        if not ids:  # Chroma rejects get(ids=[]) with a ValueError
            return []
        agents = [agent_id] if agent_id is not None else self.agents()
        found: list[ToolOutcome] = []
        for agent in agents:
            collection = self._collection(agent, create=False)
            if collection is not None:
                found.extend(_records(collection.get(ids=list(ids), include=["metadatas"])))
        return found

    def _pages(self, collection: Any, where: dict[str, Any] | None) -> Iterator[ToolOutcome]:
        offset = 0
        while True:
            result = collection.get(where=where, limit=_PAGE, offset=offset, include=["metadatas"])
            records = _records(result)
            yield from records
            if len(records) < _PAGE:
                return
            offset += _PAGE

    def find(
        self,
        agent_id: str,
        call_filter: CallFilter,
        *,
        limit: int,
        offset: int,
        now: datetime,
    ) -> list[ToolOutcome]:
        collection = self._collection(agent_id, create=False)
        if collection is None:
            return []
        matches = list(self._pages(collection, _where(_filter_clauses(call_filter, now))))
        matches.sort(key=lambda o: (o.timestamp, o.id), reverse=True)
        return matches[offset : offset + limit]

    def iter_outcomes(
        self, agent_id: str | None = None, *, since: datetime | None = None, now: datetime
    ) -> Iterator[ToolOutcome]:
        agents = [agent_id] if agent_id is not None else self.agents()
        for agent in agents:
            collection = self._collection(agent, create=False)
            if collection is None:
                continue
            clauses = _filter_clauses(CallFilter(since=since), now)
            records = list(self._pages(collection, _where(clauses)))
            records.sort(key=lambda o: o.timestamp)
            yield from records

    def similar(
        self,
        agent_id: str,
        text: str,
        *,
        k: int,
        now: datetime,
        outcome: str | None = None,
    ) -> list[SimilarOutcome]:
        collection = self._collection(agent_id, create=False)
        if collection is None or k <= 0:
            return []
        clauses = _filter_clauses(CallFilter(outcome=outcome), now)
        result = collection.query(
            query_embeddings=self._embedding([text]),
            n_results=k,
            where=_where(clauses),
            include=["metadatas", "distances"],
        )
        metadatas = (result.get("metadatas") or [[]])[0]
        distances = (result.get("distances") or [[]])[0]
        return [
            SimilarOutcome(ToolOutcome.model_validate_json(m["record"]), float(d))
            for m, d in zip(metadatas, distances, strict=False)
        ]

    def agents(self) -> list[str]:
        agents: list[str] = []
        prefix = f"{self._prefix}_"
        for collection in self._client.list_collections():
            name = collection if isinstance(collection, str) else collection.name
            if not name.startswith(prefix):
                continue
            meta = getattr(collection, "metadata", None)
            if meta is None:
                meta = self._client.get_collection(name, embedding_function=None).metadata
            agent = (meta or {}).get(_AGENT_KEY)
            if isinstance(agent, str) and self._owns(name, agent):
                agents.append(agent)
        return sorted(agents)

    def _owns(self, name: str, agent_id: str) -> bool:
        """Whether collection ``name`` is this store's namespace for ``agent_id``.

        With prefixes "tw" and "tw_x" on one server, "tw_x_a" starts with "tw_" yet belongs
        to the other app: the name must be exactly this prefix's mapping of the agent.
        """
        try:
            return collection_name_for(agent_id, self._prefix) == name
        except InvalidAgentIdError:  # metadata written by something else: not ours
            return False

    def count(self, agent_id: str) -> int:
        collection = self._collection(agent_id, create=False)
        return 0 if collection is None else int(collection.count())

    def close(self) -> None:
        with self._lock:
            self._collections.clear()

    def heartbeat(self) -> bool:
        """True when the backing client answers; used by the writer to pace retries."""
        try:
            self._client.heartbeat()
        except Exception:
            return False
        return True
