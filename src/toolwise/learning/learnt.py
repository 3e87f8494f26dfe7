"""The ids of the records the learnt view holds, so a record read twice is learnt once.

The feed meets a record more than once: a tail look overlaps the last one, a replay starts
before a snapshot's watermark, this process's own records come back from the store. It learns
a record the first time its id is met. When each id was learnt decides which ids a snapshot
keeps (those a replay from it may meet again: :func:`~toolwise.learning.resume.replay_ids`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Container, Sequence
from itertools import repeat

from toolwise.learning import resume

__all__ = ["CAPACITY", "LearntIds"]

CAPACITY = 200_000
"""Ids remembered (the oldest are forgotten first): far more than a tail or replay meets."""


class LearntIds:
    """Which records the view has learnt (the newest :data:`CAPACITY`), and when.

    Not thread-safe: the feed adds under its lock. :attr:`known` may be read from any thread
    (the store consults it while it looks).

    Ids restored with a snapshot are indexed on first use, not by :meth:`restart`: a start
    whose snapshot is current answers its first decision without them (~25 ms at 100,000).
    """

    def __init__(self) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._learnt_at: deque[tuple[float, str]] = deque(maxlen=CAPACITY)
        self._restored: tuple[Sequence[str], float] | None = None  # not yet indexed
        self._index_lock = threading.Lock()  # `known` may be first read off the feed's lock
        self.since_snapshot = 0
        """Records learnt since the last snapshot (ids restored with one are not news)."""

    def _held(self) -> OrderedDict[str, None]:
        """The ids held, indexing those restored with a snapshot first if need be."""
        if self._restored is not None:
            with self._index_lock:
                if self._restored is not None:
                    kept, at = self._restored
                    with resume.paused_gc():
                        ids = OrderedDict.fromkeys(kept)
                        self._learnt_at.clear()
                        self._learnt_at.extend(zip(repeat(at), kept, strict=False))
                    self._ids = ids  # before `_restored` is cleared: readers check it first
                    self._restored = None
        return self._ids

    def __len__(self) -> int:
        return len(self._held())

    @property
    def known(self) -> Container[str]:
        """The ids held, for a store to leave out (a live view: a C-speed ``in``)."""
        return self._held().keys()

    def copy(self) -> set[str]:
        """The ids held now (a rebuild tells apart what it learns that was not held)."""
        return set(self._held())

    def add(self, record_id: str, at: float | None = None) -> bool:
        """True the first time ``record_id`` is met (then it is learnt); ``at``: when it was
        learnt, if not now (ids restored with a snapshot: not news to snapshot)."""
        if record_id in self._held():
            return False
        self._ids[record_id] = None
        if at is None:
            self._learnt_at.append((time.time(), record_id))
            self.since_snapshot += 1
        else:
            self._learnt_at.append((at, record_id))
        if len(self._ids) > CAPACITY:
            self._ids.popitem(last=False)
        return True

    def clear(self) -> None:
        """Forget every id (the view was dropped). When each was learnt is kept: a snapshot
        keeps only the ids held again by then."""
        self._held().clear()

    def restart(self, ids: Sequence[str], at: float) -> None:
        """Hold exactly ``ids``, learnt at ``at`` (a view restored from a snapshot).

        Indexed on first use, in bulk, with the garbage collector paused: a snapshot may hold
        100,000s of ids, and ``fromkeys`` and ``zip`` run in C (one ``add`` each took 0.1 s at
        100,000). Read `known` per use: this makes a new mapping."""
        with self._index_lock:
            self._restored = (ids[-CAPACITY:], at)

    def for_snapshot(
        self, *, watermark: float, window: float, overlap: float, build_span: tuple[float, float]
    ) -> list[str]:
        """The ids a snapshot taken at ``watermark`` keeps; counting starts again for the next.

        Args:
            watermark: store time before which every record of this process was stored.
            window: seconds before the watermark whose learnt ids are kept.
            overlap: seconds a replay looks back before the watermark.
            build_span: when the last build read the store (its rows are not kept once it
                ended more than ``overlap`` before the watermark).
        """
        known = self.known  # indexes restored ids into `_learnt_at` too
        ids = resume.replay_ids(
            self._learnt_at,
            known,
            watermark=watermark,
            window=window,
            overlap=overlap,
            build_span=build_span,
        )
        self.since_snapshot = 0
        return ids
