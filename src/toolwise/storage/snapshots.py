"""Where snapshots of the learnt view are kept: a Chroma collection beside the outcomes.

Every process of a fleet on one server shares the collection ``{prefix}-snapshots`` (the
outcome store lists ``{prefix}_…`` only, so it never mistakes it for an agent). A snapshot is
opaque bytes (``learning.snapshot``) with a little metadata; it is written as base64 chunks of
:data:`CHUNK_CHARS` characters (in the rows' metadata: a document would be full-text indexed,
seconds per snapshot), then a *head* row naming the chunks and their digest. The head
is written last, so a reader never sees a half-written snapshot; a snapshot whose chunks are
missing or do not match the digest is reported as corrupt. Only the newest :data:`KEEP`
snapshots are kept.

The same collection holds each writer's *lease*: before a record is stored with store time
``s``, its writer makes sure its lease row says ``until >= s`` (renewed :data:`LEASE` seconds
ahead, so one small upsert per minute of writing, not one per batch; shrunk to the last store
time at close). So the highest ``until`` bounds every stored record's store time, and a new
process that finds it below its snapshot's watermark (less the replay's overlap) knows,
without touching the records collections, that nothing was stored after it. A snapshot
written at close, once the process's writer has stopped, names that writer's lease
(:attr:`SnapshotHead.writer`): it holds every record that writer stored, so only the other
leases count: the usual restart of an app that recorded until it closed is quiet too.
Why it matters: embedded Chroma loads a collection's whole vector index on its first read
(about 1 GB at 1,000,000 records), which a quiet cold start never pays
(:meth:`ChromaSnapshotStore.leases`, ``learning.resume``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolwise.storage.collections import opened
from toolwise.storage.connection import is_remote

__all__ = [
    "CHUNK_CHARS",
    "KEEP",
    "LEASE",
    "ChromaSnapshotStore",
    "SnapshotHead",
    "snapshot_store_for",
]

log = logging.getLogger("toolwise.storage")

CHUNK_CHARS = 4_000_000
KEEP = 2
LEASE = 60.0
"""Seconds a writer's lease reaches past the store time that renewed it."""
_LEASE_MARGIN = 60.0  # leases ending this long before every kept snapshot's watermark: dropped
_KIND = "snapshots"
_CONFIGURATION: dict[str, Any] = {"hnsw": {"batch_size": 1, "sync_threshold": 1}}
_VECTOR = [1.0]  # rows are fetched by id and metadata, never by similarity


@dataclass(frozen=True, slots=True)
class SnapshotHead:
    """One stored snapshot: its id, format version, configuration fingerprint, watermark
    (store time, epoch s, that it covers up to) and how many records it had learnt."""

    id: str
    version: int
    fingerprint: str
    watermark: float
    records: int
    chunks: int
    digest: str
    built: float = 0.0
    """Store time at which the view it holds first read the records (kept across restores):
    a snapshot built before the last ``forget`` is never used."""
    writer: str = ""
    """The lease of a writer every record of which it holds (written at close, after that
    writer stopped), or ``""``."""


