"""Recalled failures merged by the store's distance, each failure embedded once.

A reused recall answer is brought up to date with failures the store's answer lacks (this
process's unstored ones, those seen since the query): they are ranked against the query by the
cosine distance the store uses, from vectors computed at the brief with the store's embedding
and kept (``_KEPT``), so a failure merged into many briefs is embedded once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from toolwise.models import ToolOutcome
from toolwise.storage.chroma import outcome_document
from toolwise.storage.embeddings import EmbeddingFunction
from toolwise.storage.protocol import SimilarOutcome

__all__ = ["FailureMerge"]

log = logging.getLogger("toolwise.advice")

_KEPT = 1_024  # failure and query vectors kept (each failure is embedded once)


class FailureMerge:
    """Merges failures into a store answer by the store's distance. Thread-safe.

    Args:
        embedding: the store's embedding (the same distances as the store's answers).
    """

    def __init__(self, embedding: EmbeddingFunction) -> None:
        self._embedding = embedding
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def merge(
        self,
        key: tuple[str, str, int],
        found: list[SimilarOutcome],
        extra: Sequence[ToolOutcome],
        now: datetime,
    ) -> list[SimilarOutcome]:
        """The ``k`` nearest of ``found`` and ``extra`` (each embedded once), by the store's
        cosine distance; ``found`` alone if embedding fails."""
        _agent, query, k = key
        known = {hit.outcome.id for hit in found}
        extra = [
            o
            for o in {o.id: o for o in extra}.values()
            if o.id not in known and (o.expires_at is None or o.expires_at > now)
        ]
        if not extra:
            return found
        try:
            vectors = self._of(
                [("q:" + query, query)] + [(o.id, outcome_document(o)) for o in extra]
            )
        except Exception as exc:  # advice must not fail a turn because an embedding did
            log.warning("toolwise: embedding unstored failures for recall failed: %s", exc)
            return found
        matrix = np.asarray(vectors[1:], dtype=np.float64)
        target = np.asarray(vectors[0], dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(target) or 1.0)
        similarity = (matrix @ target) / np.where(norms == 0.0, 1.0, norms)
        merged = found + [
            SimilarOutcome(outcome, 1.0 - float(cos))
            for outcome, cos in zip(extra, similarity, strict=True)
        ]
        merged.sort(key=lambda hit: hit.distance)
        return merged[:k]

    def after_fork(self) -> None:
        """In a forked child: a fresh lock; the kept vectors stay (they are data)."""
        self._lock = threading.Lock()

    def _of(self, texts: list[tuple[str, str]]) -> list[list[float]]:
        """The vector of each (id, text), embedding only those not kept yet."""
        with self._lock:
            known = {name: self._vectors[name] for name, _ in texts if name in self._vectors}
        missing = [(name, text) for name, text in texts if name not in known]
        if missing:
            made = self._embedding([text for _, text in missing])
            with self._lock:
                for (name, _), vector in zip(missing, made, strict=True):
                    known[name] = self._vectors[name] = vector
                while len(self._vectors) > _KEPT:
                    self._vectors.popitem(last=False)
        return [known[name] for name, _ in texts]
