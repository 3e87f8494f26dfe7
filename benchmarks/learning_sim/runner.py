"""Run policies against streams: one stream per (scenario, seed), every policy on it.

Work is split by (scenario, seed) across processes; each task draws its stream, plays every
policy on it and returns per-run metrics, so results do not depend on scheduling.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from learning_sim.decisions import Decision, Policy, Result
from learning_sim.metrics import RunMetrics, Summary, measure, summarise
from learning_sim.policies import BASE_POLICIES, build
from learning_sim.scenarios import Scenario, catalogue
from learning_sim.streams import Stream, draw

__all__ = ["ScenarioResult", "play", "play_policy", "policies_for", "run_suite", "seeds_for"]


def play(policy_name: str, stream: Stream, custom: Mapping[str, Any] | None = None) -> list[int]:
    """One policy through one stream; returns the index of the tool chosen at each decision."""
    return play_policy(build(policy_name, stream, custom), stream, policy_name)


def play_policy(
    policy: Policy,
    stream: Stream,
    policy_name: str = "policy",
    *,
    after_each: Callable[[int, str], None] | None = None,
) -> list[int]:
    """:func:`play` for a policy already built (to read its state afterwards);
    ``after_each(decision, tool)`` runs once the policy learnt each decision's result."""
    tools = stream.scenario.tools
    index = {tool: j for j, tool in enumerate(tools)}
    chosen = []
    for i in range(len(stream)):
        decision = Decision(i, stream.times[i], stream.contexts[i], stream.available[i])
        tool = policy.choose(decision)
        if tool not in decision.tools:
            msg = f"{policy_name} chose {tool!r}, not among {decision.tools}"
            raise ValueError(msg)
        j = index[tool]
        result = Result(
            success=bool(stream.success[i, j]),
            latency_ms=float(stream.latency[i, j]),
            cost=float(stream.cost[i, j]),
        )
        policy.learn(decision, tool, result)
        chosen.append(j)
        if after_each is not None:
            after_each(i, tool)
    return chosen


def policies_for(scenario: Scenario, *, custom: bool = False) -> tuple[str, ...]:
    """The policies compared on a scenario: the base set plus its extras, oracle last."""
    base = [name for name in BASE_POLICIES if name != "oracle"]
    extra = ("toolwise_custom",) if custom else ()
    return (*base, *scenario.extra_policies, *extra, "oracle")


def seeds_for(runs: int) -> list[int]:
    """Fixed stream seeds: the same every time the benchmark runs."""
    return list(range(1, runs + 1))


_Outcome = tuple[str, int, dict[str, RunMetrics], dict[str, float]]


def _task(args: tuple[str, int, int | None, dict[str, Any] | None]) -> _Outcome:
    name, seed, horizon, custom = args
    scenario = catalogue()[name]
    stream = draw(scenario, seed, horizon)
    out: dict[str, RunMetrics] = {}
    timings: dict[str, float] = {}
    for policy in policies_for(scenario, custom=custom is not None):
        start = time.perf_counter()
        chosen = play(policy, stream, custom)
        timings[policy] = time.perf_counter() - start
        out[policy] = measure(stream, chosen)
    return name, seed, out, timings


@dataclass(frozen=True)
class ScenarioResult:
    """Every policy's summary on one scenario, and the seconds each policy took in total."""

    scenario: Scenario
    seeds: list[int]
    horizon: int
    summaries: dict[str, Summary]
    seconds: dict[str, float]


def run_suite(
    names: Sequence[str],
    runs: int,
    *,
    horizon: int | None = None,
    jobs: int | None = None,
    custom: dict[str, Any] | None = None,
) -> dict[str, ScenarioResult]:
    """Run ``runs`` seeds of each named scenario with every policy.

    Args:
        names: scenarios to run (keys of :func:`~learning_sim.scenarios.catalogue`).
        runs: seeds per scenario.
        horizon: override every scenario's horizon (tests and smoke runs).
        jobs: worker processes; ``1`` runs in this process; default: the CPU count.
        custom: ``LearningConfig`` fields for an extra ``toolwise_custom`` policy (to try a
            learner change side by side with the default); ``None`` runs no such policy.
    """
    scenarios = catalogue()
    tasks = [(name, seed, horizon, custom) for name in names for seed in seeds_for(runs)]
    jobs = jobs or os.cpu_count() or 1
    results: Iterable[_Outcome]
    if jobs == 1:
        results = [_task(task) for task in tasks]
    else:
        # Long scenarios first so the pool does not end on one straggler.
        tasks.sort(key=lambda t: -(t[2] or scenarios[t[0]].horizon))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_task, tasks))
    per: dict[str, dict[int, dict[str, RunMetrics]]] = {name: {} for name in names}
    seconds: dict[str, dict[str, float]] = {name: {} for name in names}
    for name, seed, metrics, timings in results:
        per[name][seed] = metrics
        for policy, spent in timings.items():
            seconds[name][policy] = seconds[name].get(policy, 0.0) + spent
    suite = {}
    for name in names:
        scenario = scenarios[name]
        ordered = [per[name][seed] for seed in sorted(per[name])]
        summaries = {
            policy: summarise([run[policy] for run in ordered])
            for policy in policies_for(scenario, custom=custom is not None)
        }
        suite[name] = ScenarioResult(
            scenario=scenario,
            seeds=sorted(per[name]),
            horizon=horizon or scenario.horizon,
            summaries=summaries,
            seconds=seconds[name],
        )
    return suite
