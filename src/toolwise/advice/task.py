"""Which task a model turn is about: given explicitly, named by the user's resolver, or inferred.

Order: the run's config metadata (``toolwise_task_type``), the ``toolwise`` state key (unless
toolwise itself inferred it on an earlier turn), the options' fixed ``task_type``, the
resolver, and finally the known task type nearest to the latest human message by embedding
similarity. Below the similarity threshold the task is *new*: with task learning on (the
default, :mod:`toolwise.advice.task_learning`) it becomes a new type named from the request;
otherwise it is ranked under its own text. Either way a fresh type borrows from each tool's
record across every task.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from toolwise.advice.models import STATE_KEY, AdviceOptions, TaskQuery, TaskSource
from toolwise.recording.context import META_PREFIX
from toolwise.storage.embeddings import EmbeddingFunction, unit_rows

__all__ = ["Labels", "TaskMatcher", "TaskResolution", "resolve_labels"]

log = logging.getLogger("toolwise.advice")

_MAX_FRESH_TASK_CHARS = 200  # a new task is ranked under its text; keep the key short
_MAX_CACHED_TYPES = 10_000


@dataclass(frozen=True, slots=True)
class Labels:
    """Agent, environment and an explicitly given task type for one turn ("" when not given)."""

    agent_id: str
    environment: str
    task_type: str


@dataclass(frozen=True, slots=True)
class TaskResolution:
    """The task type a turn is ranked under, and where it came from.

    ``ranking_key`` is what ``recommend`` receives: the task type, or for an unnamed new task
    its text. ``task_type`` is the type to label records with: a learnt new task has its new
    name; ``""`` only when learning is off (or the agent's types are full).
    ``source``: ``given`` (config, state or options), ``resolver``, ``inferred`` (nearest
    known or learnt type) or ``new`` (nothing similar enough).
    """

    task_type: str
    ranking_key: str
    source: TaskSource
    similarity: float | None = None

    @property
    def inferred(self) -> bool:
        """Chosen from the request by similarity (a known type, or none: a new task)."""
        return self.source in ("inferred", "new")


def _string(source: Mapping[str, Any], key: str) -> str:
    value = source.get(key)
    return value if isinstance(value, str) else ""


def resolve_labels(
    options: AdviceOptions, state: Mapping[str, Any], metadata: Mapping[str, Any]
) -> Labels:
    """Options, overridden by the ``toolwise`` state key, overridden by config metadata.

    The same precedence as :meth:`toolwise.recording.context.CallContext.resolve`, so a
    decision and the records of its tool calls agree on agent and environment. A task type
    toolwise inferred on an earlier turn is not an explicit one: it is inferred again.
    """
    values = {
        "agent_id": options.agent_id,
        "environment": options.environment,
        "task_type": options.task_type,
    }
    stored = state.get(STATE_KEY)
    if isinstance(stored, Mapping):
        for key in ("agent_id", "environment"):
            values[key] = _string(stored, key) or values[key]
        if not stored.get("inferred"):
            values["task_type"] = _string(stored, "task_type") or values["task_type"]
    return Labels(**{k: _string(metadata, META_PREFIX + k) or v for k, v in values.items()})


class TaskMatcher:
    """Finds the known task type nearest to a request, by cosine similarity of embeddings.

    The known types' vectors are embedded once and kept as one normalised matrix (rebuilt when
    the set of known types changes), so a turn costs one embedding of the request and one
    matrix-vector product. Thread-safe.
    """

    def __init__(self, embedding: EmbeddingFunction, threshold: float) -> None:
        self._embedding = embedding
        self._threshold = threshold
        self._known: tuple[str, ...] = ()
        self._matrix: npt.NDArray[np.float64] = np.zeros((0, 0))
        self._vectors: dict[str, list[float]] = {}  # per name: a new type embeds only itself
        self._lock = threading.Lock()

    def after_fork(self) -> None:
        """In a forked child: a fresh lock; the kept vectors stay (they are data)."""
        self._lock = threading.Lock()

    def _types_matrix(self, known: tuple[str, ...]) -> npt.NDArray[np.float64]:
        with self._lock:
            if known == self._known:
                return self._matrix
            missing = [t for t in known if t not in self._vectors]
        if missing:
            found = self._embedding([_words(t) for t in missing])
            with self._lock:
                if len(self._vectors) + len(found) > _MAX_CACHED_TYPES:
                    self._vectors.clear()
                self._vectors.update(zip(missing, found, strict=True))
        with self._lock:
            vectors = [self._vectors.get(t) for t in known]
        if any(v is None for v in vectors):  # cleared meanwhile by another thread: rare
            vectors = list(self._embedding([_words(t) for t in known]))
        matrix = unit_rows(np.asarray(vectors, dtype=np.float64))
        with self._lock:
            self._known, self._matrix = known, matrix
        return matrix

    def match(
        self,
        text: str,
        known: Sequence[str],
        vector: npt.NDArray[np.float64] | None = None,
    ) -> TaskResolution:
        """The nearest of ``known`` to ``text`` if similar enough, else a new task.

        ``vector`` is ``text``'s embedding when the caller has it already.
        """
        fresh_key = text[:_MAX_FRESH_TASK_CHARS]
        if not text.strip() or not known:
            return TaskResolution("", fresh_key, "new")
        names = tuple(sorted(known))  # ties go to the first name, whatever the caller's order
        matrix = self._types_matrix(names)
        if vector is None:
            vector = np.asarray(self._embedding([text])[0], dtype=np.float64)
        query = unit_rows(vector.reshape(1, -1))[0]
        scores = matrix @ query
        best = int(np.argmax(scores))
        score = round(float(scores[best]), 4)
        if score >= self._threshold:
            return TaskResolution(names[best], names[best], "inferred", similarity=score)
        return TaskResolution("", fresh_key, "new", similarity=max(score, 0.0))


def _words(task_type: str) -> str:
    """``production_deploy`` reads as ``production deploy`` to an embedding."""
    return task_type.replace("_", " ").replace("-", " ")


def resolve_task(
    labels: Labels,
    query: TaskQuery,
    *,
    resolver: Callable[[TaskQuery], Any] | None,
    infer: Callable[[str], TaskResolution],
) -> TaskResolution:
    """Explicit labels, then the resolver, then ``infer(text)``: the nearest known or learnt
    type, or a new one (see the module doc and :mod:`toolwise.advice.task_learning`)."""
    if labels.task_type:
        return TaskResolution(labels.task_type, labels.task_type, "given")
    if resolver is not None:
        try:
            named = resolver(query)
        except Exception as exc:  # a user's resolver must not break the agent
            log.warning("toolwise: the task resolver failed, inferring instead: %s", exc)
            named = None
        if isinstance(named, str) and named.strip():
            return TaskResolution(named, named, "resolver")
    return infer(query.text)
