"""What a run is worth: regret, success, latency, cost, accuracy, and how fast it adapts.

Definitions (the docs quote them):

* **regret** of a decision: the oracle's expected reward minus the chosen tool's expected
  reward (both exact, under the scenario's objective); cumulative over the run.
* **accuracy after 50 outcomes**: share of decisions 51–150 that pick a truly best tool.
* **final accuracy**: the same over the last 20 % of the run.
* **adapt** after a change: decisions from the change until the first decision that picks the
  tool best right after it *and* opens a window of 10 decisions in which that tool holds
  ≥ 80 % (0 = switched at once).
* **abandon** after a break: decisions from the break until the first decision that does not
  pick the broken tool *and* opens a window of 10 in which it holds ≤ 20 % (later
  exploratory re-tries do not undo it; 3 = three more calls by habit, then gone).
* **new-tool calls**: calls of an arriving tool from its arrival up to and including the
  call that starts the adoption window (1 = adopted on its first call).

A window search stops at the next change (or the end): not reached is ``None``, "never".
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from learning_sim.scenarios import Change
from learning_sim.streams import Stream

__all__ = ["RunMetrics", "Summary", "measure", "summarise"]

WINDOW = 10
ADOPTED = 0.8
ABANDONED = 0.2
EARLY = slice(50, 150)
LATE_SHARE = 0.2


@dataclass(frozen=True)
class RunMetrics:
    """One policy on one stream."""

    regret: np.ndarray  # per decision
    success_rate: float
    mean_latency_ms: float
    mean_cost: float
    accuracy: float
    final_accuracy: float
    adapt: dict[str, int | None] = field(default_factory=dict)
    abandon: dict[str, int | None] = field(default_factory=dict)
    new_tool_calls: dict[str, int | None] = field(default_factory=dict)

    @property
    def total_regret(self) -> float:
        return float(self.regret.sum())


def label(change: Change) -> str:
    """A change's key in the metrics, e.g. ``break@300``."""
    return f"{change.kind}@{change.at}"


def _first_window(
    picks: np.ndarray,
    start: int,
    end: int,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
) -> int | None:
    """First ``d`` in ``[start, end - WINDOW]`` whose window of ``picks`` qualifies.

    Adopting (``at_least``): ``picks[d]`` is true and the share over ``[d, d + WINDOW)`` is at
    least the threshold. Abandoning (``at_most``): ``picks[d]`` is false and the share is at
    most the threshold. The first decision itself must already show the new habit, so a
    streak of picks right before a qualifying window still counts.
    """
    if end - start < WINDOW:
        return None
    flags = picks[start:end].astype(float)
    shares = np.convolve(flags, np.ones(WINDOW), mode="valid") / WINDOW
    first = flags[: len(shares)] > 0.5
    if at_least is not None:
        ok = first & (shares >= at_least - 1e-12)
    elif at_most is not None:
        ok = ~first & (shares <= at_most + 1e-12)
    else:
        msg = "give at_least or at_most"
        raise ValueError(msg)
    hits = np.flatnonzero(ok)
    return int(hits[0]) + start if hits.size else None


