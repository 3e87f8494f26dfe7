"""Plain-text tables for the ``toolwise`` command line: usage summaries and call lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from toolwise._summary import error_line
from toolwise.learning.models import ToolPrior
from toolwise.models import ToolOutcome, ToolStats, UsageSummary

__all__ = [
    "PRIOR_HEADER",
    "call_row",
    "format_summary",
    "ms",
    "percent",
    "prior_rows",
    "summary_rows",
    "table",
]


def call_row(record: ToolOutcome) -> list[str]:
    error = error_line(record)
    return [
        record.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
        record.tool,
        record.outcome if record.attempt == 1 else f"{record.outcome} (try {record.attempt})",
        ms(record.latency_ms),
        record.task_type,
        error[:60],
    ]


def format_summary(summary: UsageSummary) -> str:
    who = summary.agent_id or "all agents"
    lines = [
        f"{who}: {summary.total_calls} calls, {summary.success_rate:.0%} success, "
        f"cost {summary.total_cost:g}",
        "",
        table(
            ["tool", "calls", "success", "p50", "p95", "mean", "cost", "last error"],
            summary_rows(summary),
        ),
    ]
    mistakes = [
        f"{t.name} {t.invalid_arguments_count}" for t in summary.tools if t.invalid_arguments_count
    ]
    if mistakes:
        lines.append(
            "the model's invalid arguments (its mistakes, not charged to the tools): "
            + ", ".join(mistakes)
        )
    for event in summary.infra_events:
        lines.append(
            f"infrastructure event {event.started_at:%Y-%m-%d %H:%M}–{event.ended_at:%H:%M} "
            f"({event.environment or 'any env'}): {', '.join(event.tools)} failed together; "
            "not charged to the tools"
        )
    if summary.advice:
        a = summary.advice
        lines.append(
            f"advice followed {percent(a['adherence'])} of {a['advised_calls']:.0f} advised "
            f"calls; success {percent(a['success_when_followed'])} when followed, "
            f"{percent(a['success_when_ignored'])} when not"
        )
    return "\n".join(lines)


def summary_rows(summary: UsageSummary) -> list[list[str]]:
    """One row per tool; a pool is one row with its members' rows under it."""

    def row(t: ToolStats, name: str) -> list[str]:
        return [
            name,
            str(t.call_count),
            f"{t.success_rate:.0%}",
            ms(t.p50_latency_ms),
            ms(t.p95_latency_ms),
            ms(t.mean_latency_ms),
            f"{t.total_cost:g}",
            t.last_error[:50],
        ]

    by_name = {t.name: t for t in summary.tools}
    in_pools = {m for p in summary.pools for m in p.members}
    rows = []
    for pool in summary.pools:
        rows.append(
            [
                f"{pool.name} (pool)",
                str(pool.call_count),
                f"{pool.success_rate:.0%}",
                "",
                "",
                "",
                f"{pool.total_cost:g}",
                f"{pool.fallbacks} answered by a fallback",
            ]
        )
        rows += [row(by_name[m], f"  └ {m}") for m in pool.members if m in by_name]
    rows += [row(t, t.name) for t in summary.tools if t.name not in in_pools]
    return rows


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.0%}"


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f}s" if value >= 1000 else f"{value:.0f}ms"


def table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "(no records)"
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


PRIOR_HEADER = [
    "tool", "context", "env", "rate", "90% CI", "confidence", "n", "effective n", "p50",
    "suggestion",
]  # fmt: skip


def prior_rows(priors: Sequence[ToolPrior], pools: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One row per prior; a pool's members are listed under one pool line, as in the summary."""

    def row(p: ToolPrior, name: str) -> list[str]:
        low, high = p.credible_interval
        return [
            name,
            p.context_class or "(any)",
            p.environment or "(any)",
            f"{p.rate:.0%}",
            f"{low:.0%}–{high:.0%}",
            p.confidence,
            str(p.observations),
            f"{p.effective_observations:.1f}",
            ms(p.p50_latency_ms),
            p.suggestion,
        ]

    rows: list[list[str]] = []
    pooled: set[str] = set()
    for pool, members in pools.items():
        mine = [p for p in priors if p.tool in members]
        if not mine:
            continue
        rows.append([f"{pool} (pool)", "", "", "", "", "", "", "", "", "ranked per call"])
        rows += [row(p, f"  └ {p.tool}") for p in mine]
        pooled.update(members)
    rows += [row(p, p.tool) for p in priors if p.tool not in pooled]
    return rows
