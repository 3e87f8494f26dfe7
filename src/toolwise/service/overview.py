"""One agent at a glance, for the dashboard: computed from its records in one pass.

Per tool: success rate with a 90 % interval (equal-tailed, Beta(1 + successes, 1 + other
outcomes) — the uniform prior the learner starts from, without its decay, so it says what the
records say), p50/p95 latency and cost. Recent failures, newest first. The learning curve: the
success rate per time bucket, the bucket chosen so the records' span makes at most 40 points.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel

from toolwise.learning.quantile import betaincinv
from toolwise.models import NOT_CHARGED, ToolOutcome, utcnow

__all__ = ["CurvePoint", "FailureItem", "Overview", "ToolOverview", "build_overview"]

_BUCKETS = (60, 300, 900, 3_600, 6 * 3_600, 86_400, 7 * 86_400, 28 * 86_400)
_MAX_POINTS = 40
_RECENT_FAILURES = 10


class ToolOverview(BaseModel):
    """One tool's record; rates over calls that ran (refusals and the model's invalid
    arguments excluded: neither says anything about the tool)."""

    name: str
    calls: int
    successes: int
    failures: int
    invalid_arguments: int = 0
    """Calls the model made with arguments the tool's schema rejected: its mistakes."""
    success_rate: float
    interval: tuple[float, float]
    p50_latency_ms: float
    p95_latency_ms: float
    total_cost: float
    mean_cost: float
    last_call_at: datetime


class FailureItem(BaseModel):
    """A failed call as the dashboard lists it."""

    id: str
    at: datetime
    tool: str
    task_type: str
    error: str


class CurvePoint(BaseModel):
    """One bucket of the learning curve: calls that started in ``[start, start + bucket)``."""

    start: datetime
    calls: int
    success_rate: float
    tools: dict[str, int]


class Overview(BaseModel):
    """What ``GET /v1/agents/{agent}/overview`` returns."""

    agent_id: str
    generated_at: datetime
    total_calls: int
    success_rate: float
    total_cost: float
    tools: list[ToolOverview]
    recent_failures: list[FailureItem]
    bucket_seconds: int
    curve: list[CurvePoint]


def _interval(successes: int, others: int) -> tuple[float, float]:
    low, high = betaincinv(1.0 + successes, 1.0 + others, [0.05, 0.95])
    return (round(float(low), 4), round(float(high), 4))


def _tool(name: str, records: list[ToolOutcome]) -> ToolOverview:
    ran = [r for r in records if r.outcome not in NOT_CHARGED]
    successes = sum(r.outcome == "success" for r in ran)
    latencies = np.array([r.latency_ms for r in ran], dtype=float)
    cost = round(sum(r.cost for r in records), 6)
    return ToolOverview(
        name=name,
        calls=len(records),
        successes=successes,
        failures=sum(r.outcome == "failure" for r in ran),
        invalid_arguments=sum(r.outcome == "invalid_arguments" for r in records),
        success_rate=successes / len(ran) if ran else 0.0,
        interval=_interval(successes, len(ran) - successes),
        p50_latency_ms=float(np.percentile(latencies, 50)) if latencies.size else 0.0,
        p95_latency_ms=float(np.percentile(latencies, 95)) if latencies.size else 0.0,
        total_cost=cost,
        mean_cost=cost / len(records),
        last_call_at=max(r.timestamp for r in records),
    )


def _bucket_seconds(first: datetime, last: datetime) -> int:
    span = (last - first).total_seconds()
    return next((b for b in _BUCKETS if span / b < _MAX_POINTS), _BUCKETS[-1])


def _curve(records: list[ToolOutcome], bucket: int) -> list[CurvePoint]:
    buckets: dict[int, list[ToolOutcome]] = {}
    for record in records:
        if record.outcome not in NOT_CHARGED:
            buckets.setdefault(int(record.timestamp.timestamp()) // bucket, []).append(record)
    points = []
    for index in sorted(buckets):
        group = buckets[index]
        tools: dict[str, int] = {}
        for record in group:
            tools[record.tool] = tools.get(record.tool, 0) + 1
        points.append(
            CurvePoint(
                start=datetime.fromtimestamp(index * bucket, UTC),
                calls=len(group),
                success_rate=sum(r.outcome == "success" for r in group) / len(group),
                tools=tools,
            )
        )
    return points


def build_overview(
    agent_id: str, calls: Iterable[ToolOutcome], *, now: datetime | None = None
) -> Overview:
    """The overview of ``calls`` (one agent's, any order)."""
    records = sorted(calls, key=lambda r: r.timestamp)
    by_tool: dict[str, list[ToolOutcome]] = {}
    for record in records:
        by_tool.setdefault(record.tool, []).append(record)
    tools = sorted(
        (_tool(name, group) for name, group in by_tool.items()),
        key=lambda t: (-t.calls, t.name),
    )
    ran = [r for r in records if r.outcome not in NOT_CHARGED]
    failures = [r for r in reversed(records) if r.outcome == "failure"][:_RECENT_FAILURES]
    bucket = _bucket_seconds(records[0].timestamp, records[-1].timestamp) if records else 3_600
    return Overview(
        agent_id=agent_id,
        generated_at=now or utcnow(),
        total_calls=len(records),
        success_rate=sum(r.outcome == "success" for r in ran) / len(ran) if ran else 0.0,
        total_cost=round(sum(t.total_cost for t in tools), 6),
        tools=tools,
        recent_failures=[
            FailureItem(
                id=r.id,
                at=r.timestamp,
                tool=r.tool,
                task_type=r.task_type,
                error=(f"{r.error_type}: {r.error_message}" if r.error_type else r.error_message)[
                    :300
                ],
            )
            for r in failures
        ],
        bucket_seconds=bucket,
        curve=_curve(records, bucket),
    )
