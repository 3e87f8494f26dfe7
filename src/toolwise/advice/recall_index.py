"""Recall answered in the process: each agent's failures per task type, ranked with NumPy.

Asking the store per question puts the store's query latency (its indexing of a burst of
writes, a busy server's queue) into every brief. With a store that can hand over an agent's
failures (:class:`~toolwise.storage.protocol.FailureListingStore`), a brief's recall is
ranked here instead, from an index loaded once per (agent, task type):

- **What it holds.** The last :data:`CAPACITY` failures of the agent the store was given (of
  the task type, or of every task type for a brief whose type was not matched), unexpired,
  one per distinct text
  as the store's own failure index keeps them, with the vectors the store keeps (folded as
  the store folds them: the query is folded the same way), so distances are the store's
  cosine distances. One :class:`RecallIndex` per runtime, shared by its pre-selection cores
  (a server keeps one per option set: :data:`SHARED`), holding at most :data:`INDEXES` keys;
  the least recently used goes. Bound: ``INDEXES x CAPACITY`` failures (32,000) per runtime:
  their records, and their vectors (1 KB each at the default embedding's stored 128
  dimensions).
- **Loaded in the background.** The first brief for a key starts the load (thread
  ``toolwise-recall-refresh``, one load at a time) and is answered the old way: the store's
  answer within the brief's budget (:class:`~toolwise.advice.recall_cache.RecallCache`).
  Later briefs never wait on the store.
- **Kept current.** Each brief adds the failures seen since the index was loaded or last
  brought up to date (:meth:`~toolwise.storage.unstored.LocalFailures.since`: this
  process's, stored or not, and other processes' ones the learning feed's tail read), each
  embedded once (more than memory keeps since, ``RECENT``: the newest of them, the rest with
  the next load); those not stored yet when it loaded are added by the load. A ``forget``
  (here, or another process's tombstone read by the tail) makes the index unusable at once:
  the brief after it is answered the old way while the index is loaded again from what the
  store kept. Every ``recall_ttl`` seconds the index is loaded
  again in the background (served meanwhile), so a fleet without a tail converges too.
- **Never fails a turn.** A load that fails is logged and tried again after
  :data:`RETRY` seconds; until then, briefs are answered the old way.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

from toolwise import _process
from toolwise.advice.recall_refresh import RecallRefresher
from toolwise.models import ToolOutcome
from toolwise.storage.collections import fold_matrix
from toolwise.storage.embeddings import EmbeddingFunction, unit_rows
from toolwise.storage.protocol import FailureListingStore, SimilarOutcome, StoredFailures
from toolwise.storage.rows import NO_EXPIRY, outcome_document
from toolwise.storage.unstored import LocalFailures

__all__ = ["CAPACITY", "INDEXES", "SHARED", "RecallIndex", "SharedIndexes"]

log = logging.getLogger("toolwise.advice")

CAPACITY = 1_000  # failures per (agent, task type): the newest, one per distinct text
INDEXES = 32  # (agent, task type) indexes per pre-selection core
RETRY = 1.0  # seconds before a failed load is tried again
_QUERIES = 1_024  # query vectors kept (a brief's question is embedded once)

Key = tuple[str, str | None]
"""(agent id, task type); ``None``: every task type of the agent."""


@dataclass(frozen=True, slots=True)
class _Index:
    """One key's failures: replaced whole, never changed (readers need no lock)."""

    outcomes: tuple[ToolOutcome, ...]
    vectors: npt.NDArray[np.float64]  # unit rows, folded as the store keeps them
    expires: npt.NDArray[np.float64]  # epoch s (far future: never)
    texts: dict[str, int]  # embedded text -> its row (in row order)
    ids: frozenset[str]
    floor: float  # epoch s of the oldest record when full (older ones are not added)
    dimension: int | None
    generation: int  # the agent's failures seen (all in here)
    epoch: int  # the agent's forgets before the load
    loaded: float  # the clock when the load started


