"""How far an agent's passes have read: the watermark that makes a pass incremental.

A pass reads only records newer than the last pass's newest (the *watermark*), plus:

* a margin of ``arrival_margin`` before it, minus the ids already read: a record reaching the
  store a little after its timestamp (another process's writer, a spool replay after a short
  outage) is still read once. A record stored later than that is not learnt from;
* the records of runs still *open* at the last pass (their session's last call within
  ``run_gap`` of the watermark), read back by id, so a run that continues across two passes
  is judged whole.

The watermark, the ids in the margin, the open runs and the :class:`PatternTally` are kept in
the knowledge store (kind ``state``, one namespace per agent), so a restart does not read or
count anything twice. They are written after the pass's changes: a crash in between makes the
next pass read those records again (a lesson's support may then count a failure twice; nothing
is lost).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from toolwise.improve.patterns import PatternTally
from toolwise.improve.protocols import OutcomeReader
from toolwise.improve.runs import RunRecords
from toolwise.improve.store import Item, KnowledgeStore
from toolwise.models import ToolOutcome
from toolwise.storage.protocol import CallFilter

__all__ = ["NewRecords", "Progress", "ProgressBook", "advance", "read_new"]

log = logging.getLogger("toolwise.improve")

_PROGRESS_ID = "progress"
_PATTERNS_ID = "patterns"
_LEGACY_ID = "lessons-watermark"  # before passes were incremental: failures only
_MAX_OPEN_RUNS = 1_000
_MAX_OPEN_STEPS = 50


@dataclass(frozen=True, slots=True)
class Progress:
    """An agent's watermark.

    Attributes:
        until: epoch seconds of the newest record read (``None``: nothing read yet).
        seen: id → epoch of the records read with a timestamp within the margin of ``until``.
        open_ids: the records of runs that may still continue, oldest first.
    """

    until: float | None = None
    seen: Mapping[str, float] = field(default_factory=dict)
    open_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewRecords:
    """What a pass reads: records no pass read before, and those of still-open runs.

    Attributes:
        fresh: unread records, oldest first (at most ``limit``: the newest).
        carried: records of runs open at the last pass, read again to judge them whole.
        full: the read hit ``limit``; older unread records were passed over.
    """

    fresh: list[ToolOutcome]
    carried: list[ToolOutcome]
    full: bool


def read_new(
    outcomes: OutcomeReader,
    agent_id: str,
    progress: Progress,
    *,
    now: datetime,
    limit: int,
    margin: timedelta,
) -> NewRecords:
    """The records after ``progress`` (newest ``limit``), and the open runs' records."""
    since = None
    if progress.until is not None:
        since = datetime.fromtimestamp(progress.until, UTC) - margin
    page = outcomes.find(
        agent_id,
        CallFilter(since=since),
        limit=limit + len(progress.seen),
        offset=0,
        now=now,
    )
    fresh = [r for r in page if r.id not in progress.seen][:limit]
    fresh.reverse()
    full = len(fresh) >= limit
    if full and progress.until is not None:
        log.warning(
            "toolwise.improve: more than %d new records for %r; this pass learns from the "
            "newest %d and passes over the older ones",
            limit,
            agent_id,
            limit,
        )
    fresh_ids = {r.id for r in fresh}
    wanted = [i for i in progress.open_ids if i not in fresh_ids]
    carried = outcomes.get(wanted, agent_id=agent_id) if wanted else []
    carried.sort(key=lambda r: (r.timestamp, r.id))
    return NewRecords(fresh, carried, full)


def advance(
    progress: Progress,
    fresh: list[ToolOutcome],
    runs: list[RunRecords],
    *,
    margin: timedelta,
    run_gap: timedelta,
) -> Progress:
    """The watermark after a pass that read ``fresh`` and grouped ``runs`` (carried too)."""
    if not fresh:
        return progress
    until = max(r.timestamp.timestamp() for r in fresh)
    if progress.until is not None:
        until = max(until, progress.until)
    floor = until - margin.total_seconds()
    seen = {i: t for i, t in progress.seen.items() if t >= floor}
    seen.update((r.id, r.timestamp.timestamp()) for r in fresh if r.timestamp.timestamp() >= floor)
    last: dict[str, RunRecords] = {}
    for run in runs:  # oldest first: the last one per session wins
        if not run.own:  # a record with no session or run id is a run of its own
            last[run.key.removesuffix(f"/{run.records[0].id}")] = run
    open_from = until - run_gap.total_seconds()
    still_open = sorted(
        (r for r in last.values() if r.ended_at.timestamp() >= open_from),
        key=lambda r: r.ended_at,
    )[-_MAX_OPEN_RUNS:]
    open_ids = tuple(record.id for r in still_open for record in r.records[-_MAX_OPEN_STEPS:])
    return Progress(until, seen, open_ids)


class ProgressBook:
    """Each agent's :class:`Progress` and :class:`PatternTally` in the knowledge store.

    Args:
        keep / max_sequences: passed to every :class:`PatternTally` it loads.
    """

    def __init__(self, store: KnowledgeStore, *, keep: int, max_sequences: int = 2_000) -> None:
        self._store = store
        self._keep = keep
        self._max_sequences = max_sequences

    def load(self, agent_id: str) -> tuple[Progress, PatternTally]:
        items = {item.id: item for item in self._store.load("state", agent_id)}
        tally = PatternTally(keep=self._keep, max_sequences=self._max_sequences)
        if _PATTERNS_ID in items:
            tally = PatternTally.from_json(
                items[_PATTERNS_ID].payload, keep=self._keep, max_sequences=self._max_sequences
            )
        if _PROGRESS_ID in items:
            mark = json.loads(items[_PROGRESS_ID].payload)
            progress = Progress(
                until=mark["until"],
                seen={str(i): float(t) for i, t in mark["seen"].items()},
                open_ids=tuple(str(i) for i in mark["open"]),
            )
        elif _LEGACY_ID in items:
            mark = json.loads(items[_LEGACY_ID].payload)
            until = float(mark["until"])
            progress = Progress(until=until, seen=dict.fromkeys(map(str, mark["ids"]), until))
        else:
            progress = Progress()
        return progress, tally

    def save(self, agent_id: str, progress: Progress, tally: PatternTally) -> None:
        moment = progress.until or 0.0
        payload = json.dumps(
            {"until": progress.until, "seen": dict(progress.seen), "open": list(progress.open_ids)}
        )
        self._store.put(
            "state",
            agent_id,
            [
                Item(_PROGRESS_ID, payload, moment),
                Item(_PATTERNS_ID, tally.to_json(), moment),
            ],
        )

    def reset(self, agent_id: str) -> None:
        """Forget how far passes read: the next pass starts from the newest records."""
        self._store.remove("state", agent_id, [_PROGRESS_ID, _PATTERNS_ID, _LEGACY_ID])
