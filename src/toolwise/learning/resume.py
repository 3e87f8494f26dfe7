"""Start the learnt view from a stored snapshot, store the next one, and decide when.

How snapshots are kept, and why a start from one equals a rebuild: ``docs/architecture.md``.
:class:`SnapshotKeeper` is the feed's side of it; the feed keeps the locking (a snapshot is
taken from a consistent cut of the view and the ids it holds).
"""

from __future__ import annotations

import gc
import logging
import math
import threading
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from toolwise.learning import snapshot
from toolwise.learning.view import ReliabilityView
from toolwise.storage.snapshots import ChromaSnapshotStore, SnapshotHead

__all__ = [
    "SNAPSHOT_EVERY",
    "SNAPSHOT_IDS_WINDOW",
    "Restored",
    "SnapshotKeeper",
    "load_newest",
    "paused_gc",
    "replay_ids",
    "store",
]

log = logging.getLogger("toolwise.learning")

SNAPSHOT_EVERY = 10_000
"""Records learnt between two snapshots of the view (written in a background thread)."""
SNAPSHOT_IDS_WINDOW = 150.0
"""Seconds before a snapshot's watermark whose learnt record ids it keeps, so that a record
met again is not learnt twice by a process started from it: by its replay (from the
watermark minus ``tailing.TAIL_OVERLAP``, by store time) or by its first sweep (which looks
``tailing.SWEEP_OVERLAP``, 2 minutes, back by record time, and a record is learnt after it
is made). At least their sum (``tests/learning/test_snapshot.py`` checks it)."""


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
        self._background: threading.Thread | None = None

    def newest(self, *, overlap: float) -> Restored | None:
        """:func:`load_newest`, or ``None`` when the snapshots cannot be read (the store is
        down: the build that follows says so)."""
        try:
            return load_newest(self.snapshots, self._factory, overlap=overlap)
        except Exception as exc:
            log.debug("toolwise: reading the view's snapshots failed: %s", exc)
            return None

    def save(
        self, view_state: bytes, ids: list[str], view: ReliabilityView, *, watermark: float,
        records: int, complete: bool = False,
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
            complete=complete,
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
        self._background = threading.Thread(
            target=self.write, args=(write,), name="toolwise-snapshot", daemon=True
        )
        self._background.start()

    def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for a background write to end: closing the store under
        it would lose that snapshot (and log its failure)."""
        background = self._background
        if background is not None:
            background.join(timeout)

    def clear(self) -> None:
        """Drop every stored snapshot (records were forgotten); never raises."""
        try:
            self.snapshots.clear()
        except Exception as exc:
            log.warning("toolwise: dropping the view's snapshots failed: %s", exc)


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
