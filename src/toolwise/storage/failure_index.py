"""Every distinct failure of an agent, also kept in a collection of its own, for fast recall.

Recall before a model turn asks for the failures nearest to the task. Asked of the agent's
collection with ``where={"outcome": "failure"}``, Chroma scans every row's metadata: hundreds
of milliseconds at 100,000 records. So failures are also kept in ``{prefix}-failure-kinds_{agent}``
(the knowledge store's ``{prefix}-{kind}_{agent}`` naming, which no agent's ``{prefix}_…``
collection can take, so :meth:`~toolwise.storage.chroma.ChromaOutcomeStore.agents` never lists
it), with their vector and a little metadata (tool, expiry, the record's id).
Recall queries it with no ``where``, drops expired hits in Python and reads the hits back from
the agent's collection, the source of truth: a record that was forgotten, or rewritten as a
success, by a writer that missed the index is never returned (and is then removed from the
index).

**One entry per distinct failure text** (so per distinct vector), pointing at the newest record
that has it. An agent repeats the same failure (one task, one tool, one error) many times, and
Chroma's HNSW graph cannot hold many identical vectors: once a few dozen are in and the index
has been queried, vectors added later are pruned from every neighbour list and no query finds
them again (measured on Chroma 1.5: 100 identical vectors, then 3 new ones, lost in 300 of 300
runs). Keyed by text, a repeated failure updates its one entry, and a new failure is always
reachable. A forgotten newest record takes its entry with it (its older twins leave recall
until the failure recurs); a repeated failure shows once in a brief instead of filling it.

Stores written before this index (no index, or the per-record ``{prefix}-failures_{agent}``
of earlier versions) keep working: the first write for an agent (in the background writer,
off the hot path) creates the index, copies the agent's stored failures into it, only then
marks it ``complete`` in its metadata, and drops the per-record one. Until an agent's index is
complete, recall falls back to the filtered query (correct, slow).
:meth:`~toolwise.storage.chroma.ChromaOutcomeStore.build_failure_index` does the same on demand.
Every process writing to one store must run this version: an older writer adds failures to the
agent's collection only, and they are missing from recall (never wrong: hits are confirmed).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from toolwise.storage import rows
from toolwise.storage.collections import (
    COSINE,
    INDEX_OF_KEY,
    check_embedding,
    fold,
    fold_matrix,
    stamp,
    stored_dimension,
)
from toolwise.storage.embeddings import EmbeddingFunction
from toolwise.storage.namespaces import check_owner, existing
from toolwise.storage.naming import collection_name_for, legacy_collection_name_for
from toolwise.storage.protocol import SimilarOutcome

__all__ = ["FailureIndex", "index_metadata"]

log = logging.getLogger("toolwise.storage")

COPY_PAGE = 5_000  # rows per get() that also returns vectors (building an index)
STATE_KEY = "toolwise_index"
COMPLETE = "complete"
FAILURE = "failure"
KIND = "failure-kinds"
PER_RECORD_KIND = "failures"  # earlier versions: one entry per record (see the module doc)
RECORD_KEY = "record_id"
TIME_KEY = "timestamp"  # the record's time, as in its row


def index_metadata(metadata: Mapping[str, Any], record_id: str) -> dict[str, Any]:
    """An index entry's metadata: what its deletes filter on (``tool``, ``expires_at``,
    ``record_id``), recall checks (expiry, then the record at home), and what the
    in-process recall index's load picks the newest entries of a task type by (``timestamp``,
    ``task_type``, when set), reading only their records
    (:func:`~toolwise.storage.collection_reads.newest_indexed_failures`).

    Nothing more: Chroma's server spends ~20-30 µs of CPU per metadata key of each row it
    stores. (Entries written before kept the first three only; they read as the oldest.)
    """
    entry = {
        "tool": metadata.get("tool", ""),
        "expires_at": float(metadata.get("expires_at", rows.NO_EXPIRY)),
        RECORD_KEY: record_id,
        TIME_KEY: _time(metadata),
    }
    if metadata.get("task_type"):
        entry["task_type"] = metadata["task_type"]
    return entry


def home_failures(collection: Any, record_ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    """The rows of ``record_ids`` in the agent's ``collection`` that still hold a failure's
    record, by id: what an index entry points at is confirmed there (a record forgotten, or
    rewritten as a success by a writer that missed the index, is not)."""
    home = collection.get(ids=list(record_ids), include=["metadatas"])
    return {
        str(record_id): meta
        for record_id, meta in zip(home["ids"], home["metadatas"] or [], strict=False)
        if meta and meta.get("outcome") == FAILURE and "record" in meta
    }


def forget_records(index: Any, record_ids: Sequence[str]) -> None:
    """Delete the entries that point at ``record_ids`` (never empty: Chroma rejects ``$in: []``)."""
    index.delete(where={RECORD_KEY: {"$in": list(record_ids)}})


def failure_key(metadata: Mapping[str, Any]) -> str:
    """The entry id of a stored failure's row: equal for records embedded from equal text
    (so with equal vectors). Keyed by text, not by the vector's bytes: Chroma renormalises
    some vectors as it stores them, so the bytes read back may differ from those written."""
    text = rows.outcome_document(rows.record(metadata))
    return "d" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _newest(
    entries: Iterable[tuple[str, Sequence[float], Mapping[str, Any]]],
) -> dict[str, tuple[str, Sequence[float], Mapping[str, Any]]]:
    """(record id, vector, metadata) of the newest failure per :func:`failure_key`."""
    newest: dict[str, tuple[str, Sequence[float], Mapping[str, Any]]] = {}
    for record_id, vector, meta in entries:
        key = failure_key(meta)
        seen = newest.get(key)
        if seen is None or _time(meta) >= _time(seen[2]):
            newest[key] = (record_id, vector, meta)
    return newest


def _time(metadata: Mapping[str, Any]) -> float:
    return float(metadata.get(TIME_KEY, 0.0))


def _complete(collection: Any) -> bool:
    return (collection.metadata or {}).get(STATE_KEY) == COMPLETE


class FailureIndex:
    """The failure indexes of one store's agents.

    Args:
        client: the store's Chroma client, asked for on every use (it may reconnect).
        prefix: the store's collection prefix.
        embedding: the store's embedding (stamped on the index, checked on open).
        max_batch: rows per Chroma call, read on every use (known once connected).

    Thread-safe: the cache is behind a lock, and one index is built at a time.
    """

    def __init__(
        self,
        client: Callable[[], Any],
        *,
        prefix: str,
        embedding: EmbeddingFunction,
        max_batch: Callable[[], int],
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._embedding = embedding
        self._max_batch = max_batch
        self._indexes: dict[str, Any] = {}  # agent id -> its *complete* index
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()

    def after_fork(self) -> None:
        """Fresh locks and an empty cache in a forked child."""
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._indexes = {}

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()

    def name(self, agent_id: str) -> str:
        return collection_name_for(agent_id, f"{self._prefix}-{KIND}")

    def _cached(self, agent_id: str) -> Any | None:
        with self._lock:
            return self._indexes.get(agent_id)

    def _remember(self, agent_id: str, index: Any) -> None:
        with self._lock:
            self._indexes[agent_id] = index

    def for_writing(self, agent_id: str, collection: Any) -> Any:
        """The agent's index, created and filled from ``collection`` if it is incomplete."""
        index = self._cached(agent_id)
        if index is not None:
            return index
        with self._build_lock:
            index = self._cached(agent_id)
            if index is not None:
                return index
            index = self._client().get_or_create_collection(
                self.name(agent_id),
                # Vectors as the agent's collection stores them: the copy below moves them.
                metadata=stamp(
                    INDEX_OF_KEY, agent_id, self._embedding, stored=stored_dimension(collection)
                ),
                configuration=COSINE,
                embedding_function=None,
            )
            check_owner(index, INDEX_OF_KEY, agent_id)
            check_embedding(index, self._embedding)
            if not _complete(index):
                # Created before the copy, so a concurrent writer of this version already
                # writes here too; marked complete only once every stored failure is in.
                copied = self._copy_failures(collection, index)
                index.modify(metadata={**(index.metadata or {}), STATE_KEY: COMPLETE})
                if copied:
                    log.info("toolwise: indexed %d stored failure(s) of %r", copied, agent_id)
                self._drop(collection_name_for(agent_id, f"{self._prefix}-{PER_RECORD_KIND}"))
            self._remember(agent_id, index)
        return index

    def _copy_failures(self, collection: Any, index: Any) -> int:
        """Index the newest failure of each distinct text in ``collection``; returns how
        many failures were read. Keys come from the metadata, so only the winners' vectors
        are read, and only keys are held for all."""
        read = 0
        newest: dict[str, tuple[float, str]] = {}  # key -> (timestamp, record id)
        while True:  # a where-scan per PAGE rows, not per COPY_PAGE
            page = collection.get(
                where={"outcome": FAILURE}, limit=rows.PAGE, offset=read, include=["metadatas"]
            )
            for record_id, meta in zip(page["ids"], page["metadatas"] or [], strict=True):
                key = failure_key(meta)
                if key not in newest or _time(meta) >= newest[key][0]:
                    newest[key] = (_time(meta), str(record_id))
            read += len(page["ids"])
            if len(page["ids"]) < rows.PAGE:
                break
        step = min(COPY_PAGE, self._max_batch())
        winners = [record_id for _, record_id in newest.values()]
        for found in self._pages(collection, winners, step):
            if found:
                ids_, vectors, metas = zip(*found, strict=True)
                self.add(index, ids_, vectors, metas)
        return read

    @staticmethod
    def _pages(
        collection: Any, ids: list[str], step: int
    ) -> Iterator[list[tuple[str, Sequence[float], Mapping[str, Any]]]]:
        """(id, vector, metadata) of ``ids`` in ``collection``, ``step`` at a time."""
        for start in range(0, len(ids), step):
            found = collection.get(
                ids=ids[start : start + step], include=["embeddings", "metadatas"]
            )
            yield list(
                zip(found["ids"], found["embeddings"], found["metadatas"] or [], strict=True)
            )

    def _drop(self, name: str) -> None:
        """Delete the collection ``name`` if it exists (an index of an earlier layout)."""
        client = self._client()
        old = existing(client, name)
        if old is None:
            return
        try:
            client.delete_collection(name)
        except Exception as exc:  # another process dropped it first
            log.debug("toolwise: dropping %s: %s", name, exc)

    def ready(self, agent_id: str) -> Any | None:
        """The agent's index if it is complete (the read path: never builds one)."""
        index = self._cached(agent_id)
        if index is not None:
            return index
        index = existing(self._client(), self.name(agent_id))
        if index is None:  # not there (yet)
            return None
        check_owner(index, INDEX_OF_KEY, agent_id)
        if not _complete(index):
            return None
        check_embedding(index, self._embedding)
        self._remember(agent_id, index)
        return index

    def any(self, agent_id: str) -> Any | None:
        """The agent's index, complete or not (deletes reach both)."""
        index = self._cached(agent_id)
        if index is None:
            index = existing(self._client(), self.name(agent_id))
        if index is not None:
            check_owner(index, INDEX_OF_KEY, agent_id)
        return index

    def drop_legacy(self, agent_id: str) -> None:
        """Delete the agent's index under its old name (its collection was just renamed; a
        new index is built from it on the next write)."""
        client = self._client()
        for kind in (KIND, PER_RECORD_KIND):
            legacy = legacy_collection_name_for(agent_id, f"{self._prefix}-{kind}")
            if legacy == collection_name_for(agent_id, f"{self._prefix}-{kind}"):
                continue
            old = existing(client, legacy)
            if old is not None and (old.metadata or {}).get(INDEX_OF_KEY) == agent_id:
                client.delete_collection(legacy)

    @staticmethod
    def add(
        index: Any,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]] | npt.NDArray[np.floating[Any]],
        metadatas: Sequence[Mapping[str, Any]],
    ) -> None:
        """Index the failures among rows just written to the agent's collection: each
        distinct text then points at the newest of them (last writer wins)."""
        failed = [n for n, meta in enumerate(metadatas) if meta.get("outcome") == FAILURE]
        if failed:
            vectors = (
                np.asarray(embeddings[failed], dtype=np.float64)
                if isinstance(embeddings, np.ndarray)  # a batch write's: no list round trip
                else np.asarray([embeddings[n] for n in failed], dtype=np.float64)
            )
            stored = fold_matrix(vectors, stored_dimension(index)).astype(np.float32)
            newest = _newest(
                (ids[n], vector, metadatas[n]) for n, vector in zip(failed, stored, strict=True)
            )
            index.upsert(
                ids=list(newest),
                embeddings=[vector for _, vector, _ in newest.values()],
                metadatas=[index_metadata(meta, rid) for rid, _, meta in newest.values()],
            )

    @staticmethod
    def recall(
        collection: Any, index: Any, vector: list[list[float]], k: int, cutoff: float
    ) -> list[SimilarOutcome] | None:
        """The ``k`` nearest unexpired failures via ``index``, confirmed in ``collection``.

        ``None`` when too many neighbours are expired (the caller lets Chroma filter).
        """
        found: list[SimilarOutcome] = []
        vector = fold(vector, stored_dimension(index))
        for _attempt in range(2):
            confirmed = _confirmed(collection, index, vector, k, cutoff)
            if confirmed is None:
                return None
            found, stale = confirmed
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


