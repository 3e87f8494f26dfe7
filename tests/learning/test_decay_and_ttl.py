"""Evidence keeps without a half-life; an opt-in half-life fades it; TTLs take it out."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.models import ToolOutcome

if TYPE_CHECKING:
    from conftest import FakeClock


@pytest.fixture
def decaying(clock: FakeClock) -> ReliabilityView:
    """A view with the opt-in wall-clock half-life of 14 days."""
    return ReliabilityView(LearningConfig(half_life=timedelta(days=14)), clock=clock)


def test_by_default_evidence_does_not_fade_with_time(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """A tool called once a month keeps every outcome: quiet agents learn like busy ones."""
    for _ in range(10):
        view.observe("a", False)
        clock.advance(timedelta(days=30))
    (prior,) = view.priors()
    assert prior.effective_observations == pytest.approx(10.0)


def test_evidence_halves_after_one_half_life(decaying: ReliabilityView, clock: FakeClock) -> None:
    """With half_life=14 days, after 14 days ten observations are worth five."""
    view = decaying
    for _ in range(10):
        view.observe("a", False)
    clock.advance(timedelta(days=14))
    (prior,) = view.priors()
    assert prior.effective_observations == pytest.approx(5.0)
    assert prior.observations == 10  # the raw count does not decay


def test_a_once_broken_tool_drifts_back_toward_the_prior(
    decaying: ReliabilityView, clock: FakeClock
) -> None:
    """With a half-life, half a year after its failures a tool's rate is back near 50 %."""
    view = decaying
    for _ in range(10):
        view.observe("ansible_run", False)
    (fresh,) = view.priors()
    clock.advance(timedelta(days=180))
    (stale,) = view.priors()
    assert fresh.rate < 0.1
    assert stale.rate == pytest.approx(0.5, abs=0.02)


def test_late_arrivals_are_decayed_by_their_own_age(
    decaying: ReliabilityView, clock: FakeClock
) -> None:
    """An outcome timestamped a half-life ago counts half, whatever order it arrives in."""
    view = decaying
    view.observe("a", True)
    view.observe("a", True, timestamp=clock.now - timedelta(days=14))
    (prior,) = view.priors()
    assert prior.effective_observations == pytest.approx(1.5)


def test_outcomes_stop_counting_when_their_ttl_lapses(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """Failures with a one-hour TTL vanish after that hour; the success without TTL stays."""
    view.observe_outcome(ToolOutcome(tool="a", outcome="success", timestamp=clock.now))
    for _ in range(3):
        view.observe_outcome(
            ToolOutcome(
                tool="a",
                outcome="failure",
                timestamp=clock.now,
                expires_at=clock.now + timedelta(hours=1),
            )
        )
    (before,) = view.priors()
    clock.advance(timedelta(hours=1, minutes=1))
    (after,) = view.priors()
    assert before.failures == pytest.approx(3.0)
    assert after.failures == pytest.approx(0.0, abs=1e-9)
    assert after.successes == pytest.approx(1.0, rel=1e-2)
    assert after.observations == 1


def test_ttl_expiry_removes_the_decayed_amount(clock: FakeClock) -> None:
    """An expiring outcome removes exactly its decayed mass, leaving younger evidence intact."""
    view = ReliabilityView(LearningConfig(half_life=timedelta(days=1)), clock=clock)
    view.observe_outcome(
        ToolOutcome(
            tool="a",
            outcome="failure",
            timestamp=clock.now,
            expires_at=clock.now + timedelta(days=2),
        )
    )
    clock.advance(timedelta(days=1))
    view.observe_outcome(ToolOutcome(tool="a", outcome="failure", timestamp=clock.now))
    clock.advance(timedelta(days=1, minutes=1))
    (prior,) = view.priors()
    assert prior.failures == pytest.approx(0.5, rel=1e-3)  # only the second, one day old


def test_the_ttl_schedule_grows_with_contexts_not_with_outcomes(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """5,000 outcomes with the default 30-day TTL over 30 days, one task type: the schedule
    keeps at most ~64 expiry slots per aggregate (the task type's and the tool's), however
    many outcomes fill them."""
    ttl = timedelta(days=30)
    step = ttl / 5_000
    for _ in range(5_000):
        now = clock.advance(step)
        view.observe_outcome(
            ToolOutcome(
                tool="a", task_type="deploy", outcome="success", timestamp=now, expires_at=now + ttl
            )
        )
    assert view.stats()["ttl_entries"] <= 2 * 64
