"""``Learners``: what a runtime's durable records teach — the learning feed and the improver —
kept in step in one place, so recording, forgetting, forking and closing tell them all.

A record, once spooled, is told (in this order) to the :class:`LearningFeed` (queued for the
view), to the unstored-failures ledger (read-your-writes for recall), and to the improver's
failure counter; none of them can fail a tool call. Other writers' records, as the feed's tail
reads them, join the ledger's recent failures too (recall shows them at the next brief).
Forgetting records unlearns them from all three; another process's forget, which the tail
reads as a tombstone (:mod:`toolwise.storage.tombstones`), from the view and the ledger (the
lessons learnt from them are in the shared knowledge store, which the forgetter cleaned).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.feed import LearningFeed, learn
from toolwise.models import InfraEventSummary, ToolOutcome
from toolwise.storage.embeddings import EmbeddingFunction, cosine
from toolwise.storage.protocol import OutcomeStore, Tombstone
from toolwise.storage.snapshots import snapshot_store_for
from toolwise.storage.unstored import UnstoredFailures

if TYPE_CHECKING:
    from toolwise.improve import ImproveConfig, Improver
    from toolwise.improve.protocols import ChatModel

__all__ = ["Learners"]

log = logging.getLogger("toolwise")

_MAX_CACHED_EMBEDDINGS = 10_000


class Learners:
    """The learning feed (the view of what works) and the improver (built on first use).

    Args:
        store: the outcome log the view is built from and the improver reads.
        embedding: vectors for task-type names (how similar two task types are).
        clock: "now" (UTC).
        config: how outcomes become rankings.
        unstored: this process's failures not stored yet and every agent's recent ones (told
            of records, of other writers' records the tail reads, and of forgets).
        read_flush: ``read_flush()``: pending records to the store before the view reads it.
        catch_up: ``catch_up()``: finished calls to the spool before the view is read.
        flush: ``flush(timeout) -> bool``, given to the improver.
        refresh_interval: seconds between looks at other processes' records (``None``: none).
        improve: the improver's configuration.
        chat_model: the improver's model.
        labels: the stored form of a queried label (the record builder's ``label``).

    Thread-safe.
    """

    def __init__(
        self,
        store: OutcomeStore,
        *,
        embedding: EmbeddingFunction,
        clock: Callable[[], datetime],
        config: LearningConfig,
        unstored: UnstoredFailures,
        read_flush: Callable[[], object],
        catch_up: Callable[[], object],
        flush: Callable[[float | None], bool],
        refresh_interval: float | None,
        improve: ImproveConfig | None,
        chat_model: ChatModel | None,
        labels: Callable[[str], str] | None = None,
    ) -> None:
        self._store = store
        self._embedding = embedding
        self._clock = clock
        self._config = config
        self._unstored = unstored
        self._flush = flush
        self._labels = labels
        self._embedding_cache: dict[str, list[float]] = {}
        self._feed = LearningFeed(
            lambda: ReliabilityView(config, self._task_similarity, clock, labels),
            store,
            flush=read_flush,
            clock=clock,
            refresh_interval=refresh_interval,
            catch_up=catch_up,
            snapshots=snapshot_store_for(store),
            on_tailed=unstored.add_stored,  # other writers' failures reach recall at once
            on_buried=self._forgotten_elsewhere,  # and their forgets leave it as soon
        )
        self._improve_config = improve
        self._chat_model = chat_model
        self._improver: Improver | None = None
        self._improver_lock = threading.Lock()
        self._closed = False

    @property
    def feed(self) -> LearningFeed:
        """Keeps the learnt view in step with the records (``feed.ready``: built yet?)."""
        return self._feed

    @property
    def config(self) -> LearningConfig:
        """How outcomes become rankings."""
        return self._config

    # -- told of every record ---------------------------------------------------------------

    def learn(self, outcome: ToolOutcome) -> None:
        """After the spool, in order: the learning feed, then the improver's failure counter
        (both cheap: they run on every tool call); never raises."""
        try:
            self._feed.on_record(outcome)
            self._unstored.add(outcome)
        except Exception as exc:  # learning must never fail a tool call
            log.warning("toolwise: learning from a record failed: %s", exc)
        improver = self._improver
        if improver is not None:
            try:
                improver.notify(outcome)  # O(1): counts failures under a lock
            except Exception as exc:
                log.warning("toolwise: scheduling self-improvement failed: %s", exc)

    def forgotten(
        self, agent_id: str, tool: str | None, ids: Sequence[str] | None, removed: int
    ) -> None:
        """Records were deleted: unlearn them everywhere (never raises on lesson bookkeeping)."""
        self._feed.invalidate_snapshots()  # they summarise what is gone
        self._feed.reset()  # unlearn: the view is rebuilt from what remains
        self._unstored.forget(agent_id, tool=tool, ids=ids)
        try:
            self.improver.on_forget(agent_id, tool=tool, ids=ids, removed=removed)
        except Exception as exc:  # forgetting records must not fail on lesson bookkeeping
            log.warning("toolwise: dropping lessons of forgotten records failed: %s", exc)

    def _forgotten_elsewhere(self, tombstones: Sequence[Tombstone]) -> None:
        """Another process forgot records (the feed relearns its view next): recall drops
        them, and asks the store again for any answer from before."""
        for tombstone in tombstones:
            self._unstored.forget(
                tombstone.agent_id, tool=tombstone.tool, ids=tombstone.ids, elsewhere=True
            )

    # -- the view ---------------------------------------------------------------------------

    def view(self) -> ReliabilityView:
        """The learnt view, built from the store on first use."""
        return self._feed.view()

    def _task_similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two task-type names under the store's embedding."""
        vectors = []
        for text in (a, b):
            vector = self._embedding_cache.get(text)
            if vector is None:
                vector = self._embedding([text.replace("_", " ")])[0]
                if len(self._embedding_cache) < _MAX_CACHED_EMBEDDINGS:
                    self._embedding_cache[text] = vector
            vectors.append(vector)
        return max(0.0, min(1.0, cosine(vectors[0], vectors[1])))

    def outages(
        self, agent_id: str | None, since: datetime | None, outcomes: list[ToolOutcome]
    ) -> list[InfraEventSummary]:
        """Outages for a summary, without building the whole view just for them.

        Outages are found per agent and environment, from that agent's records alone, so when
        the view is not built yet (``toolwise summary`` in a fresh process) a throwaway view fed
        the records just read gives the same events at a fraction of the cost (at 100,000
        records: one pass over them instead of a second read of the store).
        """
        if since is not None or self._feed.ready:
            return list(self.view().infra_events(agent_id))
        view = ReliabilityView(self._config, None, self._clock, self._labels)
        for outcome in sorted(outcomes, key=lambda o: o.timestamp):
            learn(view, outcome)
        return list(view.infra_events(agent_id))

    # -- self-improvement -------------------------------------------------------------------

    @property
    def improver(self) -> Improver:
        """Lessons, demonstrations, composite tools, prompt refinement and the audit trail;
        built on first use."""
        improver = self._improver
        if improver is None:
            from toolwise.improve import Improver

            with self._improver_lock:
                if self._improver is None:
                    self._improver = Improver(
                        self._store,
                        embedding=self._embedding,
                        clock=self._clock,
                        flush=self._flush,
                        chat_model=self._chat_model,
                        config=self._improve_config,
                    )
                improver = self._improver
        return improver

    def start_improving(self) -> None:
        """With ``improve_after_failures`` set, build the improver now, so it sees failures
        from the first call."""
        config = self._improve_config
        if config is not None and config.improve_after_failures is not None:
            _ = self.improver

    # -- lifecycle --------------------------------------------------------------------------

    def close(self, timeout: float, *, complete: bool = False) -> None:
        """Write a last snapshot, stop looking at other writers, stop the improver.
        ``complete``: the writer has stopped, and the view holds all it stored."""
        self._closed = True
        self._feed.close(complete=complete, timeout=timeout)
        if self._improver is not None:
            self._improver.close(timeout)

    def after_fork(self) -> None:
        """In a forked child: fresh locks, and no improver of the parent's (its threads are
        gone); call :meth:`start_improving` once the child's write path is ready."""
        self._improver_lock = threading.Lock()  # one held by a parent thread stays held
        if self._closed:
            return
        self._feed.after_fork()
        self._improver = None
