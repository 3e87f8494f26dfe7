"""Outcome records in ChromaDB: one collection per agent, vectors computed by toolwise.

Each record is stored as its own vector (from the configured
:class:`~toolwise.storage.embeddings.EmbeddingFunction`), flat metadata for filtering, and the
full record as JSON under ``record`` so reads are lossless. Writes use ``upsert`` so a replayed
batch never duplicates (Chroma's ``add`` silently ignores existing ids).

Chroma evaluates a metadata ``where`` by scanning the collection's metadata (``limit`` does not
stop the scan): hundreds of milliseconds per call at 100,000 records. So the hot reads avoid it:

* **Failure index.** Every failure is also kept in a collection of its own,
  ``{prefix}-failures_{agent}`` (the knowledge store's ``{prefix}-{kind}_{agent}`` naming, which
  no agent's ``{prefix}_…`` collection can take, so :meth:`ChromaOutcomeStore.agents` never
  lists it), with the same id and vector and a little metadata (tool, timestamp, expiry).
  ``similar(outcome="failure")`` queries it with no ``where``, drops expired hits in Python and
  reads the hits back from the agent's collection, the source of truth: a record that was
  forgotten, or rewritten as a success, by a writer that missed the index is never returned (and
  is then removed from the index). ``similar`` without an outcome over-fetches from the agent's
  collection without ``where`` and drops expired hits in Python.
* **Paging without ``where``.** :meth:`ChromaOutcomeStore.iter_outcomes` (the learnt view's
  rebuild) and an expiry-only :meth:`ChromaOutcomeStore.find` read every row in pages of
  :data:`_PAGE` with no ``where`` and check expiry in Python; ``since`` keeps a ``where`` on
  ``timestamp`` (one scan per page, pages of up to 30,000 rows).

Stores written before the failure index existed keep working: the first ``write`` for an agent
(in the background writer, off the hot path) creates the index, copies the agent's stored
failures into it and only then marks it ``complete`` in its metadata. Until an agent's index is
complete, ``similar(outcome="failure")`` falls back to the filtered query (correct, slow).
:meth:`ChromaOutcomeStore.build_failure_index` does the same on demand (a migration step for a
store that is only read). Every process writing to one store must run this version: an older
writer adds failures to the agent's collection only, and they are missing from recall (never
wrong: hits are always confirmed against the agent's collection).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from toolwise.errors import (
    EmbeddingMismatchError,
    InvalidAgentIdError,
    InvalidArgumentError,
    StoreError,
)
from toolwise.models import ToolOutcome
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding
from toolwise.storage.naming import collection_name_for
from toolwise.storage.protocol import CallFilter, SimilarOutcome

__all__ = ["ChromaOutcomeStore", "outcome_document"]

log = logging.getLogger("toolwise.storage")

_NO_EXPIRY = 32_503_680_000.0  # year 3000: records without a TTL still pass `expires_at > now`
# Rows per get(): Chroma fails a get() matching more than 32,766 rows, and each page with a
# `where` costs a scan of the whole table, so pages are as large as is safe. Tests shrink it.
_PAGE = 30_000
_COPY_PAGE = 5_000  # rows per get() that also returns vectors (building the failure index)
_OVERFETCH = 2  # a vector query without `where` asks for k x this, filters, asks again if short
_MAX_FETCH = 1_000  # ... up to this many neighbours; beyond, Chroma's filtered query is cheaper
_AGENT_KEY = "toolwise_agent_id"
_INDEX_OF_KEY = "toolwise_failures_of"  # not _AGENT_KEY: no agents() may mistake an index
_INDEX_STATE_KEY = "toolwise_index"
_COMPLETE = "complete"
_FAILURE = "failure"
_INDEX_KIND = "failures"
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_COSINE = {"hnsw": {"space": "cosine"}}
# Store time of a row (epoch s, the writer's wall clock): what other processes tail by. Rows
# written before it existed have none; they are read by every full read and by record time.
STORED_AT = "stored_at"

_Hit = tuple[str, Mapping[str, Any], float]  # id, metadata, distance


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
    """What Chroma keeps beside the vector: the fields filters use, and the record itself.

    Only filtered fields are separate keys: Chroma stores one row per key, and reading a
    record costs about 4 µs per key (the rebuild reads every record). Everything else is in
    ``record``. (Records written before kept six more keys; they read the same.)
    """
    return {
        "tool": outcome.tool,
        "task_type": outcome.task_type,
        "environment": outcome.environment,
        "session_id": outcome.session_id,
        "outcome": outcome.outcome,
        "timestamp": outcome.timestamp.timestamp(),
        "expires_at": _epoch(outcome.expires_at),
        "record": outcome.model_dump_json(),
    }


def _index_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A failure-index entry's metadata: enough to filter and forget; the record stays home."""
    return {
        "tool": metadata.get("tool", ""),
        "timestamp": float(metadata.get("timestamp", 0.0)),
        "expires_at": float(metadata.get("expires_at", _NO_EXPIRY)),
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


def _unexpired(metadata: Mapping[str, Any], cutoff: float) -> bool:
    return float(metadata.get("expires_at", _NO_EXPIRY)) > cutoff


def _hits(result: Any) -> list[_Hit]:
    ids = (result.get("ids") or [[]])[0]
    metadatas = (result.get("metadatas") or [[]])[0]
    distances = (result.get("distances") or [[]])[0]
    return [(str(i), m or {}, float(d)) for i, m, d in zip(ids, metadatas, distances, strict=False)]


def _complete(collection: Any) -> bool:
    return (collection.metadata or {}).get(_INDEX_STATE_KEY) == _COMPLETE


class ChromaOutcomeStore:
    """An :class:`~toolwise.storage.protocol.OutcomeStore` on any Chroma client.

    Args:
        client: ``chromadb.PersistentClient``, ``HttpClient`` or ``EphemeralClient`` — or a
            zero-argument factory for one, called on first use and again after a failure, so
            a server that is down when the app starts does not stop it (records wait spooled).
        embedding: vectors for documents and queries; defaults to the offline hashing one.
        prefix: collection-name prefix, so several toolwise apps can share one server.

    Thread-safe: Chroma's clients are; the collection caches are behind a lock. Embedded
    clients are not process-safe — point several processes at a ``chroma run`` server instead.
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
        self._indexes: dict[str, Any] = {}  # agent id -> its *complete* failure index
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()  # one index build at a time
        self._max_batch = (
            1_000 if client is None or callable(client) else self._read_max_batch(client)
        )
        self._unusable = ""  # why this process cannot use the client (set after a fork)
        self._stamped = 0.0  # the last store time given out (stamps only grow)
        self._stamp_lock = threading.Lock()

    @property
    def embedding(self) -> EmbeddingFunction:
        return self._embedding

    @property
    def prefix(self) -> str:
        """The collection-name prefix (stores kept beside this one reuse it)."""
        return self._prefix

    def client(self) -> Any:
        """The Chroma client, connected on first use: for stores kept beside this one (the
        knowledge store of :mod:`toolwise.improve`), so one path never gets two clients.

        Raises:
            StoreError: this process cannot use the client (embedded Chroma after a fork).
        """
        return self._client

    def after_fork(self) -> bool:
        """Called in a forked child: fresh locks and caches, and whether this process can use
        the store at all. A server's HTTP client can (a factory makes a new one on first use);
        embedded Chroma cannot — its native core hangs in a forked child — so every call then
        raises :class:`~toolwise.errors.StoreError` at once instead of hanging the agent."""
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._stamp_lock = threading.Lock()
        self._collections = {}
        self._indexes = {}
        client = self._client_obj
        if self._factory is not None and (client is None or _is_remote(client)):
            self._client_obj = None  # made again on first use, in this process
            return True
        if client is not None and _is_remote(client):
            return True
        self._unusable = (
            "embedded Chroma cannot be used in a process forked after it was opened; "
            "create the Toolwise after the fork (e.g. in a worker start-up hook) or use "
            "Toolwise(url=...) with a `chroma run` server"
        )
        return False

    @property
    def _client(self) -> Any:
        if self._unusable:
            raise StoreError(self._unusable)
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
                configuration=_COSINE,
                embedding_function=None,
            )
        else:
            client = self._client  # outside the try: "cannot connect" is not "not found"
            try:
                collection = client.get_collection(name, embedding_function=None)
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

    # -- the failure index --------------------------------------------------------------------

    def _index_name(self, agent_id: str) -> str:
        return collection_name_for(agent_id, f"{self._prefix}-{_INDEX_KIND}")

    def _failure_index(self, agent_id: str, collection: Any) -> Any:
        """The agent's failure index, created and filled from ``collection`` if incomplete."""
        with self._lock:
            index = self._indexes.get(agent_id)
        if index is not None:
            return index
        with self._index_lock:
            with self._lock:
                index = self._indexes.get(agent_id)
            if index is not None:
                return index
            index = self._client.get_or_create_collection(
                self._index_name(agent_id),
                metadata={
                    _INDEX_OF_KEY: agent_id,
                    "toolwise_embedding": self._embedding.name,
                    "toolwise_dimension": self._embedding.dimension,
                },
                configuration=_COSINE,
                embedding_function=None,
            )
            self._check_embedding(index)
            if not _complete(index):
                # Created before the copy, so a concurrent writer of this version already
                # writes here too; marked complete only once every stored failure is in.
                copied = self._copy_failures(collection, index)
                index.modify(metadata={**(index.metadata or {}), _INDEX_STATE_KEY: _COMPLETE})
                if copied:
                    log.info("toolwise: indexed %d stored failure(s) of %r", copied, agent_id)
            with self._lock:
                self._indexes[agent_id] = index
        return index

    def _copy_failures(self, collection: Any, index: Any) -> int:
        """Upsert every failure of ``collection`` into ``index``; returns how many."""
        ids: list[str] = []
        offset = 0
        while True:  # ids first: a where-scan per 30,000 rows, not per 5,000
            page = collection.get(
                where={"outcome": _FAILURE}, limit=_PAGE, offset=offset, include=[]
            )["ids"]
            ids.extend(page)
            if len(page) < _PAGE:
                break
            offset += len(page)
        step = min(_COPY_PAGE, self._max_batch)
        for start in range(0, len(ids), step):
            rows = collection.get(
                ids=ids[start : start + step], include=["embeddings", "metadatas"]
            )
            if len(rows["ids"]):
                index.upsert(
                    ids=list(rows["ids"]),
                    embeddings=rows["embeddings"],
                    metadatas=[_index_metadata(m or {}) for m in rows["metadatas"]],
                )
        return len(ids)

    def _ready_index(self, agent_id: str) -> Any | None:
        """The agent's failure index if it is complete (read path: never builds one)."""
        with self._lock:
            index = self._indexes.get(agent_id)
        if index is not None:
            return index
        try:
            index = self._client.get_collection(self._index_name(agent_id), embedding_function=None)
        except Exception:  # not there (yet)
            return None
        if not _complete(index):
            return None
        self._check_embedding(index)
        with self._lock:
            self._indexes[agent_id] = index
        return index

    def _any_index(self, agent_id: str) -> Any | None:
        """The agent's failure index, complete or not (deletes reach both)."""
        with self._lock:
            index = self._indexes.get(agent_id)
        if index is not None:
            return index
        try:
            return self._client.get_collection(self._index_name(agent_id), embedding_function=None)
        except Exception:
            return None

    def build_failure_index(self, agent_id: str | None = None) -> list[str]:
        """Make the failure index of ``agent_id`` (or of every agent) complete now.

        Stores from before the index build it on their first write; call this to migrate a
        store that is only read. Returns the agents whose index is complete.
        """
        done = []
        for agent in [agent_id] if agent_id is not None else self.agents():
            collection = self._collection(agent, create=False)
            if collection is not None:
                self._failure_index(agent, collection)
                done.append(agent)
        return done

    # -- writes -------------------------------------------------------------------------------

    def write(self, outcomes: Sequence[ToolOutcome]) -> None:
        by_agent: dict[str, list[ToolOutcome]] = {}
        for outcome in outcomes:
            by_agent.setdefault(outcome.agent_id, []).append(outcome)
        for agent_id, group in by_agent.items():
            collection = self._collection(agent_id)
            index = self._failure_index(agent_id, collection)
            for start in range(0, len(group), self._max_batch):
                chunk = {o.id: o for o in group[start : start + self._max_batch]}  # last wins
                ids = list(chunk)
                records = list(chunk.values())
                embeddings = self._embedding([outcome_document(o) for o in records])
                stamp = self._stamp()  # after embedding: as close to visibility as can be
                metadatas = [{**_metadata(o), STORED_AT: stamp} for o in records]
                collection.upsert(  # no documents: Chroma's full-text index costs ~25% per write
                    ids=ids, embeddings=embeddings, metadatas=metadatas
                )
                failed = [n for n, o in enumerate(records) if o.outcome == _FAILURE]
                if failed:
                    index.upsert(
                        ids=[ids[n] for n in failed],
                        embeddings=[embeddings[n] for n in failed],
                        metadatas=[_index_metadata(metadatas[n]) for n in failed],
                    )

    def _delete_ids(self, collection: Any, index: Any | None, ids: Sequence[str]) -> None:
        """Delete ``ids`` from the agent's collection and its failure index."""
        for start in range(0, len(ids), self._max_batch):
            chunk = list(ids[start : start + self._max_batch])
            if index is not None:  # first: an id may linger in the index, never the reverse
                index.delete(ids=chunk)
            collection.delete(ids=chunk)

    def delete(
        self, agent_id: str, *, tool: str | None = None, ids: Sequence[str] | None = None
    ) -> int:
        collection = self._collection(agent_id, create=False)
        if collection is None:
            return 0
        index = self._any_index(agent_id)
        if ids is not None:
            if not ids:  # Chroma rejects get(ids=[]) with a ValueError; nothing to forget
                return 0
            found = list(collection.get(ids=list(ids), include=[])["ids"])
            if index is not None:  # every id: also entries whose record another writer removed
                self._delete_ids(index, None, list(ids))
            if found:
                self._delete_ids(collection, None, found)
            return len(found)
        where = {"tool": tool} if tool is not None else None
        removed = self._delete_matching(collection, index, where)
        if index is not None:  # leftovers of writers that missed the index
            self._delete_matching(index, None, where)
        return removed

    def _delete_matching(
        self, collection: Any, index: Any | None, where: dict[str, Any] | None
    ) -> int:
        removed = 0
        while True:
            page = list(collection.get(where=where, limit=_PAGE, include=[])["ids"])
            if page:
                self._delete_ids(collection, index, page)
                removed += len(page)
            if len(page) < _PAGE:  # the last page: another get would only scan again
                return removed

    def purge_expired(self, now: datetime) -> int:
        removed = 0
        where = {"expires_at": {"$lte": now.timestamp()}}
        for agent_id in self.agents():
            collection = self._collection(agent_id, create=False)
            if collection is None:
                continue
            index = self._any_index(agent_id)
            removed += self._delete_matching(collection, index, where)
            if index is not None:  # leftovers of writers that missed the index
                self._delete_matching(index, None, where)
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

    def _rows(
        self, collection: Any, where: dict[str, Any] | None
    ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Every (id, metadata) matching ``where``, in pages of ``_PAGE``."""
        offset = 0
        while True:
            result = collection.get(where=where, limit=_PAGE, offset=offset, include=["metadatas"])
            ids = result["ids"]
            yield from zip(ids, result["metadatas"] or [], strict=False)
            if len(ids) < _PAGE:
                return
            offset += len(ids)

    def _live(
        self,
        collection: Any,
        where: dict[str, Any] | None,
        now: datetime,
        since: datetime | None = None,
    ) -> dict[str, Mapping[str, Any]]:
        """Metadata of the unexpired records matching ``where`` (and ``since``), by id.

        Expiry and ``since`` are checked on the metadata, before any record is parsed: the
        rows were read without asking Chroma to filter (which would scan), or were filtered
        already. Keyed by id: offset paging under concurrent writes may repeat a row.
        """
        cutoff = now.timestamp()
        floor = since.timestamp() if since is not None else None
        found: dict[str, Mapping[str, Any]] = {}
        for record_id, meta in self._rows(collection, where):
            if "record" not in meta or not _unexpired(meta, cutoff):
                continue
            if floor is not None and float(meta.get("timestamp", 0.0)) < floor:
                continue
            found[record_id] = meta
        return found

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
        clauses = _filter_clauses(call_filter, now)
        # Expiry alone selects nearly everything: read all rows, check expiry in Python.
        # Other fields are selective: one where-scan per 30,000 matches is cheaper.
        where = _where(clauses) if len(clauses) > 1 else None
        matches = self._live(collection, where, now)
        # Ordered on the metadata, so only the page asked for is parsed.
        newest = sorted(
            matches, key=lambda i: (float(matches[i].get("timestamp", 0.0)), i), reverse=True
        )
        page = newest[offset : offset + limit]
        return [ToolOutcome.model_validate_json(matches[i]["record"]) for i in page]

    def iter_outcomes(
        self, agent_id: str | None = None, *, since: datetime | None = None, now: datetime
    ) -> Iterator[ToolOutcome]:
        agents = [agent_id] if agent_id is not None else self.agents()
        for agent in agents:
            collection = self._collection(agent, create=False)
            if collection is None:
                continue
            # `since` (a refresh: the last minutes) is selective, so a where-scan beats reading
            # every row; a full read has no `where` at all.
            where = None if since is None else {"timestamp": {"$gte": since.timestamp()}}
            live = self._live(collection, where, now, since)
            records = [ToolOutcome.model_validate_json(m["record"]) for m in live.values()]
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
        vector = self._embedding([text])
        cutoff = now.timestamp()
        if outcome == _FAILURE:
            index = self._ready_index(agent_id)
            if index is not None:
                found = self._similar_failures(collection, index, vector, k, cutoff)
                if found is not None:
                    return found
        else:
            hits = self._nearest(
                collection,
                vector,
                k,
                lambda m: (
                    _unexpired(m, cutoff) and (outcome is None or m.get("outcome") == outcome)
                ),
            )
            if hits is not None:
                return [_similar(meta, distance) for _, meta, distance in hits[:k]]
        # An index still being built, or too many expired neighbours: let Chroma filter.
        result = collection.query(
            query_embeddings=vector,
            n_results=k,
            where=_where(_filter_clauses(CallFilter(outcome=outcome), now)),
            include=["metadatas", "distances"],
        )
        return [_similar(meta, distance) for _, meta, distance in _hits(result)]

    def _nearest(
        self,
        collection: Any,
        vector: list[list[float]],
        k: int,
        accept: Callable[[Mapping[str, Any]], bool],
    ) -> list[_Hit] | None:
        """Accepted neighbours, nearest first, queried without ``where``.

        Asks for ``k x _OVERFETCH`` neighbours, then four times more while fewer than ``k`` are
        accepted; ``None`` when ``_MAX_FETCH`` neighbours still are not enough (and the
        collection has more). Returns every accepted neighbour fetched (at least ``k`` if any).
        """
        wanted = k * _OVERFETCH
        while True:
            hits = _hits(
                collection.query(
                    query_embeddings=vector, n_results=wanted, include=["metadatas", "distances"]
                )
            )
            accepted = [hit for hit in hits if accept(hit[1])]
            if len(accepted) >= k or len(hits) < wanted:
                return accepted
            if wanted >= _MAX_FETCH:
                return None
            wanted = min(wanted * 4, _MAX_FETCH)

    def _similar_failures(
        self, collection: Any, index: Any, vector: list[list[float]], k: int, cutoff: float
    ) -> list[SimilarOutcome] | None:
        """The ``k`` nearest unexpired failures via the index, confirmed in ``collection``."""
        found: list[SimilarOutcome] = []
        for _attempt in range(2):
            hits = self._nearest(index, vector, k, lambda m: _unexpired(m, cutoff))
            if hits is None:
                return None
            if not hits:
                return []
            hits = hits[: k * _OVERFETCH]  # enough to spare a few stale entries
            rows = collection.get(ids=[hit[0] for hit in hits], include=["metadatas"])
            truth = {
                str(i): m
                for i, m in zip(rows["ids"], rows["metadatas"] or [], strict=False)
                if m and m.get("outcome") == _FAILURE and "record" in m
            }
            found = [
                _similar(truth[i], distance)
                for i, _, distance in hits
                if i in truth and _unexpired(truth[i], cutoff)
            ][:k]
            stale = [hit[0] for hit in hits if hit[0] not in truth]
            if not stale:
                return found
            try:  # forgotten or rewritten by a writer that missed the index: drop, ask again
                index.delete(ids=stale)
            except Exception as exc:
                log.warning("toolwise: removing stale failure-index entries failed: %s", exc)
                return found
            if len(found) >= k:
                return found
        return found

    def _stamp(self) -> float:
        """A store time for one write attempt: the wall clock, made strictly increasing."""
        with self._stamp_lock:
            self._stamped = max(time.time(), self._stamped + 1e-6)
            return self._stamped

    def recent(
        self,
        since: float,
        *,
        now: datetime,
        key: Literal["stored_at", "timestamp"] = "stored_at",
        known: Container[str] = frozenset(),
    ) -> list[ToolOutcome]:
        """Unexpired records of every agent whose ``key`` is ``>= since`` (epoch s), except
        ids in ``known``, oldest first (:class:`~toolwise.storage.protocol.TailingStore`).

        Two round trips per agent: the ids in range (a range ``where`` on one numeric key is
        answered from Chroma's metadata index: milliseconds at 100,000 rows), then the rows
        of the ids not ``known`` — so a caller that has seen most of them reads almost none.
        """
        cutoff = now.timestamp()
        found: list[ToolOutcome] = []
        for agent in self.agents():
            collection = self._collection(agent, create=False)
            if collection is None:
                continue
            where: dict[str, Any] = {key: {"$gte": since}}
            ids = [i for i in self._ids(collection, where) if i not in known]
            for start in range(0, len(ids), _PAGE):
                rows = collection.get(ids=ids[start : start + _PAGE], include=["metadatas"])
                found.extend(
                    ToolOutcome.model_validate_json(meta["record"])
                    for meta in rows["metadatas"] or []
                    if meta and "record" in meta and _unexpired(meta, cutoff)
                )
        found.sort(key=lambda o: o.timestamp)
        return found

    def _ids(self, collection: Any, where: dict[str, Any]) -> list[str]:
        """Every id matching ``where``, in pages of ``_PAGE`` (ids only: no metadata read)."""
        ids: list[str] = []
        while True:
            page = collection.get(where=where, limit=_PAGE, offset=len(ids), include=[])["ids"]
            ids.extend(str(i) for i in page)
            if len(page) < _PAGE:
                return ids

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
            self._indexes.clear()

    def heartbeat(self) -> bool:
        """True when the backing client answers; used by the writer to pace retries."""
        try:
            self._client.heartbeat()
        except Exception:
            return False
        return True


def _similar(metadata: Mapping[str, Any], distance: float) -> SimilarOutcome:
    return SimilarOutcome(ToolOutcome.model_validate_json(metadata["record"]), distance)


def _is_remote(client: Any) -> bool:
    """True for a client that talks HTTP to a server (usable from a forked child)."""
    try:
        return str(client.get_settings().chroma_api_impl).endswith("FastAPI")
    except Exception:  # not a chromadb client we know: assume it is not fork-safe
        return False