def _confirmed(
    collection: Any, index: Any, vector: list[list[float]], k: int, cutoff: float
) -> tuple[list[SimilarOutcome], list[str]] | None:
    """The first ``k`` of the ``k * OVERFETCH`` nearest unexpired entries whose records are
    confirmed at home (nearest first), and the entries whose records are not there (stale);
    ``None`` when too many neighbours are expired.

    The nearest are confirmed first, and only as many as are still wanted: nearly every
    recall finds its ``k`` nearest at home, and each row read there costs (its metadata holds
    the record). Confirming all ``2 * k`` made a recall 6.7 ms instead of 5.5 at k=8, 11.4
    instead of 9.5 at k=24 (a brief's recall for an inferred task type), same answers
    (``benchmarks/recall_confirm.py``, 100,000 records).
    """
    hits = rows.nearest(index, vector, k, lambda m: rows.unexpired(m, cutoff))
    if hits is None:
        return None
    found: list[SimilarOutcome] = []
    stale: list[str] = []
    pending = hits[: k * rows.OVERFETCH]  # enough to spare a few stale entries
    while pending and len(found) < k:
        batch, pending = pending[: k - len(found)], pending[k - len(found) :]
        records = [str(meta.get(RECORD_KEY, key)) for key, meta, _ in batch]
        truth = home_failures(collection, records)
        for (key, _, distance), record_id in zip(batch, records, strict=True):
            home = truth.get(record_id)
            if home is None:
                stale.append(key)
            elif rows.unexpired(home, cutoff):
                found.append(rows.similar_outcome(home, distance))
    return found, stale
