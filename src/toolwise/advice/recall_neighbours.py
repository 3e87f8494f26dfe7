"""Which request of a task the store answered last, so its answer can stand in for another's.

A brief whose recall is limited to one task type shows that task's failures, ranked for its
own text. When the store's answer for a new request misses the brief's budget, the freshest
answer to another request of the same task holds the failures the brief would show, ranked
for another text: re-ranked for this one (:class:`~toolwise.advice.recall_merge.FailureMerge`),
it is better than none while the request's own answer is still loading
(:meth:`~toolwise.advice.recall_cache.RecallCache.nearest`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["Family", "Key", "TaskNeighbours"]

Key = tuple[str, str, int]
"""(agent, query text, k): one question a brief asks the store."""
Family = tuple[str, str, int]
"""(agent, task type, k): questions whose answers may stand in for each other."""


class TaskNeighbours:
    """The task of each question briefs asked, and each task's question answered last.

    Args:
        limit: questions (and tasks) remembered, least recently named dropped first.

    Thread-safe.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._families: OrderedDict[Key, Family] = OrderedDict()
        self._latest: OrderedDict[Family, Key] = OrderedDict()
        self._lock = threading.Lock()

    def name(self, key: Key, task_type: str) -> None:
        """A brief asks ``key`` for a request of ``task_type``."""
        agent, _query, k = key
        with self._lock:
            self._families[key] = (agent, task_type, k)
            self._families.move_to_end(key)
            while len(self._families) > self._limit:
                self._families.popitem(last=False)

    def answered(self, key: Key) -> None:
        """The store's answer to ``key`` is kept: its task's freshest from now on."""
        with self._lock:
            family = self._families.get(key)
            if family is None:
                return
            self._latest[family] = key
            self._latest.move_to_end(family)
            while len(self._latest) > self._limit:
                self._latest.popitem(last=False)

    def after_fork(self) -> None:
        """In a forked child: a fresh lock; what was named and answered stays (it is data)."""
        self._lock = threading.Lock()

    def neighbour(self, key: Key) -> Key | None:
        """The question of ``key``'s task answered last, other than ``key`` itself."""
        with self._lock:
            family = self._families.get(key)
            other = None if family is None else self._latest.get(family)
        return None if other == key else other
