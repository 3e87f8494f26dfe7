"""Each agent's collection: named one-to-one, checked to be the agent's, moved off the old names.

Every collection records the exact agent id it belongs to in its metadata; every open checks
it, and a collection of another agent raises :class:`~toolwise.errors.InvalidAgentIdError`
before anything is read or written. Names come from
:func:`~toolwise.storage.naming.collection_name_for`, which cannot give two agents one name.

**Stores written with the old mapping** (toolwise 0.1, :func:`~toolwise.storage.naming.
legacy_collection_name_for`) are migrated when an agent's collection is first opened under
its new name and is not there: the collection under the old name is taken if it records this
agent, and renamed (a metadata change, no copy). A name the old mapping could have given two
agents (it ends like a hashed name, ``-1a2b3c4d``) may hold records of both; before it is used
its records are read once and those of another agent (each record names its agent) are moved
to that agent's own collection, then it is marked ``checked``. Nothing is read mixed, and
nothing is lost: the move writes first and deletes after. Every process writing to one store
must run this version (an older one would write under the old names again).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from toolwise.errors import InvalidAgentIdError, StoreUnavailableError
from toolwise.storage import rows
from toolwise.storage.collections import AGENT_KEY, COSINE, check_embedding, folded, stamp
from toolwise.storage.embeddings import EmbeddingFunction
from toolwise.storage.naming import collection_name_for, legacy_collection_name_for, may_be_shared

__all__ = ["AgentCollections", "adopt_legacy", "check_owner", "existing"]

log = logging.getLogger("toolwise.storage")

NAMESPACE_KEY = "toolwise_namespace"
CHECKED = "checked"  # an old shared-shape collection whose other agents' records moved out
_MOVE_PAGE = 5_000

Move = Callable[[str, list[str], list[Any], list[dict[str, Any]]], None]


def check_owner(collection: Any, owner_key: str, agent_id: str) -> None:
    """Refuse a collection that does not record ``agent_id`` as its owner.

    Raises:
        InvalidAgentIdError: it belongs to another agent (or to something else).
    """
    owner = (collection.metadata or {}).get(owner_key)
    if owner != agent_id:
        raise InvalidAgentIdError(
            "agent_id",
            agent_id,
            f"collection {collection.name!r} belongs to {owner!r}; nothing was read or written",
        )


def existing(client: Any, name: str) -> Any | None:
    """Collection ``name``, or ``None`` if there is none (an outage still raises)."""
    try:
        return client.get_collection(name, embedding_function=None)
    except StoreUnavailableError:
        raise
    except Exception:  # Chroma raises NotFoundError/ValueError by version
        return None


def adopt_legacy(
    client: Any, agent_id: str, *, name: str, legacy: str, owner_key: str
) -> Any | None:
    """The agent's collection under its ``legacy`` name, renamed to ``name``; ``None`` if there
    is none, or it records another agent."""
    if legacy == name:
        return None
    old = existing(client, legacy)
    if old is None or (old.metadata or {}).get(owner_key) != agent_id:
        return None
    try:
        old.modify(name=name)
    except StoreUnavailableError:
        raise
    except Exception:  # another process renamed it first
        return existing(client, name)
    log.info("toolwise: collection %r of agent %r renamed to %r", legacy, agent_id, name)
    return old


class AgentCollections:
    """Opens agents' collections for a :class:`~toolwise.storage.chroma.ChromaOutcomeStore`.

    Args:
        client: the store's client, asked for on every use.
        prefix: the store's collection prefix.
        embedding: stamped on new collections, checked on open.
        move: writes rows (ids, vectors, metadata) to an agent's collection — and its failure
            index — when an old shared collection gives them back to their agent.
        adopted: called with an agent whose collection was renamed from its old name.

    Thread-safe: the cache is behind a lock.
    """

    def __init__(
        self,
        client: Callable[[], Any],
        *,
        prefix: str,
        embedding: EmbeddingFunction,
        move: Move,
        adopted: Callable[[str], object] = lambda _agent: None,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._embedding = embedding
        self._move = move
        self._adopted = adopted
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._checking: set[str] = set()  # old collections being checked (a move reopens them)

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._open = {}
        self._checking = set()

    def clear(self) -> None:
        with self._lock:
            self._open.clear()

    def open(self, agent_id: str, *, create: bool) -> Any | None:
        """The agent's collection; ``None`` when ``create`` is False and it has none.

        Raises:
            InvalidAgentIdError: the id is invalid, or its collection is another agent's.
            EmbeddingMismatchError: the collection was written with another embedding.
        """
        name = collection_name_for(agent_id, self._prefix)
        with self._lock:
            cached = self._open.get(agent_id)
        if cached is not None:
            return cached
        client = self._client()
        collection = existing(client, name)
        if collection is None:
            collection = self._from_legacy(client, agent_id, name)
        if collection is None:
            if not create:
                return None
            collection = client.get_or_create_collection(
                name,
                metadata=stamp(
                    AGENT_KEY, agent_id, self._embedding, stored=folded(self._embedding)
                ),
                configuration=COSINE,
                embedding_function=None,
            )
        check_owner(collection, AGENT_KEY, agent_id)
        check_embedding(collection, self._embedding)
        with self._lock:
            self._open[agent_id] = collection
        return collection

    def _from_legacy(self, client: Any, agent_id: str, name: str) -> Any | None:
        legacy = legacy_collection_name_for(agent_id, self._prefix)
        if legacy == name:
            return None
        old = existing(client, legacy)
        if old is None:
            return None
        meta = old.metadata or {}
        if (
            may_be_shared(legacy, self._prefix)
            and meta.get(NAMESPACE_KEY) != CHECKED
            and legacy not in self._checking
        ):
            self._give_back_others(old)
        adopted = adopt_legacy(client, agent_id, name=name, legacy=legacy, owner_key=AGENT_KEY)
        if adopted is not None:
            self._adopted(agent_id)
        return adopted

    def _give_back_others(self, collection: Any) -> None:
        """Move the records of agents other than the owner to their own collections."""
        name = collection.name
        owner = (collection.metadata or {}).get(AGENT_KEY)
        self._checking.add(name)
        try:
            moved: dict[str, int] = {}
            ids = _all_ids(collection)
            for start in range(0, len(ids), _MOVE_PAGE):
                page = collection.get(
                    ids=ids[start : start + _MOVE_PAGE], include=["embeddings", "metadatas"]
                )
                for agent, (found, vectors, metadatas) in _by_other_agent(page, owner).items():
                    self._move(agent, found, vectors, metadatas)  # written first ...
                    collection.delete(ids=found)  # ... then removed here
                    moved[agent] = moved.get(agent, 0) + len(found)
            collection.modify(metadata={**(collection.metadata or {}), NAMESPACE_KEY: CHECKED})
        finally:
            self._checking.discard(name)
        for agent, count in moved.items():
            log.warning(
                "toolwise: %d record(s) of agent %r were in %r (agent %r's collection under the "
                "old naming); moved to %r's own collection",
                count,
                agent,
                name,
                owner,
                agent,
            )

    def agents(self) -> list[str]:
        """Every agent with a collection under this prefix (new or old name)."""
        client = self._client()
        found: set[str] = set()
        for collection in client.list_collections():
            name = collection if isinstance(collection, str) else collection.name
            if not name.startswith(f"{self._prefix}_"):
                continue
            meta = getattr(collection, "metadata", None)
            if meta is None:
                meta = client.get_collection(name, embedding_function=None).metadata
            agent = (meta or {}).get(AGENT_KEY)
            if isinstance(agent, str) and self._names(name, agent):
                found.add(agent)
        return sorted(found)

    def _names(self, name: str, agent_id: str) -> bool:
        """Whether ``name`` is this prefix's name (new or old) for ``agent_id``.

        With prefixes "tw" and "tw_x" on one server, "tw_x_a" starts with "tw_" yet belongs
        to the other app: the name must be exactly this prefix's mapping of the agent.
        """
        try:
            return name in (
                collection_name_for(agent_id, self._prefix),
                legacy_collection_name_for(agent_id, self._prefix),
            )
        except InvalidAgentIdError:  # metadata written by something else: not ours
            return False


def _all_ids(collection: Any) -> list[str]:
    ids: list[str] = []
    while True:
        page = list(collection.get(limit=rows.PAGE, offset=len(ids), include=[])["ids"])
        ids.extend(page)
        if len(page) < rows.PAGE:
            return ids


def _by_other_agent(
    page: Any, owner: object
) -> dict[str, tuple[list[str], list[Any], list[dict[str, Any]]]]:
    """The rows of ``page`` whose record names an agent other than ``owner``, by agent."""
    others: dict[str, tuple[list[str], list[Any], list[dict[str, Any]]]] = {}
    vectors: Sequence[Any] = page["embeddings"] if page.get("embeddings") is not None else []
    for n, (record_id, meta) in enumerate(zip(page["ids"], page["metadatas"] or [], strict=False)):
        try:
            agent = rows.agent_of(json.loads((meta or {})["record"]))
        except (KeyError, TypeError, ValueError):  # not a toolwise record: leave it
            continue
        if isinstance(agent, str) and agent != owner and n < len(vectors):
            found, found_vectors, found_meta = others.setdefault(agent, ([], [], []))
            found.append(str(record_id))
            found_vectors.append(vectors[n])
            found_meta.append(dict(meta))
    return others