class RecallIndex:
    """In-process recall indexes of one pre-selection core. Thread-safe, renewed in a
    forked child (:meth:`after_fork`).

    Args:
        store: lists an agent's newest failures with their vectors.
        embedding: the store's embedding (queries and new failures).
        down: True while the store is unavailable (no load is started).
        clock: monotonic seconds (injected by tests).
        capacity: failures per index.
        indexes: indexes kept.
    """

    def __init__(
        self,
        store: FailureListingStore,
        embedding: EmbeddingFunction,
        *,
        down: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = CAPACITY,
        indexes: int = INDEXES,
    ) -> None:
        self._store = store
        self._embedding = embedding
        self._down = down
        self._clock = clock
        self._capacity = capacity
        self._limit = indexes
        self._indexes: OrderedDict[Key, _Index] = OrderedDict()
        self._loading: set[Key] = set()
        self._failed: dict[Key, float] = {}  # when a key's last load failed
        self._queries: OrderedDict[tuple[str, int | None], npt.NDArray[np.float64]] = OrderedDict()
        self._loader = RecallRefresher()
        self._lock = threading.Lock()
        self._catching_up = threading.Lock()  # one brief brings indexes up to date at a time
        _process.renew_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: fresh locks and loader, none of the parent's loads in flight
        (they run in its threads), and the indexes kept (data; their epochs are checked)."""
        self._lock = threading.Lock()
        self._catching_up = threading.Lock()
        self._loader.after_fork()
        self._loading = set()

    def nearest(
        self,
        key: Key,
        query: str,
        k: int,
        local: LocalFailures,
        now: datetime,
        *,
        fresh: Callable[[], LocalFailures],
        refresh: float,
    ) -> list[SimilarOutcome] | None:
        """The ``k`` unexpired failures of ``key`` nearest ``query``, nearest first, with
        the failures ``local`` has seen since the load added; ``None`` while the key has no
        usable index (its load is started: the caller asks the store meanwhile).

        ``fresh()``: the agent's :class:`LocalFailures` as of the load (before it reads);
        ``refresh``: seconds after which the index is loaded again (served meanwhile)."""
        with self._lock:
            index = self._indexes.get(key)
            if index is not None:
                self._indexes.move_to_end(key)
        if index is None or index.epoch != local.epoch:  # none yet, or from before a forget
            self._load(key, fresh, now)
            return None
        if self._clock() - index.loaded >= refresh:
            self._load(key, fresh, now)  # served meanwhile
        index = self._current(key, index, local)
        return self._rank(index, query, k, now)

    def _current(self, key: Key, index: _Index, local: LocalFailures) -> _Index:
        """``index`` with the failures seen since it was brought up to date (kept so): only
        those, so each is embedded once. (Those unstored when it loaded were added then.)

        One brief at a time brings an index up to date; those arriving meanwhile find it
        done. Each doing the same work, the 32 briefs in flight after a burst of writes each
        embedded and indexed the same failures (up to ``RECENT``: 256 took ~13 ms, holding
        the GIL)."""
        if local.generation == index.generation:
            return index
        with self._catching_up:
            with self._lock:
                latest = self._indexes.get(key)
            if latest is not None and latest.epoch == index.epoch:
                index = latest  # brought further meanwhile (or loaded again)
            if local.generation <= index.generation:
                return index
            return self._caught_up(key, index, local)

    def _caught_up(self, key: Key, index: _Index, local: LocalFailures) -> _Index:
        """:meth:`_current`'s work, under its lock."""
        newer = local.since(index.generation)
        if newer is None:  # more since than memory keeps: the newest; the rest on refresh
            newer = local.recent
        task_type = key[1]
        extra = [
            outcome
            for outcome in {o.id: o for o in newer}.values()
            if outcome.id not in index.ids
            and outcome.timestamp.timestamp() > index.floor
            and (task_type is None or outcome.task_type == task_type)
        ]
        if not extra and local.generation == index.generation:
            return index
        current = replace(index, generation=local.generation)
        if extra:
            try:
                current = self._added(current, extra)
            except Exception as exc:  # a brief must not fail because an embedding did
                log.warning("toolwise: adding new failures to the recall index failed: %s", exc)
                return index
        with self._lock:
            if self._indexes.get(key) is index:  # else a load or another brief replaced it
                self._indexes[key] = current
        return current

    def _added(self, index: _Index, extra: Sequence[ToolOutcome]) -> _Index:
        """``index`` with ``extra`` in it: a failure whose text is there replaces the older
        record; past the capacity, the oldest go."""
        texts = [outcome_document(outcome) for outcome in extra]
        vectors = unit_rows(fold_matrix(np.asarray(self._embedding(texts)), index.dimension))
        outcomes = list(index.outcomes)
        documents = list(index.texts)  # in row order: built so
        rows = [index.vectors] if outcomes else []
        row_of = dict(index.texts)
        for outcome, text, vector in zip(extra, texts, vectors, strict=True):
            at = row_of.get(text)
            if at is None:
                row_of[text] = len(outcomes)
                outcomes.append(outcome)
                documents.append(text)
                rows.append(vector[np.newaxis, :])
            elif outcomes[at].timestamp <= outcome.timestamp:
                outcomes[at] = outcome
        return _index_of(
            outcomes,
            documents,
            np.vstack(rows) if rows else index.vectors,
            capacity=self._capacity,
            dimension=index.dimension,
            generation=index.generation,
            epoch=index.epoch,
            loaded=index.loaded,
        )

    def _rank(self, index: _Index, query: str, k: int, now: datetime) -> list[SimilarOutcome]:
        if not index.outcomes or k <= 0:
            return []
        target = self._query(query, index.dimension)
        distances = 1.0 - index.vectors @ target
        distances[index.expires <= now.timestamp()] = np.inf
        nearest = np.argsort(distances, kind="stable")[:k]
        return [
            SimilarOutcome(index.outcomes[n], float(distances[n]))
            for n in nearest
            if np.isfinite(distances[n])
        ]

    def _query(self, query: str, dimension: int | None) -> npt.NDArray[np.float64]:
        """The unit vector of ``query`` folded to ``dimension`` (embedded once, kept)."""
        key = (query, dimension)
        with self._lock:
            kept = self._queries.get(key)
        if kept is not None:
            return kept
        vector: npt.NDArray[np.float64] = unit_rows(
            fold_matrix(np.asarray(self._embedding([query])), dimension)
        )[0]
        with self._lock:
            self._queries[key] = vector
            while len(self._queries) > _QUERIES:
                self._queries.popitem(last=False)
        return vector

    def _load(self, key: Key, fresh: Callable[[], LocalFailures], now: datetime) -> None:
        """Start loading ``key`` in the background, unless a load runs, one failed within
        :data:`RETRY` seconds, or the store is down."""
        with self._lock:
            failed = self._failed.get(key)
            if key in self._loading or (failed is not None and self._clock() - failed < RETRY):
                return
            if self._down():
                return
            self._loading.add(key)
        self._loader.submit(lambda: self._fill(key, fresh, now))

    def _fill(self, key: Key, fresh: Callable[[], LocalFailures], now: datetime) -> None:
        """Load ``key`` from the store (in the loader's thread) and keep it."""
        try:
            local = fresh()  # before the read: failures seen after it are added by briefs
            started = self._clock()
            agent_id, task_type = key
            stored = self._store.newest_failures(
                agent_id, task_type=task_type, limit=self._capacity, now=now
            )
            index = _loaded(stored, local, started, self._capacity)
            task_type_of = key[1]
            unstored = [  # recorded before the read, maybe not stored by then: not in `since`
                outcome
                for outcome in local.unstored
                if outcome.id not in index.ids
                and (task_type_of is None or outcome.task_type == task_type_of)
            ]
            if unstored:
                index = self._added(index, unstored)
            with self._lock:
                self._indexes[key] = index
                self._indexes.move_to_end(key)
                self._failed.pop(key, None)
                while len(self._indexes) > self._limit:
                    self._indexes.popitem(last=False)
        except Exception as exc:  # the briefs ask the store meanwhile; tried again later
            log.warning("toolwise: loading the recall index of %r failed: %s", key, exc)
            with self._lock:
                self._failed[key] = self._clock()
        finally:
            with self._lock:
                self._loading.discard(key)


