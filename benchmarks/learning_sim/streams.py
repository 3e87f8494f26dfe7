"""One seeded run of a scenario, drawn in advance: the same outcomes for every policy.

For every decision the stream fixes the time, the context, the available tools and, for *each*
tool, whether a call would succeed, how long it would take and what it would cost (common
random numbers): two policies that pick the same tool at the same decision see the same
result, so their difference is their choices, not their luck.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from learning_sim.clock import START, business_hours
from learning_sim.reward import expected_reward
from learning_sim.scenarios import Moment, Scenario

__all__ = ["TIE", "Stream", "draw"]

TIE = 1e-9
"""Tools within this much of the best expected reward all count as best."""


@dataclass(frozen=True, eq=False)
class Stream:
    """Everything a run needs, decided before any policy chooses.

    Arrays are indexed ``[decision, tool]`` with tools in ``scenario.tools`` order; an
    unavailable tool has ``nan`` expected reward. ``gaps`` are unit-mean exponential gaps
    between decisions: :meth:`at_rate` turns them into Poisson arrival times.
    """

    scenario: Scenario
    seed: int
    times: tuple[datetime, ...]
    contexts: tuple[str, ...]
    available: tuple[tuple[str, ...], ...]
    success: np.ndarray
    latency: np.ndarray
    cost: np.ndarray
    expected: np.ndarray
    gaps: np.ndarray

    def at_rate(self, mean_gap_seconds: float) -> Stream:
        """The same decisions and outcomes, arriving as a Poisson process at this rate.

        Only the timestamps change, so policies that ignore time see the very same run.
        """
        offsets = np.cumsum(self.gaps) * mean_gap_seconds
        times = tuple(START + timedelta(seconds=float(s)) for s in offsets)
        return replace(self, times=times)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def best_value(self) -> np.ndarray:
        """The oracle's expected reward per decision."""
        return np.asarray(np.nanmax(self.expected, axis=1))

    @property
    def best_mask(self) -> np.ndarray:
        """``[decision, tool]``: True where the tool is (one of) the truly best."""
        filled = np.nan_to_num(self.expected, nan=-np.inf)
        return np.asarray(filled >= self.best_value[:, None] - TIE)

    def best_tool(self, index: int) -> str:
        """The first truly best tool at a decision."""
        return self.scenario.tools[int(np.argmax(self.best_mask[index]))]


def _rng(scenario: Scenario, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(scenario.name.encode())])


def draw(scenario: Scenario, seed: int, horizon: int | None = None) -> Stream:
    """Draw a stream of ``horizon`` decisions (the scenario's own by default); deterministic."""
    count = scenario.horizon if horizon is None else horizon
    tools = scenario.tools
    k = len(tools)
    rng = _rng(scenario, seed)
    weights = np.asarray(scenario.context_weights or [1.0] * len(scenario.contexts), dtype=float)
    context_ix = rng.choice(len(scenario.contexts), size=count, p=weights / weights.sum())
    if scenario.context_from:  # a task type that appears later: drawn among those active
        starts = np.asarray(scenario.context_from)
        for begin in sorted(set(scenario.context_from)):
            active = weights * (starts <= begin)
            end = min((b for b in scenario.context_from if b > begin), default=count)
            if begin < min(end, count):
                context_ix[begin:end] = rng.choice(
                    len(scenario.contexts), size=min(end, count) - begin, p=active / active.sum()
                )
    u_success = rng.random((count, k))
    z = rng.standard_normal((count, k))
    u_tail = rng.random((count, k))
    gaps = rng.exponential(1.0, size=count)  # drawn last: the older draws keep their values

    times = business_hours(count, scenario.step)
    contexts = tuple(scenario.contexts[int(c)] for c in context_ix)
    success = np.zeros((count, k), dtype=bool)
    latency = np.zeros((count, k))
    cost = np.zeros((count, k))
    expected = np.full((count, k), np.nan)
    available = []
    for i in range(count):
        world = scenario.world(Moment(i, times[i], contexts[i]))
        available.append(tuple(tool for tool in tools if tool in world))
        for j, tool in enumerate(tools):
            behaviour = world.get(tool)
            if behaviour is None:
                continue
            ok = bool(u_success[i, j] < behaviour.p)
            mode = behaviour.success_latency if ok else behaviour.failure_latency
            success[i, j] = ok
            latency[i, j] = mode.sample(float(z[i, j]), float(u_tail[i, j]))
            cost[i, j] = behaviour.cost
            expected[i, j] = expected_reward(behaviour, scenario.objective)
    return Stream(
        scenario=scenario,
        seed=seed,
        times=tuple(times),
        contexts=contexts,
        available=tuple(available),
        success=success,
        latency=latency,
        cost=cost,
        expected=expected,
        gaps=gaps,
    )
