"""A turn's recall: the nearest past failures of the visible tools, for the brief.

The store's answer to a similarity query (reused for ``recall_ttl`` seconds per query) is
merged with this process's failures the writer has not stored yet (read-your-writes), and
limited to the matched task type, so an unrelated request is never shown another task's
errors. Recall never fails a turn: while the store is unavailable it is skipped (and the
brief says so), and any other error leaves the brief without it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from toolwise.advice.format import Failure
from toolwise.advice.models import AdviceOptions
from toolwise.advice.protocols import AdviceRuntime
from toolwise.advice.task import TaskResolution
from toolwise.errors import StoreUnavailableError
from toolwise.models import ToolOutcome
from toolwise.storage.chroma import outcome_document
from toolwise.storage.embeddings import cosine
from toolwise.storage.health import store_is_down
from toolwise.storage.protocol import SimilarOutcome
from toolwise.storage.unstored import LocalFailures

__all__ = ["FailureRecall"]

log = logging.getLogger("toolwise.advice")

_RECALL_CACHE = 256


class FailureRecall:
    """Recalls past failures for an :class:`~toolwise.advice.Advisor`'s turns. Thread-safe."""

    def __init__(self, runtime: AdviceRuntime, options: AdviceOptions) -> None:
        self.runtime = runtime
        self.options = options
        self._recalled: OrderedDict[
            tuple[str, str, int], tuple[float, int, list[SimilarOutcome]]
        ] = OrderedDict()
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()  # unstored failures
        self._recall_lock = threading.Lock()

    def recall(
        self,
        agent_id: str,
        task: TaskResolution,
        text: str,
        tools: set[str],
        now: datetime,
    ) -> tuple[list[Failure], bool]:
        """The nearest past failures of the visible tools (empty when recall is off or fails),
        and False when the store was unavailable (only this process's unstored ones shown)."""
        if self.options.top_k == 0 or not text.strip():
            return [], True
        # A type toolwise matched or learnt from the request: recall only that task's
        # failures — an unrelated request must not be shown another task's errors.
        same_task = task.task_type if task.inferred and task.task_type else None
        if same_task is not None and task.source == "new":
            return [], True  # a type learnt just now has no failures yet
        query = f"failure for {task.task_type}. Task: {text}" if task.task_type else text
        k = self.options.top_k
        # Other tasks' failures are dropped after the query, so ask for more of them.
        wide = k if same_task is None else 3 * k
        local = self.runtime.local_failures(agent_id)
        stored = self._similar_failures(agent_id, query, now, local, wide)
        found = stored or []
        if local.unstored:  # read-your-writes: as the store will answer once it has them
            found = self._with_unstored(query, found, local.unstored, wide)
        if same_task is not None:
            found = [hit for hit in found if hit.outcome.task_type == same_task][:k]
        merged: dict[tuple[str, str], Failure] = {}
        # Nearest first, graded by importance (bounded, see ToolOutcome.importance), then newest.
        for hit in sorted(
            found,
            key=lambda h: (
                h.distance / (0.5 + h.outcome.importance),
                -h.outcome.timestamp.timestamp(),
            ),
        ):
            record = hit.outcome
            if record.tool not in tools:
                continue
            error = record.error_message or record.error_type
            if record.error_type and record.error_message:
                error = f"{record.error_type}: {record.error_message}"
            if record.judged_by:  # which rule judged it a failure (a returned error, say)
                error = f"{error} [{record.judged_by}]"
            key = (record.tool, error)
            if key in merged:
                seen = merged[key]
                merged[key] = Failure(
                    seen.tool, seen.error, seen.task, seen.age_seconds, seen.repeats + 1
                )
                continue
            age = (now - record.timestamp).total_seconds()
            merged[key] = Failure(record.tool, error, record.task, age)
        return list(merged.values()), stored is not None

    def store_down(self) -> bool:
        """True while the store says it is unhealthy (reading it would fail at once)."""
        return store_is_down(self.runtime.store)

    def _similar_failures(
        self, agent_id: str, query: str, now: datetime, local: LocalFailures, k: int
    ) -> list[SimilarOutcome] | None:
        """``store.similar`` for failures, reused for ``recall_ttl`` s per (agent, query, k) —
        unless this process recorded a failure of the agent since (the answer is stale);
        ``None`` while the store is unavailable (skipped at once when it says so)."""
        key, ttl = (agent_id, query, k), self.options.recall_ttl
        if ttl > 0:
            with self._recall_lock:
                cached = self._recalled.get(key)
            if (
                cached is not None
                and time.monotonic() - cached[0] < ttl
                and cached[1] == local.generation
            ):
                return cached[2]
        if self.store_down():
            return None
        try:
            found = self.runtime.store.similar(agent_id, query, k=k, now=now, outcome="failure")
        except StoreUnavailableError as exc:  # down, or timed out (bounded by the store)
            log.warning("toolwise: no recall this turn: %s", exc)
            return None
        except Exception as exc:  # advice must not fail a turn because recall did
            log.warning("toolwise: recalling similar failures failed: %s", exc)
            return []
        if ttl > 0 and not local.unstored:  # else the store may answer better in a moment
            with self._recall_lock:
                self._recalled[key] = (time.monotonic(), local.generation, found)
                self._recalled.move_to_end(key)
                while len(self._recalled) > _RECALL_CACHE:
                    self._recalled.popitem(last=False)
        return found

    def _with_unstored(
        self, query: str, found: list[SimilarOutcome], unstored: Sequence[ToolOutcome], k: int
    ) -> list[SimilarOutcome]:
        """The store's nearest failures merged with this process's unstored ones: the ``k``
        nearest of both, by the cosine distance the store uses (each embedded once)."""
        stored = {hit.outcome.id for hit in found}
        extra = [outcome for outcome in unstored if outcome.id not in stored]
        if not extra:
            return found
        embedding = self.runtime.embedding
        try:
            missing = [o for o in extra if o.id not in self._vectors]
            if missing:
                vectors = embedding([outcome_document(o) for o in missing])
                with self._recall_lock:
                    for outcome, vector in zip(missing, vectors, strict=True):
                        self._vectors[outcome.id] = vector
                    while len(self._vectors) > _RECALL_CACHE:
                        self._vectors.popitem(last=False)
            target = embedding([query])[0]
        except Exception as exc:  # advice must not fail a turn because an embedding did
            log.warning("toolwise: embedding unstored failures for recall failed: %s", exc)
            return found
        merged = list(found)
        for outcome in extra:
            known = self._vectors.get(outcome.id)
            if known is not None:
                merged.append(SimilarOutcome(outcome, 1.0 - cosine(target, known)))
        merged.sort(key=lambda hit: hit.distance)
        return merged[:k]
