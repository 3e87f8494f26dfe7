"""Finding tool sequences worth packaging: contiguous runs of tools that recur across runs.

Only successful runs count, and only occurrences in which every call succeeded (a composite
of a failing pattern would package the failure). Consecutive calls of one tool (retries)
collapse into the last one. A sequence counts once per run. A sequence whose every occurrence
sits inside a longer recurring sequence is left out in favour of the longer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from toolwise.improve.models import Run, RunStep

__all__ = ["Occurrence", "Pattern", "find_patterns"]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Where a pattern happened: the run and the record id of each of its calls."""

    run_key: str
    task: str
    record_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pattern:
    """A tool sequence and the runs it recurred in (one occurrence per run)."""

    tools: tuple[str, ...]
    occurrences: tuple[Occurrence, ...]

    @property
    def count(self) -> int:
        return len(self.occurrences)


def _collapsed(run: Run) -> list[RunStep]:
    steps: list[RunStep] = []
    for step in run.steps:
        if steps and steps[-1].tool == step.tool:
            steps[-1] = step  # a retry: the later attempt is the one that counts
        else:
            steps.append(step)
    return steps


def find_patterns(
    runs: Sequence[Run],
    *,
    min_occurrences: int,
    min_length: int,
    max_length: int,
    limit: int,
) -> list[Pattern]:
    """Recurring sequences, most frequent (then longest) first, at most ``limit``."""
    found: dict[tuple[str, ...], dict[str, Occurrence]] = {}
    for run in runs:
        if not run.succeeded:
            continue
        steps = _collapsed(run)
        for length in range(min_length, max_length + 1):
            for start in range(len(steps) - length + 1):
                window = steps[start : start + length]
                if any(s.outcome != "success" for s in window):
                    continue
                tools = tuple(s.tool for s in window)
                seen = found.setdefault(tools, {})
                if run.key not in seen:  # once per run
                    seen[run.key] = Occurrence(
                        run.key, run.task, tuple(s.record_id for s in window)
                    )
    frequent = {t: occ for t, occ in found.items() if len(occ) >= min_occurrences}
    kept = [
        Pattern(tools, tuple(occ.values()))
        for tools, occ in frequent.items()
        if not any(
            len(longer) > len(tools) and _contains(longer, tools) and len(longer_occ) >= len(occ)
            for longer, longer_occ in frequent.items()
        )
    ]
    kept.sort(key=lambda p: (-p.count, -len(p.tools), p.tools))
    return kept[:limit]


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))
