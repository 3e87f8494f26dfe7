"""The runner and metrics: the oracle has zero regret, definitions hold, a tiny suite runs."""

from __future__ import annotations

import numpy as np
import pytest
from learning_sim.metrics import measure
from learning_sim.policies import BASE_POLICIES, STANDARD
from learning_sim.runner import play, run_suite
from learning_sim.scenarios import catalogue
from learning_sim.streams import draw
from learning_sim.targets import evaluate


@pytest.mark.parametrize("name", list(catalogue()))
def test_the_oracle_has_zero_regret(name: str) -> None:
    """Picking the truly best tool every time costs nothing, in every scenario."""
    stream = draw(catalogue()[name], 1, horizon=300)
    metrics = measure(stream, play("oracle", stream))
    assert metrics.total_regret == 0.0
    assert metrics.accuracy == 1.0


def test_regret_is_the_gap_to_the_best_expected_reward() -> None:
    """Always choosing the favourite costs best − favourite per decision."""
    stream = draw(catalogue()["stationary"], 1, horizon=100)
    metrics = measure(stream, play("fixed_prior", stream))
    j = stream.scenario.tools.index("ansible_run")
    gap = np.nanmax(stream.expected[0]) - stream.expected[0, j]
    assert metrics.total_regret == pytest.approx(100 * gap, rel=1e-5)
    assert metrics.accuracy == 0.0


def test_abandon_and_adapt_count_decisions_after_the_break() -> None:
    """Three more picks of the broken tool: abandoned after 3, new best adopted after 3."""
    stream = draw(catalogue()["best_breaks"], 1, horizon=400)
    picks = play("oracle", stream)
    broken = stream.scenario.tools.index("kubectl_deploy")
    picks[300:303] = [broken] * 3
    metrics = measure(stream, picks)
    assert metrics.abandon == {"break@300": 3}
    assert metrics.adapt == {"break@300": 3}


def test_new_tool_calls_count_up_to_the_first_routed_call() -> None:
    """Tried twice among other picks, then always: adoption counts those calls plus one."""
    stream = draw(catalogue()["new_tool"], 1, horizon=500)
    tools = stream.scenario.tools
    kubectl, helm = tools.index("kubectl_deploy"), tools.index("helm_upgrade")
    picks = [kubectl] * 500
    picks[405] = picks[420] = helm
    picks[430:] = [helm] * 70
    metrics = measure(stream, picks)
    assert metrics.adapt == {"arrive@400": 30}
    assert metrics.new_tool_calls == {"arrive@400": 3}


def test_never_adopting_is_reported_as_none() -> None:
    """A policy that never switches has no adaptation time."""
    stream = draw(catalogue()["new_tool"], 1, horizon=500)
    metrics = measure(stream, play("fixed_prior", stream))
    assert metrics.adapt == {"arrive@400": None}
    assert metrics.new_tool_calls == {"arrive@400": None}


def test_toolwise_runs_are_reproducible() -> None:
    """Seeded recommendations make a toolwise run repeat exactly."""
    stream = draw(catalogue()["stationary"], 3, horizon=120)
    assert play("toolwise", stream) == play("toolwise", stream)


def test_a_tiny_suite_runs_end_to_end() -> None:
    """Two scenarios, two seeds, short horizon: every policy summarised, targets evaluated."""
    suite = run_suite(["stationary", "best_breaks"], runs=2, horizon=360, jobs=1)
    for result in suite.values():
        summaries = result.summaries
        assert set(summaries) == set(BASE_POLICIES)
        assert set(STANDARD) <= set(summaries)  # the classical baselines run beside toolwise
        assert summaries["oracle"].regret == 0.0
        assert summaries["toolwise"].regret < summaries["random"].regret
        assert len(summaries["toolwise"].curve) == 360
    assert "break@300" in suite["best_breaks"].summaries["toolwise"].abandon
    names = [target.name for target in evaluate(suite)]
    assert "accuracy after 50 outcomes, stationary" in names
    assert "regret ratio, best_breaks" in names
