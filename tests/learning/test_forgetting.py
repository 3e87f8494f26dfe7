"""Memory counted in outcomes: the same outcomes teach the same thing at any traffic rate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

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
