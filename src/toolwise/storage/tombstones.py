"""Tombstones: a ``forget`` in one process, told to every process that shares the store.

Deleting records removes them from the store, yet every other process on the server keeps
what it learnt from them in memory — its learnt view, its reused recall answers and the recent
failures its tail read — until it happens to read the store again (up to ``2 * recall_ttl``
for a recall answer, the next restart for the view). A user who forgets records (a leaked
secret, test noise) expects every process to stop showing them within the tail's lag. So
each delete that removed anything leaves a small *tombstone* row: the agent, what went (a
tool, some ids, or everything) and its store time, stamped after the records were deleted. The
others' tails read the tombstones stamped since their last look with one range query beside
their look at the records, and unlearn what they name (``learning.tailing``).

Where they live, and why there: the collection ``{prefix}-tombstones`` beside the outcomes.
The outcome store lists only ``{prefix}_…`` collections as agents and reads records only from
those, so a tombstone can never show up as a record — not in a listing, a summary, a count or
a recall — and another app's prefix has its own. Each tombstone names one agent id, compared
whole, and is applied to that agent alone: one agent's forget never touches another's.

A process offline at the time needs none of it: it builds its view from the store, where the
records are gone. A running process whose looks failed for a while reads the tombstones from
its watermark once the store answers again. Tombstones are kept :data:`KEEP` seconds (pruned
at each write); a process whose last look is older than that cannot know what it missed, so
it is told that every agent's records may have gone (it relearns everything from the store).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from toolwise.storage.collections import opened
from toolwise.storage.protocol import Tombstone

__all__ = ["KEEP", "MAX_IDS", "ChromaTombstones"]

KEEP = 7 * 24 * 3600.0
"""Seconds a tombstone is kept: far longer than any tail's look is late."""
MAX_IDS = 10_000
"""Ids a tombstone names; a larger forget is told as "every record of the agent" (the
others unlearn a little more than needed, and relearn it from the store)."""

_VECTOR = [1.0]  # rows are fetched by store time, never by similarity
_CONFIGURATION: dict[str, Any] = {"hnsw": {"batch_size": 1, "sync_threshold": 1}}


class ChromaTombstones:
    """Tombstones in the Chroma collection ``{prefix}-tombstones``. Thread-safe.

    Args:
        client: a zero-argument callable returning the Chroma client (the outcome store's).
        prefix: the application's collection prefix (the outcome store's).
    """

    def __init__(self, client: Callable[[], Any], *, prefix: str) -> None:
        self._client_source = client
        self._name = f"{prefix}-tombstones"
        self._cached: Any = None
        self._mine: set[str] = set()  # written here: this process unlearnt them already
        self._lock = threading.Lock()

    def _collection(self, *, create: bool) -> Any:
        """The collection (``None`` when ``create`` is False and nobody forgot anything yet)."""
        with self._lock:
            if self._cached is not None:
                return self._cached
        collection = opened(
            self._client_source(),
            self._name,
            create=create,
            metadata={"toolwise_tombstones": 1},
            configuration=_CONFIGURATION,
        )
        if collection is None:
            return None
        with self._lock:
            self._cached = collection
        return collection

    def write(
        self, agent_id: str, *, at: float, tool: str | None, ids: Sequence[str] | None
    ) -> Tombstone:
        """Leave a tombstone for records of ``agent_id`` just deleted (call after deleting:
        whoever reads it must find them gone), and prune those older than :data:`KEEP`.

        Raises:
            Exception: the store failed (the records stay deleted; the caller logs it).
        """
        if ids is not None and len(ids) > MAX_IDS:
            tool = ids = None
        tombstone = Tombstone(
            id=f"{at:017.6f}-{uuid.uuid4().hex[:12]}",
            agent_id=agent_id,
            at=at,
            tool=tool,
            ids=None if ids is None else tuple(ids),
        )
        with self._lock:
            self._mine.add(tombstone.id)
        collection = self._collection(create=True)
        collection.upsert(
            ids=[tombstone.id],
            embeddings=[_VECTOR],
            metadatas=[
                {
                    "agent": agent_id,
                    "at": at,
                    "tool": tool or "",
                    "ids": "" if ids is None else json.dumps(list(ids)),
                    "scope": "ids" if ids is not None else "tool" if tool else "all",
                }
            ],
        )
        collection.delete(where={"at": {"$lt": at - KEEP}})
        return tombstone

    def since(self, since: float, *, agents: Callable[[], list[str]]) -> list[Tombstone]:
        """Other processes' tombstones stamped at or after ``since``, oldest first; when
        ``since`` is older than :data:`KEEP` (pruned ones may be missing), one "everything"
        tombstone for each of ``agents()``.

        Raises:
            Exception: the store failed.
        """
        if 0 < since < time.time() - KEEP:
            return [
                Tombstone(id=f"lapsed-{since}-{agent}", agent_id=agent, at=since)
                for agent in agents()
            ]
        collection = self._collection(create=False)
        if collection is None:
            return []
        got = collection.get(where={"at": {"$gte": since}}, include=["metadatas"])
        with self._lock:
            mine = set(self._mine)
        found = [
            parsed
            for row_id, meta in zip(got.get("ids") or [], got.get("metadatas") or [], strict=False)
            if row_id not in mine and (parsed := _parse(str(row_id), meta)) is not None
        ]
        found.sort(key=lambda t: (t.at, t.id))
        return found

    def after_fork(self) -> None:
        """In a forked child: fresh lock and cache (the parent's tombstones stay its own)."""
        self._lock = threading.Lock()
        self._cached = None


def _parse(row_id: str, meta: Any) -> Tombstone | None:
    """A row as a :class:`Tombstone`; ``None`` for one this version cannot read."""
    if not meta:
        return None
    try:
        scope = str(meta["scope"])
        tool = str(meta["tool"]) if scope == "tool" else None
        ids = tuple(str(i) for i in json.loads(str(meta["ids"]))) if scope == "ids" else None
        return Tombstone(
            id=row_id, agent_id=str(meta["agent"]), at=float(meta["at"]), tool=tool, ids=ids
        )
    except (KeyError, TypeError, ValueError):
        return None
