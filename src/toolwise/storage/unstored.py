"""Failures this process recorded that the store may not answer for yet (read-your-writes).

A failure reaches the store's vector index only once the background writer has written its
batch (tens of milliseconds, or much longer while the store is down). The brief before the
very next model turn must still show it, so the runtime keeps each failure here from the
moment it is spooled until the writer has written everything spooled up to it; recall merges
these with the store's answer (:class:`~toolwise.advice.Advisor`). It also keeps each agent's
last ``RECENT`` failures, stored or not, numbered: a store answer recall reuses is brought up to
date with the failures recorded since it was fetched, instead of asking the store again after
every failure. Appending costs a lock and two deque appends, on failed calls only; nothing is
embedded until a brief asks.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from toolwise.models import ToolOutcome

__all__ = ["LocalFailures", "UnstoredFailures"]

_CAPACITY = 1_000  # while the store is down for long, the oldest give way (stored later)
RECENT = 256  # per agent; more failures since a reused recall than this, and it asks again


@dataclass(frozen=True, slots=True)
class LocalFailures:
    """What :meth:`UnstoredFailures.of` returns for one agent.

    Attributes:
        generation: how many failures of the agent this process has recorded (the last of
            ``recent`` is number ``generation``).
        unstored: those the store may not have yet, oldest first.
        recent: the agent's last failures recorded by this process (up to ``RECENT``),
            stored or not, oldest first; expired ones included (the reader knows "now").
        epoch: how many times ``forget`` ran for the agent (an answer from before it may
            hold forgotten records: it cannot be brought up to date, only asked again).
    """

    generation: int
    unstored: tuple[ToolOutcome, ...]
    recent: tuple[ToolOutcome, ...] = ()
    epoch: int = 0

    def since(self, generation: int) -> tuple[ToolOutcome, ...] | None:
        """The failures recorded after number ``generation``, oldest first; ``None`` when
        some of them are no longer kept (more than ``RECENT`` since)."""
        newer = self.generation - generation
        if newer <= 0:
            return ()
        if newer > len(self.recent):
            return None
        return self.recent[-newer:]


class UnstoredFailures:
    """This process's failures from spool to store.

    Args:
        recorded: how many records have been spooled so far (the writer's sequence).
        written: how many of those the writer has finished (written, or set aside): spooled
            records are written in order, so a failure spooled as number ``n`` is in the store
            once this reaches ``n``.

    Thread-safe.
    """

    def __init__(self, *, recorded: Callable[[], int], written: Callable[[], int]) -> None:
        self._recorded = recorded
        self._written = written
        self._entries: deque[tuple[int, ToolOutcome]] = deque(maxlen=_CAPACITY)
        self._generations: dict[str, int] = {}
        self._recent: dict[str, deque[ToolOutcome]] = {}
        self._epochs: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, outcome: ToolOutcome) -> None:
        """``outcome`` was just spooled; kept if it is a failure."""
        if outcome.outcome != "failure":
            return
        sequence = self._recorded()
        with self._lock:
            self._entries.append((sequence, outcome))
            agent = outcome.agent_id
            self._generations[agent] = self._generations.get(agent, 0) + 1
            recent = self._recent.get(agent)
            if recent is None:
                recent = self._recent[agent] = deque(maxlen=RECENT)
            recent.append(outcome)

    def of(self, agent_id: str, now: datetime) -> LocalFailures:
        """The agent's failure generation, its unexpired failures not yet stored and its
        recent ones."""
        written = self._written()
        with self._lock:
            while self._entries and self._entries[0][0] <= written:
                self._entries.popleft()
            unstored = tuple(
                outcome
                for _, outcome in self._entries
                if outcome.agent_id == agent_id
                and (outcome.expires_at is None or outcome.expires_at > now)
            )
            return LocalFailures(
                self._generations.get(agent_id, 0),
                unstored,
                tuple(self._recent.get(agent_id, ())),
                self._epochs.get(agent_id, 0),
            )

    def forget(
        self, agent_id: str, *, tool: str | None = None, ids: Sequence[str] | None = None
    ) -> None:
        """Drop what ``forget`` removed from the store (so recall cannot show it again)."""
        gone = set(ids) if ids is not None else None
        with self._lock:
            kept = [
                (sequence, outcome)
                for sequence, outcome in self._entries
                if not (
                    outcome.agent_id == agent_id
                    and (tool is None or outcome.tool == tool)
                    and (gone is None or outcome.id in gone)
                )
            ]
            self._entries = deque(kept, maxlen=_CAPACITY)
            self._epochs[agent_id] = self._epochs.get(agent_id, 0) + 1

    def clear(self) -> None:
        """Forget every entry (a forked child: the parent's spool is not this process's)."""
        with self._lock:
            self._entries.clear()
            self._recent.clear()
            for agent in self._generations:  # answers the parent reused are its own
                self._epochs[agent] = self._epochs.get(agent, 0) + 1
