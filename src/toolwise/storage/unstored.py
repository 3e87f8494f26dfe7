"""Failures this process recorded that the store may not answer for yet (read-your-writes).

A failure reaches the store's vector index only once the background writer has written its
batch (tens of milliseconds, or much longer while the store is down). The brief before the
very next model turn must still show it, so the runtime keeps each failure here from the
moment it is spooled until the writer has written everything spooled up to it; recall merges
these with the store's answer (:class:`~toolwise.advice.Advisor`). It also keeps each agent's
last ``RECENT`` failures, stored or not, numbered — this process's, and those the learning
feed's tail read from other writers on the same server (:meth:`UnstoredFailures.add_stored`):
a store answer recall reuses is brought up to date with the failures seen since it was
fetched, instead of asking the store again after every failure, and another process's failure
reaches the next brief as soon as the tail has read it (~1–2 s), not when the answer expires.
Appending costs a lock and two deque appends, on failed calls only; nothing is embedded until
a brief asks.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
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
        generation: how many failures of the agent this process has recorded or read from
            other writers (the last of ``recent`` is number ``generation``).
        unstored: those this process recorded that the store may not have yet, oldest first.
        recent: the agent's last failures (up to ``RECENT``) recorded by this process, stored
            or not, and read from other writers, in the order seen; expired ones included
            (the reader knows "now").
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
    """This process's failures from spool to store, and every agent's recent failures.

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
        self._recent_ids: dict[str, Counter[str]] = {}  # what each agent's ``recent`` holds
        self._epochs: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, outcome: ToolOutcome) -> None:
        """``outcome`` was just spooled; kept if it is a failure."""
        if outcome.outcome != "failure":
            return
        sequence = self._recorded()
        with self._lock:
            self._entries.append((sequence, outcome))
            self._seen(outcome)

    def add_stored(self, outcomes: Iterable[ToolOutcome]) -> None:
        """Other writers' ``outcomes`` were just read from the store (the learning feed's
        tail): their failures join the recent ones, each id once, so the next recall merges
        them into its reused answer. Not unstored: the store answers for them already."""
        with self._lock:
            for outcome in outcomes:
                if outcome.outcome != "failure":
                    continue
                held = self._recent_ids.get(outcome.agent_id)
                if held is None or outcome.id not in held:  # a tail's overlap reads rows again
                    self._seen(outcome)

    def _seen(self, outcome: ToolOutcome) -> None:
        """Number ``outcome`` and keep it among its agent's recent failures (under the lock)."""
        agent = outcome.agent_id
        self._generations[agent] = self._generations.get(agent, 0) + 1
        recent = self._recent.get(agent)
        if recent is None:
            recent = self._recent[agent] = deque()
            self._recent_ids[agent] = Counter()
        held = self._recent_ids[agent]
        if len(recent) == RECENT:
            oldest = recent.popleft().id
            held[oldest] -= 1
            if not held[oldest]:
                del held[oldest]
        recent.append(outcome)
        held[outcome.id] += 1

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
        self,
        agent_id: str,
        *,
        tool: str | None = None,
        ids: Sequence[str] | None = None,
        elsewhere: bool = False,
    ) -> None:
        """Drop what ``forget`` removed from the store — so recall cannot show it again: the
        unstored failures, the recent ones, and (by a new epoch) every answer reused from
        before. ``elsewhere``: another process's forget, read from its tombstone; this
        process's failures not stored yet were not among what it deleted (they are stored
        after it), so they stay: the next brief still shows a failure just recorded."""
        gone = set(ids) if ids is not None else None
        written = self._written() if elsewhere else None
        with self._lock:
            pending = (
                set()
                if written is None
                else {outcome.id for sequence, outcome in self._entries if sequence > written}
            )

            def forgotten(outcome: ToolOutcome) -> bool:
                return (
                    outcome.agent_id == agent_id
                    and (tool is None or outcome.tool == tool)
                    and (gone is None or outcome.id in gone)
                    and outcome.id not in pending
                )

            kept = [entry for entry in self._entries if not forgotten(entry[1])]
            self._entries = deque(kept, maxlen=_CAPACITY)
            recent = self._recent.get(agent_id)
            if recent:
                # Answers from before the new epoch are never brought up to date, so only
                # ``LocalFailures.since`` of later answers counts from the end: it still does.
                left = [outcome for outcome in recent if not forgotten(outcome)]
                self._recent[agent_id] = deque(left)
                self._recent_ids[agent_id] = Counter(outcome.id for outcome in left)
            self._epochs[agent_id] = self._epochs.get(agent_id, 0) + 1

    def clear(self) -> None:
        """Forget every entry (a forked child: the parent's spool is not this process's)."""
        with self._lock:
            self._entries.clear()
            self._recent.clear()
            self._recent_ids.clear()
            for agent in self._generations:  # answers the parent reused are its own
                self._epochs[agent] = self._epochs.get(agent, 0) + 1
