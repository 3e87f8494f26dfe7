"""The reads made since the evidence last changed, so a key read again costs a lookup.

A key's read gathers up to a dozen records (the tool's record in the task type, elsewhere, in
each similar task type) and combines them (``shrinkage``): about 20 µs at 100,000 outcomes,
ten of them a quarter of a ``recommend``. Between two changes of the evidence the same read
gives the same posterior, and reads repeat: the prior ``observe`` returns reads every tool of
its task type (for the alternative it suggests), as the next decision there does; a decision
made again before anything is learnt reads every candidate again.

Exact by construction: every change of the evidence (an outcome, a seed, a TTL lapse, a
forget) empties the memo (``Aggregates``), and an entry answers only a read with the same
lenders and peers — and, with wall-clock decay, at the same instant. Whether a re-try or a
probe is due depends on the clock and on decisions, so the reader works it out on every read.

Not thread-safe: the view's lock is held around every call. A snapshot keeps it empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from toolwise.learning.changes import ContextKey
from toolwise.learning.shrinkage import Mass

if TYPE_CHECKING:
    from toolwise.learning.reader import Read

__all__ = ["ReadMemo", "Slot"]

_MAX_ENTRIES: Final = 100_000  # a priors() listing of every key reads each once


Slot = tuple[ContextKey, str]
"""A read's context key and the time bucket it is read in (``""`` for none)."""

# What a read was asked with (lenders, peers, instant) and what it gave. A plain tuple: one
# is built on every read that misses.
_Entry = tuple[Sequence[tuple[str, float]], Mass, float, "Read"]


class ReadMemo:
    """Reads by :data:`Slot`, valid until :meth:`clear`.

    Args:
        timed: the posterior depends on the read's instant (wall-clock decay is on), so an
            entry answers only a read at the same instant.
    """

    __slots__ = ("_entries", "_timed")

    def __init__(self, *, timed: bool = False) -> None:
        self._timed = timed
        self._entries: dict[Slot, _Entry] = {}

    def __reduce__(self) -> tuple[type[ReadMemo], tuple[()], bool]:
        # A snapshot holds evidence, not reads of it: restored, the memo starts empty.
        return ReadMemo, (), self._timed

    def __setstate__(self, timed: bool) -> None:
        self._timed = timed

    def get(
        self, slot: Slot, lenders: Sequence[tuple[str, float]], peers: Mass, now: float
    ) -> Read | None:
        """The read of ``slot`` made with these lenders and peers, or ``None``."""
        entry = self._entries.get(slot) if self._entries else None
        if entry is None or entry[1] != peers or (self._timed and entry[2] != now):
            return None
        if entry[0] is not lenders and entry[0] != lenders:
            return None
        return entry[3]

    def put(
        self, slot: Slot, lenders: Sequence[tuple[str, float]], peers: Mass, now: float, read: Read
    ) -> None:
        """Remember a read (its ``retry`` is not used: it is worked out on every read)."""
        entries = self._entries
        if len(entries) >= _MAX_ENTRIES:
            entries.clear()
        entries[slot] = (lenders, peers, now, read)

    def clear(self) -> None:
        """Forget every read: the evidence changed."""
        if self._entries:
            self._entries.clear()

    def __len__(self) -> int:
        """Reads remembered."""
        return len(self._entries)