class SharedIndexes:
    """One :class:`RecallIndex` per owner (a runtime), shared by every pre-selection core
    built on it, and gone with it (held weakly). Thread-safe, renewed in a forked child."""

    def __init__(self) -> None:
        self._by_owner: weakref.WeakKeyDictionary[object, RecallIndex] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        _process.renew_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: a fresh lock (each index renews itself)."""
        self._lock = threading.Lock()

    def of(self, owner: object, build: Callable[[], RecallIndex]) -> RecallIndex:
        """``owner``'s index, built by ``build()`` on first use (which must not hold
        ``owner``: the index would keep it alive)."""
        with self._lock:
            index = self._by_owner.get(owner)
            if index is None:
                index = self._by_owner[owner] = build()
            return index


SHARED = SharedIndexes()
"""The process's recall indexes, one per runtime."""


def _loaded(stored: StoredFailures, local: LocalFailures, started: float, capacity: int) -> _Index:
    """An index of what the store handed over, as of ``local``."""
    outcomes = list(stored.outcomes)
    vectors = unit_rows(stored.vectors) if outcomes else np.zeros((0, stored.dimension or 1))
    return _index_of(
        outcomes,
        [outcome_document(outcome) for outcome in outcomes],
        vectors,
        capacity=capacity,
        dimension=stored.dimension,
        generation=local.generation,
        epoch=local.epoch,
        loaded=started,
    )


def _index_of(
    outcomes: list[ToolOutcome],
    texts: list[str],
    vectors: npt.NDArray[np.float64],
    *,
    capacity: int,
    dimension: int | None,
    generation: int,
    epoch: int,
    loaded: float,
) -> _Index:
    """An index of ``outcomes`` (row ``n`` has text and vector ``n``), the newest
    ``capacity`` kept."""
    if len(outcomes) > capacity:
        newest = sorted(range(len(outcomes)), key=lambda n: outcomes[n].timestamp)[-capacity:]
        newest.sort()
        outcomes = [outcomes[n] for n in newest]
        texts = [texts[n] for n in newest]
        vectors = vectors[newest]
    expires = np.asarray(
        [NO_EXPIRY if o.expires_at is None else o.expires_at.timestamp() for o in outcomes],
        dtype=np.float64,
    )
    return _Index(
        tuple(outcomes),
        vectors,
        expires,
        {text: n for n, text in enumerate(texts)},
        frozenset(outcome.id for outcome in outcomes),
        min(o.timestamp.timestamp() for o in outcomes) if len(outcomes) >= capacity else -np.inf,
        dimension,
        generation,
        epoch,
        loaded,
    )
