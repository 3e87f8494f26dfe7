"""Outcome records in ChromaDB: one collection per agent, vectors computed by toolwise.

Each record is stored as its own vector (from the configured
:class:`~toolwise.storage.embeddings.EmbeddingFunction`), flat metadata for filtering, and the
full record as JSON under ``record`` so reads are lossless (:mod:`toolwise.storage.rows`).
Writes use ``upsert`` so a replayed batch never duplicates (Chroma's ``add`` silently ignores
existing ids).

Chroma evaluates a metadata ``where`` by scanning the collection's metadata (``limit`` does not
stop the scan): hundreds of milliseconds per call at 100,000 records. So the hot reads avoid it:

* **Failure index.** Every failure is also kept in an index of its own
  (:mod:`toolwise.storage.failure_index`), which recall of failures queries without ``where``;
  other recall over-fetches without ``where`` and drops expired hits in Python
  (:mod:`toolwise.storage.similar`).
* **Paging without ``where``** (:mod:`toolwise.storage.paging`).
  :meth:`ChromaOutcomeStore.iter_outcomes` (the learnt view's rebuild) and an expiry-only
  :meth:`ChromaOutcomeStore.find` read every row in pages with no ``where`` and check expiry
  in Python; ``since`` keeps a ``where`` on ``timestamp`` (one scan per page).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from toolwise.errors import InvalidArgumentError
from toolwise.models import ToolOutcome
from toolwise.storage import paging, rows
from toolwise.storage.collection_reads import (
    newest_failures,
    newest_indexed_failures,
    newest_page,
    oldest_first,
    stored_since,
)
from toolwise.storage.collections import fold_matrix, stored_dimension
from toolwise.storage.connection import ChromaConnection
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding, embed_matrix
from toolwise.storage.failure_index import FailureIndex, forget_records
from toolwise.storage.health import StoreHealth, StoreTimeouts
from toolwise.storage.namespaces import AgentCollections
from toolwise.storage.protocol import CallFilter, SimilarOutcome, StoredFailures, Tombstone
from toolwise.storage.rows import outcome_document
from toolwise.storage.similar import similar_in
from toolwise.storage.snapshots import ChromaSnapshotStore
from toolwise.storage.tombstones import ChromaTombstones

__all__ = ["ChromaOutcomeStore", "outcome_document"]

log = logging.getLogger("toolwise.storage")

_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ChromaOutcomeStore:
    """An :class:`~toolwise.storage.protocol.OutcomeStore` on any Chroma client.

    Args:
        client: ``chromadb.PersistentClient``, ``HttpClient`` or ``EphemeralClient`` — or a
            zero-argument factory for one, called on first use and again after a failure, so
            a server that is down when the app starts does not stop it (records wait spooled).
        embedding: vectors for documents and queries; defaults to the offline hashing one.
        prefix: collection-name prefix, so several toolwise apps can share one server.
        timeouts: how long any call waits for Chroma (:class:`StoreTimeouts`). After a call
            times out or cannot connect the store is unhealthy (:attr:`health`): calls raise
            :class:`~toolwise.errors.StoreUnavailableError` at once until a background
            heartbeat succeeds. An HTTP client also gets them as its socket timeouts.
        owns_client: :meth:`close` closes the client too (one made for this store, not one the
            caller still uses). A client made by the factory is always closed.

    One collection per agent, named one-to-one and checked to be the agent's on every open
    (:mod:`toolwise.storage.namespaces`). Thread-safe: Chroma's clients are; the caches are
    behind locks. Embedded clients are not process-safe — point several processes at a
    ``chroma run`` server instead.
    """

    def __init__(
        self,
        client: Any,
        *,
        embedding: EmbeddingFunction | None = None,
        prefix: str = "toolwise",
        timeouts: StoreTimeouts | None = None,
        owns_client: bool = False,
    ) -> None:
        if not _PREFIX.match(prefix):
            # Checked now: Chroma would reject every collection name only at the first write,
            # in the writer thread, where it can only be retried forever.
            raise InvalidArgumentError(
                "prefix", prefix, "must be 1-64 of [A-Za-z0-9._-], starting alphanumeric"
            )
        self._timeouts = timeouts or StoreTimeouts()
        self._connection = ChromaConnection(client, self._timeouts, owns_client=owns_client)
        self._embedding: EmbeddingFunction = embedding or HashingEmbedding()
        self._prefix = prefix
        self._failures = FailureIndex(
            lambda: self._connection.client,
            prefix=prefix,
            embedding=self._embedding,
            max_batch=lambda: self._connection.max_batch,
        )
        self._collections = AgentCollections(
            lambda: self._connection.client,
            prefix=prefix,
            embedding=self._embedding,
            move=self._write_rows,
            adopted=self._failures.drop_legacy,
        )
        self._stamped = 0.0  # the last store time given out (stamps only grow)
        self._stamp_lock = threading.Lock()
        self.snapshots = ChromaSnapshotStore(lambda: self._connection.client, prefix=prefix)
        """Snapshots of the learnt view, and the write leases every write takes there."""
        self._tombstones = ChromaTombstones(lambda: self._connection.client, prefix=prefix)

    @property
    def embedding(self) -> EmbeddingFunction:
        return self._embedding

    @property
    def prefix(self) -> str:
        """The collection-name prefix (stores kept beside this one reuse it)."""
        return self._prefix

    def client(self) -> Any:
        """The Chroma client, connected on first use: for stores kept beside this one (the
        knowledge store of :mod:`toolwise.improve`), so one path never gets two clients. Each
        round trip is bounded by :attr:`timeouts` and the breaker.

        Raises:
            StoreError: this process cannot use the client (embedded Chroma after a fork).
            StoreUnavailableError: the store is unhealthy, or connecting failed.
        """
        return self._connection.client

    @property
    def health(self) -> StoreHealth:
        """Whether the store answers (for a readiness check); see :class:`StoreHealth`."""
        return self._connection.health

    @property
    def timeouts(self) -> StoreTimeouts:
        return self._timeouts

    def on_health_change(self, listener: Callable[[StoreHealth], object]) -> None:
        """Call ``listener(health)`` from a background thread when health changes."""
        self._connection.guard.breaker.on_change(listener)

    def after_fork(self) -> bool:
        """Called in a forked child: fresh locks and caches, and whether this process can use
        the store at all (see :meth:`ChromaConnection.after_fork`)."""
        self._stamp_lock = threading.Lock()
        self.snapshots.after_fork()
        self._tombstones.after_fork()
        self._collections.after_fork()
        self._failures.after_fork()
        return self._connection.after_fork()

    @property
    def _client(self) -> Any:  # kept for the knowledge store of toolwise.improve
        return self._connection.client

    def _collection(self, agent_id: str, *, create: bool = True) -> Any:
        """The agent's collection; ``None`` when ``create`` is False and it does not exist."""
        return self._collections.open(agent_id, create=create)

    def build_failure_index(self, agent_id: str | None = None) -> list[str]:
        """Make the failure index of ``agent_id`` (or of every agent) complete now.

        Stores from before the index build it on their first write; call this to migrate a
        store that is only read. Returns the agents whose index is complete.
        """
        done = []
        for agent in [agent_id] if agent_id is not None else self.agents():
            collection = self._collection(agent, create=False)
            if collection is not None:
                self._failures.for_writing(agent, collection)
                done.append(agent)
        return done

    # -- writes -------------------------------------------------------------------------------

    def write(self, outcomes: Sequence[ToolOutcome]) -> None:
        by_agent: dict[str, list[ToolOutcome]] = {}
        for outcome in outcomes:
            by_agent.setdefault(outcome.agent_id, []).append(outcome)
        for agent_id, group in by_agent.items():
            chunk = {o.id: o for o in group}  # last wins
            records = list(chunk.values())
            embeddings = embed_matrix(self._embedding, [outcome_document(o) for o in records])
            stamp = self._stamp()  # after embedding: as close to visibility as can be
            self.snapshots.cover(stamp)  # the lease first: it must bound every stored row
            metadatas = [rows.outcome_metadata(o, stamp) for o in records]
            self._write_rows(agent_id, list(chunk), embeddings, metadatas)

    def _write_rows(
        self,
        agent_id: str,
        ids: list[str],
        embeddings: Sequence[Any] | npt.NDArray[np.float64],
        metadatas: Sequence[Mapping[str, Any]],
    ) -> None:
        """Upsert rows into the agent's collection and its failures into its index.

        Vectors go to Chroma as one float32 array (what Chroma makes of lists anyway), never
        as lists: see :func:`~toolwise.storage.embeddings.embed_matrix`.
        """
        matrix = np.asarray(embeddings, dtype=np.float64)  # as given by a write: as it is
        collection = self._collection(agent_id)
        index = self._failures.for_writing(agent_id, collection)
        step = self._connection.max_batch
        stored = stored_dimension(collection)  # new collections: folded (collections.FOLDED)
        for start in range(0, len(ids), step):
            part = slice(start, start + step)
            vectors = fold_matrix(matrix[part], stored).astype(np.float32)
            collection.upsert(  # no documents: Chroma's full-text index costs ~25% per write
                ids=ids[part], embeddings=vectors, metadatas=list(metadatas[part])
            )
            # An index stores vectors as its collection does (it is made so); one older than
            # its collection may not: it is given them as embedded and folds them itself.
            alike = stored_dimension(index) == stored
            self._failures.add(
                index, ids[part], vectors if alike else matrix[part], metadatas[part]
            )

    def delete(
        self, agent_id: str, *, tool: str | None = None, ids: Sequence[str] | None = None
    ) -> int:
        """See :meth:`OutcomeStore.delete`; when anything went, a tombstone tells the other
        processes on the store to unlearn it (:mod:`toolwise.storage.tombstones`)."""
        removed = self._delete(agent_id, tool=tool, ids=ids)
        if removed:
            try:
                self._tombstones.write(agent_id, at=self._stamp(), tool=tool, ids=ids)
            except Exception as exc:  # deleted all the same; others drop them as answers expire
                log.warning("toolwise: telling other processes of a forget failed: %s", exc)
        return removed

    def tombstones(self, since: float) -> list[Tombstone]:
        """Other processes' forgets stamped at or after ``since`` (epoch s), oldest first
        (:class:`~toolwise.storage.protocol.TombstoneStore`)."""
        return self._tombstones.since(since, agents=self.agents)

    def _delete(
        self, agent_id: str, *, tool: str | None = None, ids: Sequence[str] | None = None
    ) -> int:
        collection = self._collection(agent_id, create=False)
        if collection is None:
            return 0
        index = self._failures.any(agent_id)
        if ids is not None:
            if not ids:  # Chroma rejects get(ids=[]) with a ValueError; nothing to forget
                return 0
            found = list(collection.get(ids=list(ids), include=[])["ids"])
            step = self._connection.max_batch
            if index is not None:  # every id: also entries whose record another writer removed
                for start in range(0, len(ids), step):
                    forget_records(index, list(ids)[start : start + step])
            if found:
                paging.delete_ids(collection, None, found, step=step)
            return len(found)
        where = {"tool": tool} if tool is not None else None
        return self._delete_where(collection, index, where)

    def _delete_where(
        self, collection: Any, index: Any | None, where: dict[str, Any] | None
    ) -> int:
        """Delete the rows matching ``where`` and their index entries; how many rows went."""
        step = self._connection.max_batch
        removed = paging.delete_matching(collection, index, where, step=step)
        if index is not None:  # leftovers of writers that missed the index
            paging.delete_matching(index, None, where, step=step)
        return removed

    def purge_expired(self, now: datetime) -> int:
        removed = 0
        where = {"expires_at": {"$lte": now.timestamp()}}
        for agent_id in self.agents():
            collection = self._collection(agent_id, create=False)
            if collection is None:
                continue
            removed += self._delete_where(collection, self._failures.any(agent_id), where)
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
                found.extend(rows.records(collection.get(ids=list(ids), include=["metadatas"])))
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
        return newest_page(collection, call_filter, limit=limit, offset=offset, now=now)

    def iter_outcomes(
        self, agent_id: str | None = None, *, since: datetime | None = None, now: datetime
    ) -> Iterator[ToolOutcome]:
        agents = [agent_id] if agent_id is not None else self.agents()
        for agent in agents:
            collection = self._collection(agent, create=False)
            if collection is None:
                continue
            yield from oldest_first(collection, since=since, now=now)

    def similar(
        self,
        agent_id: str,
        text: str,
        *,
        k: int,
        now: datetime,
        outcome: str | None = None,
    ) -> list[SimilarOutcome]:
        """See :meth:`OutcomeStore.similar`; the caller waits at most ``timeouts.recall``
        (past it the query goes on, its answer on the error's ``running`` future).

        Raises:
            StoreUnavailableError: the store is unhealthy, or did not answer in time (which
                opens the breaker only if it answers no heartbeat either).
        """
        if k <= 0:
            return []
        vector = self._embedding([text])  # outside the deadline: a remote embedding API is
        # not the store, and its slowness must not mark the store unhealthy
        return self._connection.guard.call(
            lambda: self._similar(agent_id, vector, k, now, outcome),
            timeout=self._timeouts.recall,
        )

    def similar_within(
        self,
        agent_id: str,
        text: str,
        *,
        k: int,
        now: datetime,
        wait: float,
        outcome: str | None = None,
    ) -> list[SimilarOutcome] | Future[list[SimilarOutcome]]:
        """:meth:`similar` for a caller that waits at most ``wait`` seconds
        (:class:`~toolwise.storage.protocol.RecallWithinStore`): past it, the future its
        answer lands on. Missing ``timeouts.recall`` too makes the store unhealthy only if it
        then answers no heartbeat either (:class:`~toolwise.storage.guard.StoreGuard`).

        Raises:
            StoreUnavailableError: the store is unhealthy, or could not be reached in time.
        """
        if k <= 0:
            return []
        vector = self._embedding([text])  # outside the deadline, as in similar()
        return self._connection.guard.call_within(
            lambda: self._similar(agent_id, vector, k, now, outcome),
            wait=wait,
            timeout=self._timeouts.recall,
        )

    def _similar(
        self, agent_id: str, vector: list[list[float]], k: int, now: datetime, outcome: str | None
    ) -> list[SimilarOutcome]:
        collection = self._collection(agent_id, create=False)
        if collection is None:
            return []
        return similar_in(
            collection, self._failures, agent_id, vector, k=k, now=now, outcome=outcome
        )

    def newest_failures(
        self, agent_id: str, *, task_type: str | None, limit: int, now: datetime
    ) -> StoredFailures:
        """The agent's newest failures with their stored vectors, for an in-process recall
        index (:class:`~toolwise.storage.protocol.FailureListingStore`): read through the
        agent's failure index, or, until it is complete (a store written before it, until
        its first write here), by a filtered scan of its collection."""
        collection = self._collection(agent_id, create=False)
        if collection is None:
            return StoredFailures((), [])
        index = self._failures.ready(agent_id)
        step = self._connection.max_batch
        if index is None:
            return newest_failures(collection, task_type=task_type, limit=limit, now=now, step=step)
        return newest_indexed_failures(
            collection, index, task_type=task_type, limit=limit, now=now, step=step
        )

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
        ids in ``known``, oldest first (:class:`~toolwise.storage.protocol.TailingStore`;
        two round trips per agent: :func:`~toolwise.storage.collection_reads.stored_since`)."""
        found: list[ToolOutcome] = []
        for agent in self.agents():
            collection = self._collection(agent, create=False)
            if collection is not None:
                found.extend(
                    stored_since(collection, since, cutoff=now.timestamp(), key=key, known=known)
                )
        found.sort(key=lambda o: o.timestamp)
        return found

    def agents(self) -> list[str]:
        return self._collections.agents()

    def count(self, agent_id: str) -> int:
        collection = self._collection(agent_id, create=False)
        return 0 if collection is None else int(collection.count())

    def close(self) -> None:
        self.snapshots.release()
        self._collections.clear()
        self._failures.clear()
        self._connection.close()
