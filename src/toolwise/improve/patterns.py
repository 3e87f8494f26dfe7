"""Finding tool sequences worth packaging: contiguous runs of tools that recur across runs.

Only successful runs count, and only occurrences in which every call succeeded (a composite
of a failing pattern would package the failure). Consecutive calls of one tool (retries)
collapse into the last one. A sequence counts once per run. A sequence whose every occurrence
sits inside a longer recurring sequence is left out in favour of the longer one.

Passes read only new records, so the counts live in a :class:`PatternTally` kept between
passes (as JSON in the knowledge store): each pass adds its runs, counting only windows with a
call not counted before. Each sequence keeps its few latest occurrences (the evidence that is
replayed to validate a composite); beyond ``max_sequences`` distinct sequences the rarest are
forgotten (their count starts again if they recur).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from toolwise.improve.runs import RunRecords
from toolwise.models import ToolOutcome

__all__ = ["Occurrence", "Pattern", "PatternTally"]

_MAX_TASK = 200


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Where a pattern happened: the run and the record id of each of its calls."""

    run_key: str
    task: str
    record_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pattern:
    """A tool sequence, how many runs it recurred in, and its latest occurrences."""

    tools: tuple[str, ...]
    occurrences: tuple[Occurrence, ...]
    count: int


def _collapsed(records: Sequence[ToolOutcome]) -> list[ToolOutcome]:
    calls: list[ToolOutcome] = []
    for record in records:
        if calls and calls[-1].tool == record.tool:
            calls[-1] = record  # a retry: the later attempt is the one that counts
        else:
            calls.append(record)
    return calls


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


class PatternTally:
    """Counts of tool sequences in successful runs, accumulated pass after pass.

    Args:
        keep: latest occurrences kept per sequence (replay evidence).
        max_sequences: distinct sequences tracked; the rarest go first beyond it.

    Not thread-safe: one pass at a time owns it.
    """

    def __init__(self, *, keep: int = 6, max_sequences: int = 2_000) -> None:
        self._keep = keep
        self._max_sequences = max_sequences
        self._counts: dict[tuple[str, ...], int] = {}
        self._latest: dict[tuple[str, ...], list[Occurrence]] = {}

    def __len__(self) -> int:
        return len(self._counts)

    def add(
        self,
        runs: Iterable[RunRecords],
        *,
        min_length: int,
        max_length: int,
        counted: Callable[[str], bool] = lambda record_id: False,
    ) -> None:
        """Count each sequence once per successful run; skip windows whose every call was
        ``counted`` already (a run that continued since the last pass)."""
        for run in runs:
            if not run.succeeded:
                continue
            steps = _collapsed(run.records)
            tools = [s.tool for s in steps]
            ok = [s.outcome == "success" for s in steps]
            old = [counted(s.id) for s in steps]
            seen: set[tuple[str, ...]] = set()
            for length in range(min_length, max_length + 1):
                for start in range(len(steps) - length + 1):
                    end = start + length
                    if not all(ok[start:end]) or all(old[start:end]):
                        continue
                    sequence = tuple(tools[start:end])
                    if sequence in seen:  # once per run
                        continue
                    seen.add(sequence)
                    self._count(sequence, run, steps[start:end])
        self._bound()

    def _count(self, sequence: tuple[str, ...], run: RunRecords, window: list[ToolOutcome]) -> None:
        self._counts[sequence] = self._counts.get(sequence, 0) + 1
        latest = self._latest.setdefault(sequence, [])
        latest.append(Occurrence(run.key, run.task[:_MAX_TASK], tuple(s.id for s in window)))
        del latest[: -self._keep]

    def _bound(self) -> None:
        if len(self._counts) <= self._max_sequences:
            return
        ranked = sorted(self._counts, key=lambda tools: self._counts[tools], reverse=True)
        for tools in ranked[self._max_sequences :]:
            del self._counts[tools]
            self._latest.pop(tools, None)

    def frequent(self, *, min_occurrences: int, limit: int) -> list[Pattern]:
        """Sequences seen in ≥ ``min_occurrences`` runs, most frequent (then longest) first,
        leaving out those only ever seen inside a longer frequent one; at most ``limit``."""
        frequent = {t: n for t, n in self._counts.items() if n >= min_occurrences}
        kept = [
            Pattern(tools, tuple(self._latest.get(tools, ())), count)
            for tools, count in frequent.items()
            if not any(
                len(longer) > len(tools) and _contains(longer, tools) and longer_count >= count
                for longer, longer_count in frequent.items()
            )
        ]
        kept.sort(key=lambda p: (-p.count, -len(p.tools), p.tools))
        return kept[:limit]

    def forget(self, *, tool: str | None = None, ids: Collection[str] = ()) -> None:
        """Drop the sequences using ``tool``, and the occurrences built on records ``ids``
        (each one taken off its sequence's count)."""
        for tools in list(self._counts):
            if tool is not None and tool in tools:
                del self._counts[tools]
                self._latest.pop(tools, None)
                continue
            latest = self._latest.get(tools, [])
            kept = [o for o in latest if not any(i in ids for i in o.record_ids)]
            if len(kept) != len(latest):
                self._latest[tools] = kept
                self._counts[tools] -= len(latest) - len(kept)
                if self._counts[tools] <= 0:
                    del self._counts[tools]
                    self._latest.pop(tools, None)

    def to_json(self) -> str:
        return json.dumps(
            [
                {
                    "tools": list(tools),
                    "count": count,
                    "latest": [
                        [o.run_key, o.task, list(o.record_ids)] for o in self._latest.get(tools, [])
                    ],
                }
                for tools, count in self._counts.items()
            ]
        )

    @classmethod
    def from_json(cls, text: str, *, keep: int = 6, max_sequences: int = 2_000) -> PatternTally:
        tally = cls(keep=keep, max_sequences=max_sequences)
        for entry in json.loads(text):
            tools = tuple(str(t) for t in entry["tools"])
            tally._counts[tools] = int(entry["count"])
            tally._latest[tools] = [
                Occurrence(str(key), str(task), tuple(str(i) for i in ids))
                for key, task, ids in entry["latest"]
            ][-keep:]
        return tally
