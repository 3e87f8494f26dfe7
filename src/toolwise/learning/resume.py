"""Start the learnt view from a stored snapshot, and store one (for :mod:`~.feed`).

How snapshots are kept, and why a start from one equals a rebuild: ``docs/architecture.md``.
"""

from __future__ import annotations

import gc
import logging
import math
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from toolwise.learning import snapshot
from toolwise.learning.view import ReliabilityView
from toolwise.storage.snapshots import ChromaSnapshotStore, SnapshotHead

__all__ = ["Restored", "load_newest", "paused_gc", "replay_ids", "store"]

log = logging.getLogger("toolwise.learning")


@dataclass(frozen=True, slots=True)
class Restored:
    """A snapshot loaded as a view: its head, the ids it holds near its watermark, and
    whether the store was *quiet* after it (the replay would read nothing it does not hold,
    by the writers' leases: it is skipped without touching the records; see :func:`_quiet`)."""

    head: SnapshotHead
    view: ReliabilityView
    ids: list[str]
    quiet: bool


def load_newest(
    snapshots: ChromaSnapshotStore, factory: Callable[[], ReliabilityView], *, overlap: float
) -> Restored | None:
    """The newest snapshot of this format and learning configuration, as a view; ``None`` if
    there is none, or the newest one is corrupt (one warning: the caller rebuilds from every
    record). ``overlap``: how far before the watermark a replay starts.

    Raises:
        Exception: listing the snapshots failed (the store is down).
    """
    # The leases first: one is dropped only once every snapshot listed after it is newer.
    leases = snapshots.leases()
    heads = snapshots.heads()
    view = factory()
    fingerprint = snapshot.fingerprint(view.config)
    for head in heads:
        if head.version != snapshot.VERSION or head.fingerprint != fingerprint:
            continue  # another format or learning configuration: not this view's
        try:
            payload = snapshots.payload(head)
            with paused_gc():
                ids, state = snapshot.unpack(payload)
                view.restore_state(state)
        except Exception as exc:
            log.warning("toolwise: ignoring snapshot %s (%s); rebuilding", head.id, exc)
            return None
        return Restored(head, view, ids, quiet=_quiet(leases, head, overlap))
    return None


@contextmanager
def paused_gc() -> Iterator[None]:
    """No garbage collection while a snapshot's objects are made: they are hundreds of
    thousands, all kept, and each full collection their allocation set off would scan them
    all again (0.14 s of CPU at 100,000 records, half the restore)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _quiet(leases: dict[str, float] | None, head: SnapshotHead, overlap: float) -> bool:
    """Whether no record can have been stored since ``head`` that it does not hold: every
    writer's lease ends before its replay would start, except the lease of the writer it
    holds whole (written after that writer stopped); ``None``: leases cannot tell."""
    if leases is None:
        return False
    others = (until for lease, until in leases.items() if lease != head.writer)
    return max(others, default=-math.inf) < head.watermark - overlap


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
    complete: bool = False,
) -> SnapshotHead:
    """Store the view's exported state with the ids near its watermark (``complete``: it
    holds every record this process's writer stored, which has stopped)."""
    return snapshots.save(
        snapshot.pack(ids, view_state),
        version=snapshot.VERSION,
        fingerprint=snapshot.fingerprint(config_of.config),
        watermark=watermark,
        records=records,
        built=built,
        complete=complete,
    )
