"""The randomised suite: every family × seed × traffic rate, toolwise against the baselines.

One task per (family, seed): draw the world and its stream once, play each standard baseline
on it once (they ignore time, so the rate cannot matter to them), then replay the same stream
at every traffic rate for the policies that read time (toolwise and the 000 recipe, whose
records expire after 30 days). Results are kept per run so ratios and medians can be taken
over seeds.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from learning_sim.generator import DEVELOPMENT, HELD_OUT, NON_STATIONARY_FAMILIES, RATES, generate
from learning_sim.metrics import measure
from learning_sim.policies import STANDARD, build
from learning_sim.runner import play, play_policy
from learning_sim.streams import Stream, draw

__all__ = [
    "ANY_RATE",
    "STATIONARY_FAMILIES",
    "Run",
    "Suite",
    "TargetRow",
    "run_families",
    "seeds",
    "targets",
]

ANY_RATE = "any"
"""The rate of a policy that ignores time (measured once per seed)."""
TIMED = ("toolwise", "recipe_000")
STATIONARY_FAMILIES = ("stationary", "context_best", "tradeoff", "no_outage", "similar_names")
STEER_FROM, STEER_TO = 20, 100  # the second task type's own decisions the steer is read on
STATIONARY_LIMIT = 1.1
NON_STATIONARY_LIMIT = 0.8
ABANDON_LIMIT = 5.0
ADOPT_LIMIT = 8.0
FALSE_ALARM_RUNS = 0.05  # share of no-outage runs with any outage event
STEERED = 0.5  # a run is steered when most of the later type's decisions 21–100 follow names


@dataclass(frozen=True)
class Run:
    """One policy on one seed of a family, at one rate (``ANY_RATE`` for time-blind ones)."""

    family: str
    seed: int
    policy: str
    rate: str
    regret: float
    success_rate: float
    abandon: tuple[int | None, ...]  # decisions to abandon each broken best tool
    adopt_calls: tuple[int | None, ...]  # calls of each arriving tool until it was adopted
    false_alarms: int | None = None  # outage events declared (toolwise; families without outages)
    steered: float | None = None  # similar_names: share of picks of the other type's best tool


def steer(stream: Stream, chosen: list[int]) -> float | None:
    """Share of the later task type's decisions 21–100 that pick the earlier type's best tool.

    By then the later type has 20 outcomes of its own; in ``similar_names`` that tool is not
    its best, so a share near 1 means the name similarity, not the evidence, decides.
    """
    contexts = stream.scenario.contexts
    if len(contexts) != 2 or not stream.scenario.context_from:
        return None
    first, second = contexts
    rows_first = [i for i, c in enumerate(stream.contexts) if c == first]
    rows_second = [i for i, c in enumerate(stream.contexts) if c == second][STEER_FROM:STEER_TO]
    if not rows_first or not rows_second:
        return None
    their_best = int(np.nanargmax(stream.expected[rows_first[0]]))
    return float(np.mean([chosen[i] == their_best for i in rows_second]))


def seeds(runs: int, *, held_out: bool) -> list[int]:
    """The first ``runs`` seeds of the held-out range, or of the development range."""
    source = HELD_OUT if held_out else DEVELOPMENT
    return list(source[:runs])


def _task(args: tuple[str, int, tuple[str, ...], dict[str, Any] | None]) -> list[Run]:
    family, seed, rates, custom = args
    scenario = generate(family, seed)
    stream = draw(scenario, seed)
    runs = []

    def record(policy: str, rate: str, chosen: list[int], alarms: int | None = None) -> None:
        metrics = measure(stream, chosen)
        breaks = [c for c in scenario.changes if c.kind == "break"]
        arrivals = [c for c in scenario.changes if c.kind == "arrive"]
        runs.append(
            Run(
                family=family,
                seed=seed,
                policy=policy,
                rate=rate,
                regret=metrics.total_regret,
                success_rate=metrics.success_rate,
                abandon=tuple(metrics.abandon.get(f"break@{c.at}") for c in breaks),
                adopt_calls=tuple(metrics.new_tool_calls.get(f"arrive@{c.at}") for c in arrivals),
                false_alarms=alarms,
                steered=steer(stream, chosen),
            )
        )

    outages = any(c.kind == "outage" for c in scenario.changes)
    for policy in STANDARD:
        record(policy, ANY_RATE, play(policy, stream))
    timed = (*TIMED, "toolwise_custom") if custom is not None else TIMED
    for rate in rates:
        paced = stream.at_rate(RATES[rate])
        for policy in timed:
            built = build(policy, paced, custom)
            chosen = play_policy(built, paced, policy)
            view = getattr(built, "view", None)
            alarms = None if view is None or outages else len(view.infra_events())
            record(policy, rate, chosen, alarms)
    return runs


@dataclass(frozen=True)
class Suite:
    """Every run of a randomised suite, with how it was drawn."""

    families: tuple[str, ...]
    seeds: tuple[int, ...]
    held_out: bool
    rates: tuple[str, ...]
    runs: tuple[Run, ...]

    def regrets(self, family: str, policy: str, rate: str = ANY_RATE) -> np.ndarray:
        """Total regret per seed, in seed order."""
        found = {
            r.seed: r.regret
            for r in self.runs
            if r.family == family and r.policy == policy and r.rate == rate
        }
        return np.array([found[s] for s in self.seeds if s in found])

    def best_baseline(self, family: str) -> str:
        """The standard baseline with the lowest mean regret on a family."""
        return min(STANDARD, key=lambda policy: float(self.regrets(family, policy).mean()))

    def values(self, family: str, policy: str, rate: str, attr: str) -> list[float]:
        """Per-run values of a scalar ``attr`` (``false_alarms``, ``steered``), Nones left out."""
        return [
            float(value)
            for r in self.runs
            if r.family == family and r.policy == policy and r.rate == rate
            if (value := getattr(r, attr)) is not None
        ]

    def pooled(self, family: str, policy: str, rate: str, attr: str) -> list[int | None]:
        """Every per-change value of ``attr`` (``abandon``/``adopt_calls``) over the seeds."""
        return [
            value
            for r in self.runs
            if r.family == family and r.policy == policy and r.rate == rate
            for value in getattr(r, attr)
        ]


def run_families(
    families: Sequence[str],
    runs: int,
    *,
    held_out: bool = True,
    rates: Sequence[str] = tuple(RATES),
    jobs: int | None = None,
    custom: dict[str, Any] | None = None,
) -> Suite:
    """Run ``runs`` seeds of each family at each rate (in ``jobs`` processes)."""
    chosen = seeds(runs, held_out=held_out)
    tasks = [(family, seed, tuple(rates), custom) for family in families for seed in chosen]
    jobs = jobs or os.cpu_count() or 1
    results: Iterable[list[Run]]
    if jobs == 1:
        results = [_task(task) for task in tasks]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_task, tasks, chunksize=1))
    return Suite(
        families=tuple(families),
        seeds=tuple(chosen),
        held_out=held_out,
        rates=tuple(rates),
        runs=tuple(run for batch in results for run in batch),
    )


_MEDIAN_TARGETS = (
    # family, metric, target, limit, what the values count
    ("abrupt", "abandon", "broken best abandoned (median decisions)", ABANDON_LIMIT, "breaks"),
    ("new_tool", "adopt_calls", "new tool adopted (median calls)", ADOPT_LIMIT, "arrivals"),
)
"""The targets read as a median over runs, where ``None`` (never happened) fails the median."""


def _median(values: Sequence[int | None]) -> float | None:
    """Median with "never" as +inf; ``None`` when there is nothing or more than half never."""
    ordered = sorted(math.inf if v is None else float(v) for v in values)
    if not ordered:
        return None
    middle = statistics.median(ordered)
    return None if math.isinf(middle) else float(middle)


def ratio_interval(
    ours: np.ndarray, theirs: np.ndarray, *, resamples: int = 2_000, seed: int = 0
) -> tuple[float, float]:
    """95 % paired-bootstrap interval of ``mean(ours) / mean(theirs)`` over seeds."""
    rng = np.random.default_rng(seed)
    n = len(ours)
    picks = rng.integers(0, n, size=(resamples, n))
    top = ours[picks].mean(axis=1)
    bottom = np.maximum(theirs[picks].mean(axis=1), 1e-12)
    low, high = np.percentile(top / bottom, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class TargetRow:
    """One target at one rate: what it asks, what was measured, whether it holds."""

    target: str
    family: str
    rate: str
    goal: str
    measured: float | None
    interval: tuple[float, float] | None
    passed: bool
    detail: str


def targets(suite: Suite, subject: str = "toolwise") -> list[TargetRow]:
    """The issue's targets on this suite, one row per family (or change kind) and rate."""
    rows = []
    for family in suite.families:
        stationary = family in STATIONARY_FAMILIES
        reference = "thompson" if stationary else suite.best_baseline(family)
        limit = STATIONARY_LIMIT if stationary else NON_STATIONARY_LIMIT
        theirs = suite.regrets(family, reference)
        for rate in suite.rates:
            ours = suite.regrets(family, subject, rate)
            ratio = float(ours.mean() / theirs.mean()) if theirs.mean() > 0 else math.inf
            rows.append(
                TargetRow(
                    target="regret ratio",
                    family=family,
                    rate=rate,
                    goal=f"≤ {limit:g} × {reference}",
                    measured=ratio,
                    interval=ratio_interval(ours, theirs),
                    passed=ratio <= limit,
                    detail=f"{ours.mean():.1f} vs {theirs.mean():.1f}",
                )
            )
    for rate in suite.rates:
        for family, metric, target, limit, events in _MEDIAN_TARGETS:
            if family in suite.families:
                values = suite.pooled(family, subject, rate, metric)
                median = _median(values)
                rows.append(
                    TargetRow(
                        target=target,
                        family=family,
                        rate=rate,
                        goal=f"≤ {limit:g}",
                        measured=median,
                        interval=None,
                        passed=median is not None and median <= limit,
                        detail=f"{len(values)} {events}, never {sum(v is None for v in values)}",
                    )
                )
        if "no_outage" in suite.families:
            alarms = suite.values("no_outage", subject, rate, "false_alarms")
            share = sum(a > 0 for a in alarms) / len(alarms) if alarms else 0.0
            rows.append(
                TargetRow(
                    target="runs with an outage false alarm",
                    family="no_outage",
                    rate=rate,
                    goal=f"≤ {FALSE_ALARM_RUNS:.0%}",
                    measured=share,
                    interval=None,
                    passed=share <= FALSE_ALARM_RUNS,
                    detail=f"{sum(alarms):.0f} events in {len(alarms)} runs",
                )
            )
        if "similar_names" in suite.families:
            ours = suite.values("similar_names", subject, rate, "steered")
            theirs = suite.values("similar_names", "thompson", ANY_RATE, "steered")
            steered = sum(v > STEERED for v in ours) / len(ours) if ours else 0.0
            reference = sum(v > STEERED for v in theirs) / len(theirs) if theirs else 0.0
            rows.append(
                TargetRow(
                    target="runs steered by a similar name",
                    family="similar_names",
                    rate=rate,
                    goal="≤ per-type Thompson",
                    measured=steered,
                    interval=None,
                    passed=steered <= reference,
                    detail=f"Thompson {reference:.0%}; mean share {np.mean(ours or [0]):.2f}",
                )
            )
    return rows


