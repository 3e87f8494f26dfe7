"""The audit trail: every change self-improvement makes, with before, after, reason and time.

Entries are written before the call that made the change returns, and never edited. Inside
:meth:`AuditLog.batch` they are written together when the batch ends (one store write: on
persistent Chroma each write costs ~50 ms, so a pass writing one per change spent 140 of its
155 s on them). ``format_audit`` renders them for ``toolwise audit``.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from toolwise.errors import InvalidArgumentError
from toolwise.improve.models import AuditEntry, AuditKind
from toolwise.improve.store import Item, KnowledgeStore

__all__ = ["AuditLog", "format_audit"]

_MAX_TEXT = 4_000  # before/after are summaries for humans, not backups of whole stores


class AuditLog:
    """Appends :class:`AuditEntry` records to the knowledge store and reads them back.

    Args:
        store: where entries live (kind ``audit``, one namespace per agent).
        clock: "now" in UTC.
        rng: source of entry ids (seed it for reproducible ids).
    """

    def __init__(
        self, store: KnowledgeStore, *, clock: Callable[[], datetime], rng: random.Random
    ) -> None:
        self._store = store
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()  # random.Random is not safe to share between threads
        self._sequence = itertools.count()
        self._local = threading.local()  # this thread's open batch: a list of entries

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold this thread's entries and write them in one store write when the block ends
        (also when it raises: the changes they describe are made). Nested batches join the
        outermost one."""
        pending: list[AuditEntry] | None = getattr(self._local, "pending", None)
        if pending is not None:
            yield
            return
        self._local.pending = pending = []
        try:
            yield
        finally:
            self._local.pending = None
            self._write(pending)

    def _write(self, entries: Sequence[AuditEntry]) -> None:
        by_agent: dict[str, list[Item]] = {}
        for entry in entries:
            by_agent.setdefault(entry.agent_id, []).append(
                Item(entry.id, entry.model_dump_json(), entry.timestamp.timestamp())
            )
        for agent_id, items in by_agent.items():
            self._store.put("audit", agent_id, items)

    def record(
        self,
        agent_id: str,
        kind: AuditKind,
        *,
        subject: str = "",
        before: str = "",
        after: str = "",
        reason: str,
    ) -> AuditEntry:
        """Write one entry (or add it to this thread's batch) and return it."""
        with self._lock:
            entry_id = f"{self._rng.getrandbits(128):032x}"
            sequence = next(self._sequence)
        entry = AuditEntry(
            id=entry_id,
            agent_id=agent_id,
            kind=kind,
            subject=subject,
            before=before[:_MAX_TEXT],
            after=after[:_MAX_TEXT],
            reason=reason,
            timestamp=self._clock(),
            sequence=sequence,
        )
        pending: list[AuditEntry] | None = getattr(self._local, "pending", None)
        if pending is not None:
            pending.append(entry)
        else:
            self._write([entry])
        return entry

    def entries(
        self,
        agent_id: str | None = None,
        *,
        limit: int = 50,
        since: datetime | None = None,
        kinds: Sequence[AuditKind] | None = None,
    ) -> list[AuditEntry]:
        """Entries newest first: one agent's (or every agent's), optionally since a time.

        Raises:
            InvalidArgumentError: ``limit`` is not between 1 and 10,000.
        """
        if not 1 <= limit <= 10_000:
            raise InvalidArgumentError("limit", limit, "must be between 1 and 10000")
        agents = [agent_id] if agent_id is not None else self._store.agents("audit")
        floor = since.timestamp() if since is not None else None
        found = [
            AuditEntry.model_validate_json(item.payload)
            for agent in agents
            for item in self._store.load("audit", agent, since=floor)
        ]
        if kinds is not None:
            wanted = set(kinds)
            found = [e for e in found if e.kind in wanted]
        found.sort(key=lambda e: (e.timestamp, e.sequence, e.id), reverse=True)
        return found[:limit]


def format_audit(entries: Sequence[AuditEntry]) -> str:
    """A table for humans: time, agent, change, subject and reason, then before → after.

    Used by ``toolwise audit``; ``(no changes)`` when there is nothing to show.
    """
    if not entries:
        return "(no changes)"
    lines = []
    for entry in entries:
        lines.append(
            f"{entry.timestamp:%Y-%m-%d %H:%M:%S}  {entry.agent_id}  {entry.kind}  "
            f"{entry.subject}  — {entry.reason}".rstrip()
        )
        if entry.before:
            lines.append(f"    before: {_one_line(entry.before)}")
        if entry.after:
            lines.append(f"    after:  {_one_line(entry.after)}")
    return "\n".join(lines)


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ⏎ ".join(part.strip() for part in text.strip().splitlines() if part.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