def measure(stream: Stream, chosen: Sequence[int]) -> RunMetrics:
    """Score one run: ``chosen`` holds the tool index picked at each decision."""
    picks = np.asarray(chosen, dtype=int)
    rows = np.arange(len(picks))
    expected = stream.expected[rows, picks]
    if np.isnan(expected).any():
        msg = "a policy chose a tool that was not available"
        raise ValueError(msg)
    regret = stream.best_value - expected
    hit = stream.best_mask[rows, picks]
    late = max(1, round(len(picks) * LATE_SHARE))
    tools = stream.scenario.tools
    changes = sorted(stream.scenario.changes, key=lambda c: c.at)
    adapt: dict[str, int | None] = {}
    abandon: dict[str, int | None] = {}
    calls: dict[str, int | None] = {}
    for n, change in enumerate(changes):
        start = change.until if change.kind == "outage" and change.until else change.at
        end = changes[n + 1].at if n + 1 < len(changes) else len(picks)
        if start >= len(picks):
            continue
        key = label(change)
        # Adopted: a window in which the policy mostly picks the best tool *for each
        # decision's task type* (one tool for every decision unless the scenario has several).
        found = _first_window(hit, start, end, at_least=ADOPTED)
        adapt[key] = None if found is None else found - start
        if change.kind == "break":
            broken = tools.index(change.tool)
            gone = _first_window(picks == broken, start, end, at_most=ABANDONED)
            abandon[key] = None if gone is None else gone - start
        if change.kind == "arrive":
            new = tools.index(change.tool)
            calls[key] = None if found is None else int((picks[start : found + 1] == new).sum())
    return RunMetrics(
        regret=regret.astype(np.float32),
        success_rate=float(stream.success[rows, picks].mean()),
        mean_latency_ms=float(stream.latency[rows, picks].mean()),
        mean_cost=float(stream.cost[rows, picks].mean()),
        accuracy=float(hit[EARLY].mean()) if len(picks) > EARLY.start else math.nan,
        final_accuracy=float(hit[-late:].mean()),
        adapt=adapt,
        abandon=abandon,
        new_tool_calls=calls,
    )


def _median(values: Sequence[int | None]) -> float | None:
    """Median with "never" as +inf; ``None`` when more than half never got there."""
    ordered = sorted(math.inf if v is None else float(v) for v in values)
    if not ordered:
        return None
    mid = statistics.median(ordered)
    return None if math.isinf(mid) else float(mid)


def _never(values: Sequence[int | None]) -> float:
    return sum(v is None for v in values) / len(values) if values else 0.0


@dataclass(frozen=True)
class Summary:
    """One policy on one scenario, over all runs."""

    runs: int
    regret: float  # mean cumulative regret at the end of a run
    regret_ci: float  # 95 % half-width of that mean
    success_rate: float
    mean_latency_ms: float
    mean_cost: float
    accuracy: float
    final_accuracy: float
    adapt: dict[str, float | None]
    adapt_never: dict[str, float]
    abandon: dict[str, float | None]
    abandon_never: dict[str, float]
    new_tool_calls: dict[str, float | None]
    new_tool_never: dict[str, float]
    curve: np.ndarray  # mean cumulative regret per decision
    curve_low: np.ndarray  # 25th percentile
    curve_high: np.ndarray  # 75th percentile


def _collect(runs: Sequence[RunMetrics], attr: str) -> dict[str, list[int | None]]:
    keys = dict.fromkeys(key for run in runs for key in getattr(run, attr))
    return {key: [getattr(run, attr).get(key) for run in runs] for key in keys}


def summarise(runs: Sequence[RunMetrics]) -> Summary:
    """Aggregate a policy's runs on one scenario."""
    totals = np.array([run.total_regret for run in runs])
    cumulative = np.cumsum(np.stack([run.regret for run in runs]).astype(float), axis=1)
    spread = float(totals.std(ddof=1)) if len(totals) > 1 else 0.0
    adapt = _collect(runs, "adapt")
    abandon = _collect(runs, "abandon")
    calls = _collect(runs, "new_tool_calls")
    return Summary(
        runs=len(runs),
        regret=float(totals.mean()),
        regret_ci=1.96 * spread / math.sqrt(len(runs)),
        success_rate=float(np.mean([run.success_rate for run in runs])),
        mean_latency_ms=float(np.mean([run.mean_latency_ms for run in runs])),
        mean_cost=float(np.mean([run.mean_cost for run in runs])),
        accuracy=float(np.mean([run.accuracy for run in runs])),
        final_accuracy=float(np.mean([run.final_accuracy for run in runs])),
        adapt={k: _median(v) for k, v in adapt.items()},
        adapt_never={k: _never(v) for k, v in adapt.items()},
        abandon={k: _median(v) for k, v in abandon.items()},
        abandon_never={k: _never(v) for k, v in abandon.items()},
        new_tool_calls={k: _median(v) for k, v in calls.items()},
        new_tool_never={k: _never(v) for k, v in calls.items()},
        curve=cumulative.mean(axis=0),
        curve_low=np.percentile(cumulative, 25, axis=0),
        curve_high=np.percentile(cumulative, 75, axis=0),
    )