def false_alarm_rows(suite: Suite, subject: str = "toolwise") -> list[list[Any]]:
    """Per family without outages × rate: outage events per run, and runs with any."""
    rows = []
    for family in suite.families:
        for rate in suite.rates:
            alarms = suite.values(family, subject, rate, "false_alarms")
            if alarms:
                rows.append(
                    [
                        family,
                        rate,
                        f"{np.mean(alarms):.2f}",
                        f"{sum(a > 0 for a in alarms)}/{len(alarms)}",
                    ]
                )
    return rows


def regret_table(suite: Suite, policies: Sequence[str]) -> list[list[Any]]:
    """One row per family: mean regret of each policy (time-aware ones per rate)."""
    rows = []
    for family in suite.families:
        best = suite.best_baseline(family)
        row: list[Any] = [family, best]
        for policy in policies:
            if policy in STANDARD:
                row.append(f"{suite.regrets(family, policy).mean():.1f}")
            else:
                row.extend(
                    f"{suite.regrets(family, policy, rate).mean():.1f}" for rate in suite.rates
                )
        rows.append(row)
    return rows


def _mean_or_none(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def payload(suite: Suite, rows: Sequence[TargetRow]) -> dict[str, Any]:
    """Everything measured, JSON-ready: the seed ranges, every run's totals, the targets."""
    policies = sorted({(r.policy, r.rate) for r in suite.runs})
    summary: dict[str, Any] = {}
    for family in suite.families:
        summary[family] = {
            "best_baseline": suite.best_baseline(family),
            "policies": {
                f"{policy}@{rate}": {
                    "mean_regret": round(float(values.mean()), 3),
                    "false_alarms_per_run": _mean_or_none(
                        suite.values(family, policy, rate, "false_alarms")
                    ),
                    "steered": _mean_or_none(suite.values(family, policy, rate, "steered")),
                    "ci95": round(float(1.96 * values.std(ddof=1) / math.sqrt(len(values))), 3)
                    if len(values) > 1
                    else 0.0,
                }
                for policy, rate in policies
                if len(values := suite.regrets(family, policy, rate))
            },
        }
    return {
        "seed_range": "held-out" if suite.held_out else "development",
        "seeds": list(suite.seeds),
        "development_range": [DEVELOPMENT.start, DEVELOPMENT.stop - 1],
        "held_out_range": [HELD_OUT.start, HELD_OUT.stop - 1],
        "rates": {rate: RATES[rate] for rate in suite.rates},
        "families": list(suite.families),
        "non_stationary_families": [f for f in suite.families if f in NON_STATIONARY_FAMILIES],
        "summary": summary,
        "targets": [row.__dict__ for row in rows],
        "runs": [run.__dict__ for run in suite.runs],
    }
