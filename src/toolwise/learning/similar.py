"""Finds the known task types most like a new one, so it can borrow their evidence.

The similarity function is the caller's (the runtime backs it with embeddings): it may be slow
or fail, so it is called outside the view's lock, once per pair (cached), and a failure counts
as "not similar" with a warning.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence

from toolwise.learning.config import LearningConfig

__all__ = ["SimilarTasks", "Similarity"]

logger = logging.getLogger(__name__)

Similarity = Callable[[str, str], float]
"""Similarity in [0, 1] between two task types (the lead backs it with embeddings)."""

_MAX_SIMILARITY_CACHE = 100_000
_MAX_ANSWERS = 10_000


class SimilarTasks:
    """The task types most similar to a given one, by a cached similarity function.

    Thread-safe (its own lock, never held while the similarity function runs).

    Args:
        similarity: similarity in [0, 1] between two task types; ``None`` finds none.
        config: ``similarity_threshold`` (the least similarity that counts) and
            ``max_similar`` (how many are kept).
    """

    def __init__(self, similarity: Similarity | None, config: LearningConfig) -> None:
        self._similarity = similarity
        self._config = config
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], float] = {}
        # The answer per task type and candidates: each decision asks it again, and it
        # changes only when a pair is scored afresh (a new candidate, or after a clear).
        self._found: dict[tuple[str, tuple[str, ...]], list[tuple[str, float]]] = {}

    def __len__(self) -> int:
        """Pairs cached."""
        with self._lock:
            return len(self._cache)

    def wanted(self, task_type: str) -> bool:
        """Whether :meth:`among` can find any for ``task_type`` (else the caller need not
        list the candidates)."""
        return self._similarity is not None and bool(task_type) and self._config.max_similar > 0

    def among(self, task_type: str, others: Sequence[str]) -> list[tuple[str, float]]:
        """The ``others`` at least ``similarity_threshold`` similar to ``task_type``, with
        their similarity, most similar first (at most ``max_similar``)."""
        config = self._config
        asked = (task_type, tuple(others))
        with self._lock:
            found = self._found.get(asked)
            if found is not None:
                return list(found)
            missing = [t for t in others if (task_type, t) not in self._cache]
        computed = {other: self._similarity_of(task_type, other) for other in missing}
        with self._lock:
            cache = self._cache
            if len(cache) + len(computed) > _MAX_SIMILARITY_CACHE:
                cache.clear()
                self._found.clear()
            cache.update({(task_type, other): value for other, value in computed.items()})
            scored = [(other, cache.get((task_type, other), 0.0)) for other in others]
            kept = [(o, s) for o, s in scored if s >= config.similarity_threshold and s > 0.0]
            kept.sort(key=lambda item: (-item[1], item[0]))
            found = kept[: config.max_similar]
            if all((task_type, other) in cache for other in others):  # else not yet scored
                if len(self._found) >= _MAX_ANSWERS:
                    self._found.clear()
                self._found[asked] = found
        return list(found)

    def _similarity_of(self, a: str, b: str) -> float:
        similarity = self._similarity
        if similarity is None:
            return 0.0
        try:
            value = float(similarity(a, b))
        except Exception:  # a broken similarity must not break a ranking
            logger.warning("similarity(%r, %r) failed; treating as unrelated", a, b, exc_info=True)
            return 0.0
        return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
