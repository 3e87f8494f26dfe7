"""Scenarios and streams: deterministic, changing when they say, with exact expected rewards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from learning_sim.clock import business_hours
from learning_sim.reward import BALANCED, COST, Behaviour, Latency, expected_reward
from learning_sim.scenarios import NON_STATIONARY, catalogue
from learning_sim.streams import draw


@pytest.mark.parametrize("name", list(catalogue()))
def test_a_stream_is_the_same_for_the_same_seed(name: str) -> None:
    """Same scenario and seed: identical times, contexts, outcomes and truths."""
    scenario = catalogue()[name]
    a, b = draw(scenario, 5, horizon=200), draw(scenario, 5, horizon=200)
    assert a.times == b.times
    assert a.contexts == b.contexts
    assert a.available == b.available
    for field in ("success", "latency", "cost", "expected"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_different_seeds_give_different_outcomes() -> None:
    """Runs differ in their draws, not in their world."""
    scenario = catalogue()["stationary"]
    a, b = draw(scenario, 1, horizon=200), draw(scenario, 2, horizon=200)
    assert not np.array_equal(a.success, b.success)
    np.testing.assert_array_equal(a.expected, b.expected)


def test_the_best_tool_breaks_when_the_scenario_says() -> None:
    """best_breaks: kubectl_deploy is best before decision 300 and not after."""
    stream = draw(catalogue()["best_breaks"], 1, horizon=400)
    assert stream.best_tool(299) == "kubectl_deploy"
    assert stream.best_tool(300) == "terraform_apply"


def test_a_new_tool_is_unavailable_before_it_arrives() -> None:
    """new_tool: helm_upgrade appears at decision 400 and is then the best."""
    stream = draw(catalogue()["new_tool"], 1, horizon=450)
    assert "helm_upgrade" not in stream.available[399]
    assert "helm_upgrade" in stream.available[400]
    assert stream.best_tool(400) == "helm_upgrade"


def test_a_specialist_is_best_only_in_its_task_type() -> None:
    """specialist: once helm_upgrade arrives it is best for chart deploys, kubectl elsewhere."""
    scenario = catalogue()["specialist"]
    stream = draw(scenario, 1)
    arrival = scenario.changes[0].at
    assert "helm_upgrade" not in stream.available[arrival - 1]
    after = range(arrival, len(stream.contexts))
    best = {(stream.contexts[i], stream.best_tool(i)) for i in after}
    assert best == {("chart_deploy", "helm_upgrade"), ("deploy", "kubectl_deploy")}


def test_the_weekday_effect_follows_simulated_time() -> None:
    """weekday: terraform_apply is best except on Friday afternoons."""
    stream = draw(catalogue()["weekday"], 1)
    for i, moment in enumerate(stream.times):
        friday_pm = moment.weekday() == 4 and 12 <= moment.hour < 18
        assert stream.best_tool(i) == ("kubectl_deploy" if friday_pm else "terraform_apply")


def test_sparse_contexts_use_fifty_task_types() -> None:
    """sparse_contexts draws from 50 contexts, the head far more often than the tail."""
    stream = draw(catalogue()["sparse_contexts"], 1)
    counts = {c: stream.contexts.count(c) for c in set(stream.contexts)}
    assert len(catalogue()["sparse_contexts"].contexts) == 50
    assert counts["service-00"] > 5 * counts.get("service-40", 0)


def test_non_stationary_scenarios_are_flagged() -> None:
    """The targets' "non-stationary" set is exactly the scenarios that change."""
    flagged = {name for name, s in catalogue().items() if not s.stationary}
    assert flagged == set(NON_STATIONARY)


def test_the_clock_skips_nights_and_weekends() -> None:
    """Friday 17:55 is followed by Monday 08:00."""
    start = datetime(2025, 1, 10, 17, 55, tzinfo=UTC)
    assert business_hours(2, timedelta(minutes=5), start) == [
        start,
        datetime(2025, 1, 13, 8, 0, tzinfo=UTC),
    ]


@pytest.mark.parametrize("objective", [BALANCED, COST])
def test_expected_reward_matches_a_monte_carlo_average(objective: object) -> None:
    """The closed form equals the mean realised reward of many simulated calls."""
    behaviour = Behaviour(
        0.8,
        Latency(20_000, 0.7, tail_share=0.1, tail_median_ms=70_000),
        Latency(40_000, 0.4),
        cost=0.5,
    )
    rng = np.random.default_rng(0)
    n = 200_000
    ok = rng.random(n) < behaviour.p
    z, u = rng.standard_normal(n), rng.random(n)
    latency = np.array(
        [
            (behaviour.success_latency if s else behaviour.failure_latency).sample(zi, ui)
            for s, zi, ui in zip(ok, z, u, strict=True)
        ]
    )
    speed = np.maximum(0.0, 1.0 - latency / 60_000)
    realised = objective.success * ok + objective.speed * speed + objective.cost / 1.5
    assert expected_reward(behaviour, objective) == pytest.approx(realised.mean(), abs=3e-3)
