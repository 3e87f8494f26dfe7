"""Usage arithmetic over records: counts, success rates, latency percentiles, cost."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np

from toolwise.models import (
    NOT_CHARGED,
    InfraEventSummary,
    PoolUsage,
    ToolOutcome,
    ToolStats,
    UsageSummary,
)

__all__ = ["POOL_TAG", "error_line", "summarize"]

POOL_TAG = "pool:"
"""A fallback pool's attempts carry ``pool:<name>`` (``toolwise.pools``)."""


def summarize(
    outcomes: Iterable[ToolOutcome],
    *,
    agent_id: str | None,
    since: datetime | None = None,
    infra_events: list[InfraEventSummary] | None = None,
) -> UsageSummary:
    """Aggregate records into a :class:`UsageSummary`.

    Success rate counts full successes over calls that ran (refusals did not run and calls
    with invalid arguments failed the tool's schema — the model's mistakes — so both are
    excluded from rates but reported per tool). Percentiles use linear interpolation.
    """
    by_tool: dict[str, list[ToolOutcome]] = {}
    by_pool: dict[str, list[ToolOutcome]] = {}
    for outcome in outcomes:
        by_tool.setdefault(outcome.tool, []).append(outcome)
        for tag in outcome.tags:
            if tag.startswith(POOL_TAG):
                by_pool.setdefault(tag[len(POOL_TAG) :], []).append(outcome)
    tools = [_tool_stats(name, records) for name, records in sorted(by_tool.items())]
    ran = sum(t.call_count - t.refused_count - t.invalid_arguments_count for t in tools)
    successes = sum(t.success_count for t in tools)
    followed = [o for records in by_tool.values() for o in records if o.recommended_tool]
    return UsageSummary(
        agent_id=agent_id,
        total_calls=sum(t.call_count for t in tools),
        success_rate=successes / ran if ran else 0.0,
        total_cost=round(sum(t.total_cost for t in tools), 6),
        tools=sorted(tools, key=lambda t: t.call_count, reverse=True),
        pools=[_pool_usage(name, records) for name, records in sorted(by_pool.items())],
        since=since,
        infra_events=infra_events or [],
        advice=_adherence(followed),
    )


def _tool_stats(name: str, records: list[ToolOutcome]) -> ToolStats:
    counts = dict.fromkeys(("success", "partial", "failure", "refused", "invalid_arguments"), 0)
    for record in records:
        counts[record.outcome] += 1
    ran = [r for r in records if r.outcome not in NOT_CHARGED]
    latencies = np.array([r.latency_ms for r in ran], dtype=float)
    errors = [r for r in records if r.outcome == "failure" and (r.error_message or r.error_type)]
    last = max(errors, key=lambda r: r.timestamp) if errors else None
    return ToolStats(
        name=name,
        call_count=len(records),
        success_count=counts["success"],
        partial_count=counts["partial"],
        failure_count=counts["failure"],
        refused_count=counts["refused"],
        invalid_arguments_count=counts["invalid_arguments"],
        success_rate=counts["success"] / len(ran) if ran else 0.0,
        mean_latency_ms=float(latencies.mean()) if latencies.size else 0.0,
        p50_latency_ms=float(np.percentile(latencies, 50)) if latencies.size else 0.0,
        p95_latency_ms=float(np.percentile(latencies, 95)) if latencies.size else 0.0,
        total_cost=round(sum(r.cost for r in records), 6),
        last_error=error_line(last),
    )


def error_line(record: ToolOutcome | None) -> str:
    """``"Type: message"``, or whichever of the two a record has (no dangling ``": "``)."""
    if record is None:
        return ""
    return ": ".join(part for part in (record.error_type, record.error_message) if part)[:200]


def _pool_usage(name: str, records: list[ToolOutcome]) -> PoolUsage:
    calls = sum(r.attempt == 1 for r in records)
    successes = [r for r in records if r.outcome in ("success", "partial")]
    return PoolUsage(
        name=name,
        members=sorted({r.tool for r in records}),
        call_count=calls,
        success_count=len(successes),
        success_rate=min(1.0, len(successes) / calls) if calls else 0.0,
        attempt_count=len(records),
        fallbacks=sum(r.attempt > 1 for r in successes),
        total_cost=round(sum(r.cost for r in records), 6),
    )


def _adherence(advised: list[ToolOutcome]) -> dict[str, float | None]:
    """How often the recommended tool was used, and how each choice fared.

    A rate over no calls is ``None`` ("n/a"), not 0 %: with every advised call followed there
    is nothing to say about ignoring the advice.
    """
    if not advised:
        return {}
    followed = [o for o in advised if o.tool == o.recommended_tool and o.outcome not in NOT_CHARGED]
    ignored = [o for o in advised if o.tool != o.recommended_tool and o.outcome not in NOT_CHARGED]

    def rate(group: list[ToolOutcome]) -> float | None:
        return sum(o.outcome == "success" for o in group) / len(group) if group else None

    return {
        "advised_calls": float(len(advised)),
        "adherence": len(followed) / max(1, len(followed) + len(ignored)),
        "success_when_followed": rate(followed),
        "success_when_ignored": rate(ignored),
        "followed_calls": float(len(followed)),
        "ignored_calls": float(len(ignored)),
    }
