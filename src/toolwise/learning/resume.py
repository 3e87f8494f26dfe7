"""Start the learnt view from a stored snapshot, and store one (for :mod:`~.feed`).

How snapshots are kept, and why a start from one equals a rebuild: ``docs/architecture.md``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Container, Iterable

from toolwise.learning import snapshot
from toolwise.learning.view import ReliabilityView
from toolwise.storage.snapshots import ChromaSnapshotStore, SnapshotHead

__all__ = ["load_newest", "replay_ids", "store"]

log = logging.getLogger("toolwise.learning")


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
