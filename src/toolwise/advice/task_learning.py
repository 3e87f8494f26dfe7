"""Task types learnt from the requests themselves, so minimal wiring learns per task.

Without labels every turn used to be "a new task": records got ``task_type=""`` and nothing
was learnt per task. Here each request is matched, by cosine similarity of toolwise's own
(offline) embedding, against the agent's clusters of earlier requests and the task types it
has records for. At or above the threshold the nearest is used (and a learnt cluster's
centroid moves toward the request); below it a new cluster is started and named from the
request's first words, so the records of that turn carry a real, stable task type.

Clusters are per agent and kept in a :class:`~toolwise.storage.task_clusters.TaskClusterStore`
(beside the outcome store), so a restart keeps them. Thread-safe.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from toolwise.advice.task import TaskMatcher, TaskResolution
from toolwise.storage.embeddings import EmbeddingFunction
from toolwise.storage.task_clusters import TaskCluster, TaskClusterStore

__all__ = ["MAX_CLUSTERS", "TaskTypeLearner", "name_from_request"]

log = logging.getLogger("toolwise.advice")

MAX_CLUSTERS = 2_000
"""Learnt types per agent; beyond it a request that matches none is ranked as a new task
under its own text and its records keep the entry point's task type (the old behaviour)."""

_NAME_WORDS = 5
_TOKEN = re.compile(r"[a-z0-9_]+")
_WORD = re.compile(r"[a-z]{2,20}")
# Function words say nothing about the task; dropped from names (never from matching).
_STOP_WORDS = (
    "a an and are as at be by can could do does for from have how i in is it me my of on or our "
    "please should the this to us we what when where which who why will with would you your"
)
_STOP = frozenset(_STOP_WORDS.split())