class ChromaSnapshotStore:
    """Snapshots in the Chroma collection ``{prefix}-snapshots``.

    Args:
        client: a zero-argument callable returning the Chroma client (called per use, so a
            lazily connected client is shared with the outcome store).
        prefix: the application's collection prefix (the outcome store's).
    """

    def __init__(self, client: Callable[[], Any], *, prefix: str = "toolwise") -> None:
        self._client_source = client
        self._name = f"{prefix}-{_KIND}"
        self._collection_cache: Any = None
        self._configured = False  # the collection's index is written at every write
        self._lock = threading.Lock()
        self._lease_lock = threading.Lock()
        self._lease_id = f"lease:{uuid.uuid4().hex}"
        self._leased = -math.inf  # until when this writer's lease row reaches
        self._stamped = -math.inf  # the highest store time covered so far

    def _collection(self, *, create: bool) -> Any:
        with self._lock:
            collection = self._collection_cache
        if collection is None:
            collection = opened(
                self._client_source(),
                self._name,
                create=create,
                metadata={"toolwise_snapshots": 1},
                configuration=_CONFIGURATION,
            )
            if collection is None:
                return None
            with self._lock:
                self._collection_cache = collection
        if create and not self._configured:
            _index_every_write(collection)  # a collection made before this setting
            self._configured = True
        return collection

    def save(
        self,
        payload: bytes,
        *,
        version: int,
        fingerprint: str,
        watermark: float,
        records: int,
        built: float,
        complete: bool = False,
    ) -> SnapshotHead:
        """Store a snapshot (chunks first, head last), then drop all but the newest.
        ``complete``: it holds every record stored under this store's lease, whose writer
        has stopped (:attr:`SnapshotHead.writer`)."""
        collection = self._collection(create=True)
        text = base64.b64encode(payload).decode("ascii")
        parts = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]
        head = SnapshotHead(
            id=f"{watermark:017.6f}-{uuid.uuid4().hex[:8]}",
            version=version,
            fingerprint=fingerprint,
            watermark=watermark,
            records=records,
            chunks=len(parts),
            digest=hashlib.sha256(payload).hexdigest(),
            built=built,
            writer=self._lease_id if complete else "",
        )
        for index, part in enumerate(parts):
            collection.upsert(  # in metadata: a document would be full-text indexed
                ids=[f"{head.id}:{index}"],
                embeddings=[_VECTOR],
                metadatas=[{"kind": "chunk", "snapshot": head.id, "index": index, "data": part}],
            )
        collection.upsert(
            ids=[f"{head.id}:head"],
            documents=[""],
            embeddings=[_VECTOR],
            metadatas=[
                {
                    "kind": "head",
                    "snapshot": head.id,
                    "version": version,
                    "fingerprint": fingerprint,
                    "watermark": watermark,
                    "records": records,
                    "chunks": head.chunks,
                    "digest": head.digest,
                    "built": built,
                    "writer": head.writer,
                }
            ],
        )
        kept = self.heads()
        for old in kept[KEEP:]:
            self._drop(collection, old.id)
        self._prune_leases(collection, kept[:KEEP])
        return head

    # -- leases -------------------------------------------------------------------------------

    def cover(self, stamp: float) -> None:
        """Call before storing a record with store time ``stamp``: this writer's lease then
        reaches it (one upsert when the lease must grow, else nothing).

        Raises:
            Exception: the upsert failed; the record must not be stored (the caller retries).
        """
        with self._lease_lock:
            self._stamped = max(self._stamped, stamp)
            if stamp <= self._leased:
                return
            until = stamp + LEASE
            self._write_lease(until)
            self._leased = until

    def release(self) -> None:
        """At close: shrink this writer's lease to the last store time it covered, so a
        process starting next need not wait :data:`LEASE` s to skip its replay. Never raises
        (a lease left longer only makes the next start replay)."""
        with self._lease_lock:
            if self._leased in (-math.inf, self._stamped):
                return
            try:
                self._write_lease(self._stamped)
            except Exception as exc:
                log.debug("toolwise: shrinking the write lease failed: %s", exc)
                return
            self._leased = self._stamped

    def after_fork(self) -> None:
        """In a forked child: a lease of its own (a shared row could be shrunk by the one
        process while the other still writes under it), fresh locks and caches."""
        self._lock = threading.Lock()
        self._lease_lock = threading.Lock()
        self._collection_cache = None
        self._lease_id = f"lease:{uuid.uuid4().hex}"
        self._leased = self._stamped = -math.inf

    def leases(self) -> dict[str, float] | None:
        """Every writer's lease: the store time it reaches, by lease id (a store time no
        record of that writer was stored at or after); ``None`` on a server, where writers of
        toolwise versions before leases may share the store (and a first read costs a round
        trip there, not an index load). Ask it *before* :meth:`heads`: a lease is dropped only
        once it ends well before every snapshot kept after it.

        Raises:
            Exception: the store is down.
        """
        if is_remote(self._client_source()):
            return None
        collection = self._collection(create=False)
        if collection is None:
            return {}
        got = collection.get(where={"kind": "lease"}, include=["metadatas"])
        return {
            str(i): float(m["until"])
            for i, m in zip(got.get("ids") or [], got.get("metadatas") or [], strict=False)
            if m and "until" in m
        }

    def _write_lease(self, until: float) -> None:
        self._collection(create=True).upsert(
            ids=[self._lease_id],
            documents=[""],
            embeddings=[_VECTOR],
            metadatas=[{"kind": "lease", "until": until}],
        )

    def _prune_leases(self, collection: Any, kept: list[SnapshotHead]) -> None:
        """Drop the leases no kept snapshot can need (they ended long before its watermark)."""
        if not kept:
            return
        floor = min(head.watermark for head in kept) - _LEASE_MARGIN
        collection.delete(where={"$and": [{"kind": "lease"}, {"until": {"$lt": floor}}]})

    def heads(self) -> list[SnapshotHead]:
        """Every complete snapshot's head, newest (highest watermark) first."""
        collection = self._collection(create=False)
        if collection is None:
            return []
        got = collection.get(where={"kind": {"$in": ["head", "forgot"]}}, include=["metadatas"])
        metas = got.get("metadatas") or []
        forgot = max((float(m["at"]) for m in metas if m and m.get("kind") == "forgot"), default=0)
        heads = []
        for meta in metas:
            if not meta or meta.get("kind") != "head":
                continue
            try:
                heads.append(
                    SnapshotHead(
                        id=str(meta["snapshot"]),
                        version=int(meta["version"]),
                        fingerprint=str(meta["fingerprint"]),
                        watermark=float(meta["watermark"]),
                        records=int(meta["records"]),
                        chunks=int(meta["chunks"]),
                        digest=str(meta["digest"]),
                        built=float(meta["built"]),
                        writer=str(meta.get("writer", "")),
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue  # not a head this version wrote: skipped
        # A view built before the last forget still holds what was forgotten (another
        # process's, written at its close): never used.
        heads = [h for h in heads if h.built >= forgot]
        heads.sort(key=lambda h: (h.watermark, h.id), reverse=True)
        return heads

    def payload(self, head: SnapshotHead) -> bytes:
        """The snapshot's bytes.

        Raises:
            ValueError: a chunk is missing or the bytes do not match the head's digest.
        """
        collection = self._collection(create=False)
        ids = [f"{head.id}:{index}" for index in range(head.chunks)]
        got = collection.get(ids=ids, include=["metadatas"]) if collection is not None else {}
        found = {
            i: str(m.get("data", ""))
            for i, m in zip(got.get("ids") or [], got.get("metadatas") or [], strict=False)
            if m
        }
        if len(found) != head.chunks:
            raise ValueError(f"snapshot {head.id}: {head.chunks - len(found)} chunk(s) missing")
        payload = base64.b64decode("".join(found[i] for i in ids))
        if hashlib.sha256(payload).hexdigest() != head.digest:
            raise ValueError(f"snapshot {head.id}: digest mismatch")
        return payload

    def clear(self) -> None:
        """Drop every snapshot (records were forgotten: they summarise what is gone), and
        note when, so a snapshot of a view built before now is never used (another process
        may still write one)."""
        collection = self._collection(create=True)
        collection.upsert(
            ids=["forgot"],
            documents=[""],
            embeddings=[_VECTOR],
            metadatas=[{"kind": "forgot", "at": time.time()}],
        )
        collection.delete(where={"kind": "head"})  # heads first: never half-visible
        collection.delete(where={"kind": "chunk"})

    def _drop(self, collection: Any, snapshot_id: str) -> None:
        collection.delete(ids=[f"{snapshot_id}:head"])  # the head first: never half-visible
        collection.delete(where={"snapshot": snapshot_id})


def _index_every_write(collection: Any) -> None:
    """Have Chroma write the collection's vector index at every write, so its log is purged
    at once. By default the index is written every 1,000 writes, and until then every new
    process replays the log on its first read: snapshots and leases are few, large or
    frequent writes, so that replay cost 0.3 s of each cold start at 100,000 records."""
    configuration = getattr(collection, "configuration", None) or {}
    hnsw = configuration.get("hnsw") if isinstance(configuration, dict) else None
    if not isinstance(hnsw, dict) or hnsw.get("sync_threshold") == 1:
        return  # not an HNSW index (a distributed Chroma), or already so
    try:
        collection.modify(configuration=_CONFIGURATION)
    except Exception as exc:  # an older server: only slower first reads
        log.debug("toolwise: could not set the snapshots' index to every write: %s", exc)


def snapshot_store_for(store: object) -> ChromaSnapshotStore | None:
    """The snapshot store beside ``store`` (its own: the one its writes take leases in);
    ``None`` unless Chroma."""
    from toolwise.storage.chroma import ChromaOutcomeStore

    if isinstance(store, ChromaOutcomeStore):
        return store.snapshots
    return None
