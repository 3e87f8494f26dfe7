"""Probes: once a task type has changed, a tool passed over for long is tried again.

In a regime swap the new best tool may be one whose short, poor record comes from the other
regime; while the leader stays steady nothing breaks, so only a probe sends the learner back
to it (``learning/probe.py``). Counted in the task type's calls, never in time.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.probe import Probes

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Agent, FakeClock

KEY = ("agent", "B", "deploy", "")


def _adopted_after(picks: list[str], tool: str) -> int:
    """Decisions until the first pick of ``tool`` that opens a window of 10 with ≥ 8 of it."""
    for start in range(len(picks) - 9):
        if picks[start] == tool and picks[start : start + 10].count(tool) >= 8:
            return start
    return len(picks)


def _rise(
    make_clock: Callable[..., FakeClock],
    make_agent: Callable[..., Agent],
    seed: int,
    probe_after_calls: int,
) -> int:
    """C broke once (the task type has changed); B has 8 calls at 1 in 8; A runs at 75 %.

    After 100 decisions B rises to 95 % while A stays steady: decisions until B is adopted.
    """
    clock = make_clock()
    view = ReliabilityView(LearningConfig(probe_after_calls=probe_after_calls), clock=clock)
    for i in range(36):
        view.observe("C", i < 30, context_class="deploy", latency_ms=1_000.0)
    for i in range(8):
        view.observe("B", i == 0, context_class="deploy", latency_ms=1_000.0)
    agent = make_agent(view, clock, {"A": 0.75, "B": 0.1, "C": 0.2}, seed=seed)
    agent.run(100)
    agent.rates["B"] = 0.95
    return _adopted_after(agent.run(300), "B")


def test_a_runner_up_that_rose_while_the_leader_held_is_found(
    make_clock: Callable[..., FakeClock], make_agent: Callable[..., Agent]
) -> None:
    """With probes every 20 calls B is adopted in every run (median ≤ 100 decisions);
    without them its eight poor calls keep it away for the 300 decisions of most runs."""
    probed = [_rise(make_clock, make_agent, seed, 20) for seed in range(10)]
    unprobed = [_rise(make_clock, make_agent, seed, 0) for seed in range(10)]
    assert statistics.median(probed) <= 100
    assert max(probed) < 300
    assert statistics.median(unprobed) == 300


def test_a_task_type_that_never_changed_is_never_probed(
    make_clock: Callable[..., FakeClock], make_agent: Callable[..., Agent]
) -> None:
    """Without a change point, probes change no decision: the same seed picks the same tools."""

    def picks(probe_after_calls: int) -> list[str]:
        clock = make_clock()
        view = ReliabilityView(LearningConfig(probe_after_calls=probe_after_calls), clock=clock)
        return make_agent(view, clock, {"A": 0.8, "B": 0.4, "C": 0.3}, seed=3).run(400)

    assert picks(10) == picks(0)


def test_a_failed_probe_doubles_the_wait() -> None:
    """After a change, B is due once 10 calls went elsewhere; a failed probe makes it 20."""
    probes = Probes(10)
    probes.call(KEY, success=False)
    probes.changed(KEY)
    other = ("agent", "A", "deploy", "")
    for _ in range(10):
        probes.call(other, success=True)
    assert probes.due(KEY)
    probes.call(KEY, success=False)
    for _ in range(19):
        probes.call(other, success=True)
    assert not probes.due(KEY)
    probes.call(other, success=True)
    assert probes.due(KEY)


def test_a_successful_probe_asks_for_another_at_once() -> None:
    """A probe that succeeds makes the next one due at once, up to ``chain`` in a row."""
    probes = Probes(10, chain=2)
    probes.call(KEY, success=False)
    probes.changed(KEY)
    for _ in range(10):
        probes.call(("agent", "A", "deploy", ""), success=True)
    probes.call(KEY, success=True)
    assert probes.due(KEY)
    probes.call(KEY, success=True)
    assert probes.due(KEY)
    probes.call(KEY, success=True)  # the chain is spent: back to waiting its turn
    assert not probes.due(KEY)


def test_probes_are_off_by_default() -> None:
    """The default configuration never probes (``probe_after_calls`` is 0)."""
    probes = Probes(LearningConfig().probe_after_calls)
    probes.call(KEY, success=False)
    probes.changed(KEY)
    for _ in range(1_000):
        probes.call(("agent", "A", "deploy", ""), success=True)
    assert not probes.due(KEY)
