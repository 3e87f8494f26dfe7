"""Memory counted in outcomes: the same outcomes teach the same thing at any traffic rate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.models import ToolOutcome

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RATES = {"kubectl": 0.9, "terraform": 0.8, "ansible": 0.35}


def _replay(gap: timedelta, seed: int = 5) -> ReliabilityView:
    """Three hundred outcomes one ``gap`` apart; kubectl breaks after the first 200."""
    moment = START
    view = ReliabilityView(LearningConfig(time_buckets="none"), clock=lambda: moment)
    rng = random.Random(seed)
    for n in range(300):
        moment = START + n * gap
        tool = rng.choice(list(RATES))
        rate = 0.0 if tool == "kubectl" and n >= 200 else RATES[tool]
        view.observe_outcome(
            ToolOutcome(
                tool=tool,
                task_type="deploy",
                outcome="success" if rng.random() < rate else "failure",
                latency_ms=1_000.0,
                timestamp=moment,
            )
        )
    return view


def test_one_call_a_day_learns_what_one_call_a_minute_learns() -> None:
    """Identical priors (rates, evidence, detected changes) at 1/min and at 1/day."""
    fast = _replay(timedelta(minutes=1)).priors()
    slow = _replay(timedelta(days=1)).priors()
    summary = [(p.tool, p.rate, p.effective_observations, p.changes) for p in fast]
    assert summary == [(p.tool, p.rate, p.effective_observations, p.changes) for p in slow]
    assert any(p.changes for p in fast)  # the break was seen, at both rates


def _types(view: ReliabilityView, *, same: bool, calls: int) -> None:
    """Two task types; in ``chart`` helm is best, in ``plain`` kubectl — unless ``same``."""
    for n in range(calls):
        view.observe("kubectl", n % 10 != 0, context_class="plain")
        view.observe("helm", n % 10 == 0, context_class="plain")
        view.observe("kubectl", (n % 10 != 0) if same else (n % 10 == 0), context_class="chart")
        view.observe("helm", (n % 10 == 0) if same else (n % 10 != 0), context_class="chart")


def _borrowed(view: ReliabilityView) -> float:
    """How much a third, new task type similar to both borrows for helm."""
    (prior,) = view.priors(tool="helm", context_class="chart")
    return prior.alpha + prior.beta - prior.effective_observations


@pytest.mark.parametrize("same", [True, False])
def test_task_types_lend_only_as_much_as_their_outcomes_say_they_are_alike(same: bool) -> None:
    """Names say 'similar' (0.9); outcomes decide: alike types keep lending, unlike ones stop."""
    view = ReliabilityView(LearningConfig(time_buckets="none"), similarity=lambda a, b: 0.9)
    _types(view, same=same, calls=20)
    borrowed = _borrowed(view)
    if same:
        assert borrowed > 2.0
    else:
        assert borrowed < 2.5  # the base prior (2) and next to nothing from 'plain'


def test_a_new_task_type_barely_trusts_a_similar_name() -> None:
    """No shared evidence yet: a similar name lends at most ``similarity_strength`` × ½."""
    view = ReliabilityView(LearningConfig(time_buckets="none"), similarity=lambda a, b: 0.9)
    for n in range(50):
        view.observe("helm", n % 10 != 0, context_class="chart")
    (prior,) = view.priors(tool="helm", context_class="chart")
    fresh = view.recommend(task_type="lambda", tools=["helm"], strategy="greedy")[0]
    assert prior.rate > 0.85
    assert fresh.rate < 0.75  # 3 × 0.47 pseudo-observations at 90 % over the base prior