def name_from_request(text: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A task type name from a request's first words: ``"What is the weather in Paris?"`` →
    ``"weather_paris"``.

    Only alphabetic words of 2–20 letters are kept: a token with digits or underscores, or a
    very long one, may be a secret or an id (``ghp_…``, ``AKIA…``, ``Tr0ub4dor``), and is
    dropped whole, not mined for its letters. ``_2``, ``_3`` … keep names unique.
    """
    tokens = _TOKEN.findall(text.lower())
    words = [w for w in tokens if _WORD.fullmatch(w) and w not in _STOP][:_NAME_WORDS]
    base = "_".join(words) or "task"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


@dataclass(slots=True)
class _Cluster:
    centroid: npt.NDArray[np.float64]  # normalised mean of the requests' normalised vectors
    total: npt.NDArray[np.float64]  # sum of the requests' normalised vectors
    count: int


class TaskTypeLearner:
    """Matches a request to a learnt or known task type, or learns a new one.

    Args:
        embedding: toolwise's embedding (vectors of requests and type names).
        clusters: where learnt types are kept (loaded once per agent, saved on change).
        threshold: the least cosine similarity for a request to join a type.
        redact: the request with its secrets redacted, before a new type is named from it
            (``password=swordfish`` would otherwise name ``password_swordfish``, stored in
            the clusters and on every record of the type); a failure names the type ``task``.
    """

    def __init__(
        self,
        embedding: EmbeddingFunction,
        clusters: TaskClusterStore,
        threshold: float,
        redact: Callable[[str], str] = str,
    ) -> None:
        self._embedding = embedding
        self._redact = redact
        self._store = clusters
        self._threshold = threshold
        self._names = TaskMatcher(embedding, threshold)  # known types, matched by their name
        self._agents: dict[str, dict[str, _Cluster]] = {}
        self._lock = threading.Lock()
        self._save_failing = False  # one warning per outage, not one per turn

    def after_fork(self) -> None:
        """In a forked child: fresh locks; the learnt types stay (they are data)."""
        self._lock = threading.Lock()
        self._names.after_fork()

    def resolve(self, agent_id: str, text: str, known: Sequence[str]) -> TaskResolution:
        """The task type of a request: the nearest learnt or known type, else a new one."""
        if not text.strip():
            return self._names.match(text, ())
        vector = np.asarray(self._embedding([text])[0], dtype=np.float64)
        query = _unit(vector)
        clusters = self._clusters(agent_id)
        with self._lock:
            learnt = [(name, float(c.centroid @ query)) for name, c in clusters.items()]
        others = [t for t in known if t not in clusters]
        by_name = self._names.match(text, others, vector) if others else None
        best = max(learnt, key=lambda pair: (pair[1], pair[0]), default=None)
        if (
            by_name is not None
            and by_name.source == "inferred"
            and (best is None or (by_name.similarity or 0.0) > best[1])
        ):
            return by_name
        if best is not None and best[1] >= self._threshold:
            self._join(agent_id, best[0], query)
            return TaskResolution(best[0], best[0], "inferred", similarity=round(best[1], 4))
        nearest = max(best[1] if best else 0.0, (by_name.similarity or 0.0) if by_name else 0.0)
        return self._start(agent_id, text, query, round(max(nearest, 0.0), 4))

    # -- clusters -------------------------------------------------------------------------------

    def _clusters(self, agent_id: str) -> dict[str, _Cluster]:
        with self._lock:
            found = self._agents.get(agent_id)
        if found is not None:
            return found
        loaded: dict[str, _Cluster] = {}
        try:
            stored = self._store.load(agent_id)
        except Exception as exc:  # advice goes on; the types are learnt again
            log.warning("toolwise: could not load the learnt task types of %r: %s", agent_id, exc)
            stored = []
        for cluster in stored:
            if cluster.embedding != self._embedding.name or not cluster.centroid:
                continue  # another embedding's vectors are not comparable
            centroid = _unit(np.asarray(cluster.centroid, dtype=np.float64))
            loaded[cluster.name] = _Cluster(centroid, centroid * cluster.count, cluster.count)
        with self._lock:
            return self._agents.setdefault(agent_id, loaded)

    def _join(self, agent_id: str, name: str, query: npt.NDArray[np.float64]) -> None:
        with self._lock:
            cluster = self._agents[agent_id][name]
            cluster.total = cluster.total + query
            cluster.count += 1
            cluster.centroid = _unit(cluster.total)
            # Saved while the type is young (it moves most then), then every 16th request:
            # one upsert per model turn would double the cost of a brief for nothing.
            due = cluster.count <= 8 or cluster.count % 16 == 0
            snapshot = self._snapshot(name, cluster)
        if due:
            self._save(agent_id, snapshot)

    def _start(
        self, agent_id: str, text: str, query: npt.NDArray[np.float64], similarity: float
    ) -> TaskResolution:
        with self._lock:
            clusters = self._agents[agent_id]
            if len(clusters) >= MAX_CLUSTERS:
                return self._names.match(text, ())  # unnamed: ranked under its own text
            name = name_from_request(self._safe(text), set(clusters))
            cluster = _Cluster(query, query.copy(), 1)
            clusters[name] = cluster
            snapshot = self._snapshot(name, cluster)
        self._save(agent_id, snapshot)
        return TaskResolution(name, name, "new", similarity=similarity)

    def _safe(self, text: str) -> str:
        try:
            return self._redact(text)
        except Exception as exc:  # never name a type from text that may hold a secret
            log.warning("toolwise: could not redact a request to name its task type: %s", exc)
            return ""

    def _snapshot(self, name: str, cluster: _Cluster) -> TaskCluster:
        return TaskCluster(
            name=name,
            centroid=tuple(float(v) for v in cluster.centroid),
            count=cluster.count,
            embedding=self._embedding.name,
        )

    def _save(self, agent_id: str, cluster: TaskCluster) -> None:
        try:
            self._store.save(agent_id, [cluster])
        except Exception as exc:  # the type is still used this session; saved on its next change
            level = logging.DEBUG if self._save_failing else logging.WARNING
            self._save_failing = True
            log.log(level, "toolwise: could not save learnt task type %r: %s", cluster.name, exc)
        else:
            self._save_failing = False


def _unit(vector: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0.0 else vector
