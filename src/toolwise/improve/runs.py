"""Turning recorded calls into runs: one task's calls in one session, in order, with a score.

A run is keyed by the records' ``session_id`` (LangGraph's ``thread_id``), falling back to
``run_id`` and then to the record itself; a session is split into several runs where the
task text changes or the calls are more than ``gap`` apart. Arguments are kept only as their
*shape* — key names and JSON types — so no value (redacted or not) leaves the outcome store.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from toolwise.improve.models import Run, RunStep
from toolwise.models import ToolOutcome

__all__ = ["RunRecords", "args_shape", "group_records", "group_runs", "run_score"]

_JSON_TYPES: dict[type, str] = {
    str: "str",
    bool: "bool",
    int: "int",
    float: "float",
    list: "list",
    dict: "object",
    type(None): "null",
}


def args_shape(tool_input: str) -> dict[str, str]:
    """``{"service": "str", "replicas": "int"}`` for a recorded JSON object; never values.

    A non-object input (plain text, truncated JSON) has the shape ``{"input": "str"}``.
    """
    if not tool_input:
        return {}
    try:
        parsed: Any = json.loads(tool_input)
    except ValueError:
        return {"input": "str"}
    if not isinstance(parsed, dict):
        return {"input": _JSON_TYPES.get(type(parsed), "str")}
    return {str(key): _JSON_TYPES.get(type(value), "str") for key, value in parsed.items()}


def run_score(records: Iterable[ToolOutcome]) -> float:
    """The caller's ``metadata["run_score"]`` (the latest valid one), else mean call quality."""
    qualities: list[float] = []
    judged: float | None = None
    for record in records:
        qualities.append(record.effective_quality)
        value = record.metadata.get("run_score")
        if isinstance(value, int | float) and not isinstance(value, bool):
            score = float(value)
            if math.isfinite(score) and 0.0 <= score <= 1.0:
                judged = score
    if judged is not None:
        return judged
    return sum(qualities) / len(qualities) if qualities else 0.0


@dataclass(frozen=True, slots=True)
class RunRecords:
    """One run's records as grouped, before they are built into a :class:`Run`.

    What a pass works with: grouping 100,000 records into :class:`Run` models (a validated
    step per call, argument shapes parsed from JSON) cost more than reading them, and a pass
    builds only the few runs that become demonstrations.

    Attributes:
        key: ``{session key}/{first record id}`` (the :class:`Run`'s key).
        records: the calls, oldest first (``refused`` ones left out).
        own: the run's session key is the record's own id (no session or run id): no later
            record can continue it.
    """

    key: str
    records: tuple[ToolOutcome, ...]
    own: bool

    @property
    def agent_id(self) -> str:
        return self.records[0].agent_id

    @property
    def task(self) -> str:
        return next((r.task for r in self.records if r.task), "")

    @property
    def task_type(self) -> str:
        return next((r.task_type for r in self.records if r.task_type), "")

    @property
    def ended_at(self) -> datetime:
        return self.records[-1].timestamp

    @property
    def succeeded(self) -> bool:
        """Ended well: its last call succeeded."""
        return self.records[-1].outcome == "success"

    @property
    def score(self) -> float:
        return run_score(self.records)

    def run(self) -> Run:
        """The :class:`Run` (argument shapes parsed)."""
        return _run(self.key, self.records)


def group_records(records: Iterable[ToolOutcome], *, gap: timedelta) -> list[RunRecords]:
    """Records of any order grouped into runs, oldest run first. ``refused`` calls are left
    out (a human said no: not evidence about the run's tools)."""
    groups: dict[str, list[ToolOutcome]] = {}
    for record in sorted(records, key=lambda r: (r.timestamp, r.id)):
        if record.outcome == "refused":
            continue
        key = record.session_id or record.run_id or record.id
        groups.setdefault(key, []).append(record)
    runs: list[RunRecords] = []
    for key, group in groups.items():
        current: list[ToolOutcome] = []
        for record in group:
            if current and _starts_new_run(current, record, gap):
                runs.append(_records(key, current))
                current = []
            current.append(record)
        if current:
            runs.append(_records(key, current))
    runs.sort(key=lambda r: (r.records[0].timestamp, r.key))
    return runs


def _records(group_key: str, records: list[ToolOutcome]) -> RunRecords:
    first = records[0]
    return RunRecords(f"{group_key}/{first.id}", tuple(records), own=group_key == first.id)


def group_runs(records: Iterable[ToolOutcome], *, gap: timedelta) -> list[Run]:
    """Runs from records of any order, oldest run first. ``refused`` calls are left out."""
    return [group.run() for group in group_records(records, gap=gap)]


def _starts_new_run(current: list[ToolOutcome], record: ToolOutcome, gap: timedelta) -> bool:
    task = next((r.task for r in reversed(current) if r.task), "")
    if record.task and task and record.task != task:
        return True
    return record.timestamp - current[-1].timestamp > gap


def _run(key: str, records: Sequence[ToolOutcome]) -> Run:
    first = records[0]
    return Run(
        key=key,
        agent_id=first.agent_id,
        task=next((r.task for r in records if r.task), ""),
        task_type=next((r.task_type for r in records if r.task_type), ""),
        environment=next((r.environment for r in records if r.environment), ""),
        steps=tuple(
            RunStep(
                tool=r.tool,
                outcome=r.outcome,
                args_shape=args_shape(r.tool_input),
                record_id=r.id,
                error_type=r.error_type,
                attempt=r.attempt,
                timestamp=r.timestamp,
            )
            for r in records
        ),
        score=run_score(records),
    )
