"""Turn a suite's results into table rows and a JSON-ready payload."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from learning_sim.metrics import Summary
from learning_sim.policies import LABELS
from learning_sim.runner import ScenarioResult
from learning_sim.targets import BASELINE, Target

__all__ = [
    "ADAPT_HEADER",
    "MAIN_HEADER",
    "adapt_rows",
    "main_rows",
    "markdown",
    "payload",
    "target_rows",
]

MAIN_HEADER = (
    "scenario",
    "policy",
    "regret",
    "±95%",
    "×000",
    "success",
    "latency s",
    "cost",
    "acc 51-150",
    "acc final",
)
ADAPT_HEADER = ("scenario", "change", "policy", "adapt", "never", "abandon", "new-tool calls")
CURVE_EVERY = 10


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1%}"


def _med(value: float | None, never: float) -> str:
    if value is None:
        return "never"
    text = f"{value:g}"
    return f"{text} ({never:.0%} never)" if never > 0 else text


def main_rows(suite: Mapping[str, ScenarioResult]) -> list[list[Any]]:
    """One row per scenario × policy: regret, its ratio to the recipe, outcomes, accuracy."""
    rows = []
    for name, result in suite.items():
        base = result.summaries[BASELINE].regret
        for policy, s in result.summaries.items():
            rows.append(
                [
                    name,
                    LABELS[policy],
                    f"{s.regret:.1f}",
                    f"{s.regret_ci:.1f}",
                    f"{s.regret / base:.2f}" if base > 0 else "-",
                    _pct(s.success_rate),
                    f"{s.mean_latency_ms / 1000:.1f}",
                    f"{s.mean_cost:.2f}",
                    _pct(s.accuracy),
                    _pct(s.final_accuracy),
                ]
            )
    return rows


def adapt_rows(suite: Mapping[str, ScenarioResult]) -> list[list[Any]]:
    """One row per change × policy: decisions to adapt and abandon, new-tool calls."""
    rows = []
    for name, result in suite.items():
        for change in result.summaries[BASELINE].adapt:
            for policy, s in result.summaries.items():
                rows.append(
                    [
                        name,
                        change,
                        LABELS[policy],
                        _med(s.adapt[change], 0.0),
                        f"{s.adapt_never[change]:.0%}",
                        _med(s.abandon[change], s.abandon_never[change])
                        if change in s.abandon
                        else "",
                        _med(s.new_tool_calls[change], s.new_tool_never[change])
                        if change in s.new_tool_calls
                        else "",
                    ]
                )
    return rows


def target_rows(targets: list[Target]) -> list[list[Any]]:
    def shown(t: Target) -> str:
        if t.measured is None:
            return "never"
        return f"{t.measured:.1%}" if "accuracy" in t.name else f"{t.measured:.2f}"

    return [[t.name, t.goal, shown(t), "PASS" if t.passed else "FAIL", t.detail] for t in targets]


def markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The same rows as a Markdown table (for ``docs/benchmarks.md``)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _summary(s: Summary) -> dict[str, Any]:
    data = asdict(s)
    for key in ("curve", "curve_low", "curve_high"):
        data.pop(key)
    data["curve_every_10"] = [round(float(v), 2) for v in s.curve[CURVE_EVERY - 1 :: CURVE_EVERY]]
    return data


def payload(suite: Mapping[str, ScenarioResult], targets: list[Target]) -> dict[str, Any]:
    """Everything measured, JSON-ready (curves downsampled to every 10th decision)."""
    return {
        "scenarios": {
            name: {
                "summary": r.scenario.summary,
                "stationary": r.scenario.stationary,
                "objective": asdict(r.scenario.objective),
                "tools": list(r.scenario.tools),
                "favourite": r.scenario.favourite,
                "horizon": r.horizon,
                "step_minutes": r.scenario.step.total_seconds() / 60,
                "contexts": len(r.scenario.contexts),
                "changes": [asdict(c) for c in r.scenario.changes],
                "seeds": r.seeds,
                "policy_seconds": {p: round(v, 2) for p, v in r.seconds.items()},
                "policies": {
                    policy: {"label": LABELS[policy], **_summary(s)}
                    for policy, s in r.summaries.items()
                },
            }
            for name, r in suite.items()
        },
        "targets": [asdict(t) for t in targets],
    }
