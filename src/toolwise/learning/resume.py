"""Start the learnt view from a stored snapshot, store the next one, and decide when.

How snapshots are kept, and why a start from one equals a rebuild: ``docs/architecture.md``.
:class:`SnapshotKeeper` is the feed's side of it; the feed keeps the locking (a snapshot is
taken from a consistent cut of the view and the ids it holds).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Container, Iterable

from toolwise.learning import snapshot
from toolwise.learning.view import ReliabilityView
from toolwise.storage.snapshots import ChromaSnapshotStore, SnapshotHead

__all__ = [
    "SNAPSHOT_EVERY",
    "SNAPSHOT_IDS_WINDOW",
    "SnapshotKeeper",
    "load_newest",
    "replay_ids",
    "store",
]

log = logging.getLogger("toolwise.learning")

SNAPSHOT_EVERY = 10_000
"""Records learnt between two snapshots of the view (written in a background thread)."""
SNAPSHOT_IDS_WINDOW = 30.0
"""Seconds before a snapshot's watermark whose learnt record ids it keeps (so a record stored
in the replay overlap is not learnt twice): longer than the writer ever lags a flush."""


class SnapshotKeeper:
    """The feed's snapshots: the newest usable one to start from, the next one to store, at
    most one written in the background at a time.

    Args:
        snapshots: where snapshots are kept.
        factory: builds a fresh view (a snapshot is restored into one).
        every: records learnt between two snapshots.
    """

    def __init__(
        self,
        snapshots: ChromaSnapshotStore,
        factory: Callable[[], ReliabilityView],
        *,
        every: int = SNAPSHOT_EVERY,
    ) -> None:
        self.snapshots = snapshots
        self._factory = factory
        self.every = every
        self.built_at = 0.0
        """Store time the view first read the records (kept across restores: a snapshot of
        a view built before the last ``forget`` is never used)."""
        self.build_span = (math.inf, math.inf)
        """When the last build read the store (store times; its rows need no ids kept)."""
        self._writing = False

    def newest(self) -> tuple[SnapshotHead, ReliabilityView, list[str]] | None:
        """:func:`load_newest`, or ``None`` when the snapshots cannot be read (the store is
        down: the build that follows says so)."""
        try:
            return load_newest(self.snapshots, self._factory)
        except Exception as exc:
            log.debug("toolwise: reading the view's snapshots failed: %s", exc)
            return None

    def save(
        self, view_state: bytes, ids: list[str], view: ReliabilityView, *, watermark: float,
        records: int,
    ) -> SnapshotHead:  # fmt: skip
        """Store a snapshot taken at ``watermark`` (see :func:`store`).

        Raises:
            Exception: whatever the store raised (the caller logs it).
        """
        return store(
            self.snapshots,
            view_state,
            ids,
            view,
            watermark=watermark,
            records=records,
            built=self.built_at,
        )

    def claim(self) -> bool:
        """True if no background write is under way; it then is (call under the feed's lock)."""
        if self._writing:
            return False
        self._writing = True
        return True

    def write(self, write: Callable[[], object]) -> None:
        """Run ``write`` now, logging a failure, and end the claim."""
        try:
            write()
        except Exception as exc:
            log.warning("toolwise: writing a snapshot of the view failed: %s", exc)
        finally:
            self._writing = False

    def write_soon(self, write: Callable[[], object]) -> None:
        """:meth:`write` in the ``toolwise-snapshot`` daemon thread (after :meth:`claim`)."""
        threading.Thread(
            target=self.write, args=(write,), name="toolwise-snapshot", daemon=True
        ).start()

    def clear(self) -> None:
        """Drop every stored snapshot (records were forgotten); never raises."""
        try:
            self.snapshots.clear()
        except Exception as exc:
            log.warning("toolwise: dropping the view's snapshots failed: %s", exc)


def load_newest(
    snapshots: ChromaSnapshotStore, factory: Callable[[], ReliabilityView]
) -> tuple[SnapshotHead, ReliabilityView, list[str]] | None:
    """The newest snapshot of this format and learning configuration, as a view and the ids
    it holds near its watermark; ``None`` if there is none, or the newest one is corrupt (one
    warning: the caller rebuilds from every record).

    Raises:
        Exception: listing the snapshots failed (the store is down).
    """
    heads = snapshots.heads()
    view = factory()
    fingerprint = snapshot.fingerprint(view.config)
    for head in heads:
        if head.version != snapshot.VERSION or head.fingerprint != fingerprint:
            continue  # another format or learning configuration: not this view's
        try:
            ids, state = snapshot.unpack(snapshots.payload(head))
            view.restore_state(state)
        except Exception as exc:
            log.warning("toolwise: ignoring snapshot %s (%s); rebuilding", head.id, exc)
            return None
        return head, view, ids
    return None


def replay_ids(
    learnt_at: Iterable[tuple[float, str]],
    seen: Container[str],
    *,
    watermark: float,
    window: float,
    overlap: float,
    build_span: tuple[float, float],
) -> list[str]:
    """The ids a replay from ``watermark - overlap`` may meet again: those learnt in the
    ``window`` s before the watermark, except the rows the last build read when it ended
    more than ``overlap`` before the watermark (they were all stored before it ended)."""
    first, last = build_span
    if watermark - overlap < last:
        first = last = math.inf
    since = watermark - window
    return [i for t, i in learnt_at if t >= since and not first <= t <= last and i in seen]


def store(
    snapshots: ChromaSnapshotStore,
    view_state: bytes,
    ids: list[str],
    config_of: ReliabilityView,
    *,
    watermark: float,
    records: int,
    built: float,
) -> SnapshotHead:
    """Store the view's exported state with the ids near its watermark."""
    return snapshots.save(
        snapshot.pack(ids, view_state),
        version=snapshot.VERSION,
        fingerprint=snapshot.fingerprint(config_of.config),
        watermark=watermark,
        records=records,
        built=built,
    )
