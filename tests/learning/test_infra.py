"""Correlated failures: several tools failing together are an outage, not bad tools."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from toolwise.learning import ReliabilityView
from toolwise.models import ToolOutcome

if TYPE_CHECKING:
    from conftest import FakeClock

RATES = {"A": 0.95, "B": 0.9, "C": 0.85, "D": 0.8}


def _history(view: ReliabilityView, clock: FakeClock, env: str = "prod") -> None:
    """Forty calls per tool, spread over days, failing at each tool's rate, never together."""
    for n in range(40):
        clock.advance(timedelta(hours=1))
        for offset, (tool, rate) in enumerate(RATES.items()):
            success = ((n + 10 * offset) * 37 % 100) / 100 < rate
            view.observe(tool, success, context_class="deploy", environment=env)
    clock.advance(timedelta(hours=2))


def _fail(view: ReliabilityView, clock: FakeClock, tool: str, env: str = "prod") -> None:
    clock.advance(timedelta(minutes=3))
    view.observe(tool, False, context_class="deploy", environment=env)


def _rates(view: ReliabilityView) -> dict[str, float]:
    return {p.tool: p.rate for p in view.priors(environment="prod")}


def test_a_correlated_outage_does_not_demote_tools(view: ReliabilityView, clock: FakeClock) -> None:
    """Three tools failing within 30 minutes leave every rate where it was."""
    _history(view, clock)
    before = _rates(view)
    for tool in ["A", "B", "C"]:
        _fail(view, clock, tool)
    after = _rates(view)
    assert after == pytest.approx(before, abs=1e-3)


def test_a_correlated_outage_yields_an_infra_event(view: ReliabilityView, clock: FakeClock) -> None:
    """The outage is listed with its tools, failures and time span."""
    _history(view, clock)
    start = clock.now
    for tool in ["A", "B", "C"]:
        _fail(view, clock, tool)
    (event,) = view.infra_events("default")
    assert event.tools == ("A", "B", "C")
    assert event.failures == 3
    assert event.environment == "prod"
    assert start < event.started_at <= event.ended_at == clock.now
    assert event.active


def test_failures_during_an_outage_are_not_charged(view: ReliabilityView, clock: FakeClock) -> None:
    """Once an outage is declared, further failures join it instead of counting."""
    _history(view, clock)
    for tool in ["A", "B", "C"]:
        _fail(view, clock, tool)
    before = _rates(view)
    _fail(view, clock, "D")
    _fail(view, clock, "A")
    assert _rates(view) == pytest.approx(before, abs=1e-3)
    (event,) = view.infra_events()
    assert (event.tools, event.failures) == (("A", "B", "C", "D"), 5)


def test_recommendations_carry_the_infra_alert(view: ReliabilityView, clock: FakeClock) -> None:
    """While an outage is active, every recommendation says so."""
    _history(view, clock)
    for tool in ["A", "B", "C"]:
        _fail(view, clock, tool)
    ranked = view.recommend(task_type="deploy", tools=list(RATES), environment="prod", seed=1)
    assert all(r.infra_alert and "infrastructure outage in prod" in r.infra_alert for r in ranked)


def test_the_infra_alert_stays_out_of_other_environments(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """An outage in prod does not alert recommendations for staging."""
    _history(view, clock)
    for tool in ["A", "B", "C"]:
        _fail(view, clock, tool)
    ranked = view.recommend(task_type="deploy", tools=list(RATES), environment="staging", seed=1)
    assert all(r.infra_alert is None for r in ranked)


def test_a_success_ends_the_outage(view: ReliabilityView, clock: FakeClock) -> None:
    """After a success the event is no longer active and failures count again."""
    _history(view, clock)
    for tool in ["A", "B", "C"]:
        _fail(view, clock, tool)
    clock.advance(timedelta(minutes=1))
    view.observe("D", True, context_class="deploy", environment="prod")
    before = _rates(view)["A"]
    _fail(view, clock, "A")
    (event,) = view.infra_events()
    assert not event.active
    assert _rates(view)["A"] < before


def test_the_alert_fades_a_window_after_the_outage(view: ReliabilityView, clock: FakeClock) -> None:
    """Thirty minutes after the last failure the alert is gone and the event inactive."""
    _history(view, clock)
    for tool in ["A", "B", "C"]:
        _fail(view, clock, tool)
    clock.advance(timedelta(minutes=31))
    ranked = view.recommend(task_type="deploy", tools=["A"], environment="prod")
    assert ranked[0].infra_alert is None
    assert not view.infra_events()[0].active


def test_two_failing_tools_are_charged_as_usual(view: ReliabilityView, clock: FakeClock) -> None:
    """Below infra_min_tools (3) failing tools, failures are the tools' own."""
    _history(view, clock)
    before = _rates(view)
    for tool in ["A", "B", "A", "B"]:
        _fail(view, clock, tool)
    after = _rates(view)
    assert view.infra_events() == []
    assert after["A"] < before["A"] - 0.02
    assert after["B"] < before["B"] - 0.02


def test_failures_of_a_minority_of_recent_tools_are_not_an_outage(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """Three failing tools out of eight used recently are not most of them: no event."""
    _history(view, clock)
    for tool in ["E", "F", "G", "H"]:
        view.observe(tool, True, context_class="deploy", environment="prod")
    view.observe("D", True, context_class="deploy", environment="prod")
    for tool in ["A", "B", "C"]:
        _fail(view, clock, tool)
    assert view.infra_events() == []


def test_failures_spread_beyond_the_window_are_not_an_outage(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """Three tools failing an hour apart are three separate problems."""
    _history(view, clock)
    for tool in ["A", "B", "C"]:
        clock.advance(timedelta(hours=1))
        view.observe(tool, False, context_class="deploy", environment="prod")
    assert view.infra_events() == []


def test_an_outage_undoes_a_reset_it_caused(view: ReliabilityView, clock: FakeClock) -> None:
    """A tool reset by four failures gets its record back when they prove to be an outage."""
    _history(view, clock)
    before = _rates(view)["A"]
    for _ in range(4):
        _fail(view, clock, "A")
    reset = view.priors(tool="A", environment="prod")[0]
    _fail(view, clock, "B")
    _fail(view, clock, "C")
    restored = view.priors(tool="A", environment="prod")[0]
    assert reset.changes == 1
    assert reset.rate < 0.3
    assert restored.changes == 0
    assert restored.rate == pytest.approx(before, abs=1e-3)


def test_outage_failures_are_charged_again_never_twice(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """Each failure is reverted once: rates after an outage and its end match the baseline."""
    _history(view, clock)
    before = _rates(view)
    for tool in ["A", "B", "C", "D"]:
        _fail(view, clock, tool)
    clock.advance(timedelta(hours=2))
    for tool in ["A", "B", "C"]:
        _fail(view, clock, tool)
    assert len(view.infra_events()) == 2
    assert _rates(view) == pytest.approx(before, abs=2e-3)


def test_an_outage_failure_with_a_ttl_is_not_removed_twice(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """A failure reverted by an outage and later expiring leaves the record as it was."""
    _history(view, clock)
    before = _rates(view)
    for tool in ["A", "B", "C"]:
        clock.advance(timedelta(minutes=3))
        view.observe_outcome(
            ToolOutcome(
                tool=tool,
                task_type="deploy",
                environment="prod",
                outcome="failure",
                timestamp=clock.now,
                expires_at=clock.now + timedelta(hours=1),
            )
        )
    clock.advance(timedelta(hours=2))
    assert _rates(view) == pytest.approx(before, abs=5e-3)


def test_an_expired_failure_blamed_on_an_outage_is_not_removed_twice(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """A failure whose TTL already took it out is not subtracted again by an outage."""
    _history(view, clock)
    before = _rates(view)
    clock.advance(timedelta(minutes=3))
    view.observe_outcome(
        ToolOutcome(
            tool="A",
            task_type="deploy",
            environment="prod",
            outcome="failure",
            timestamp=clock.now,
            expires_at=clock.now + timedelta(minutes=2),
        )
    )
    clock.advance(timedelta(minutes=5))
    assert _rates(view)["A"] == pytest.approx(before["A"], abs=1e-3)  # expired
    _fail(view, clock, "B")
    _fail(view, clock, "C")
    assert len(view.infra_events()) == 1
    assert _rates(view) == pytest.approx(before, abs=1e-3)


def test_an_outage_is_recognised_after_it_reset_the_first_tools(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """Resets during the outage do not raise the 'usual' failure rate the chance test reads.

    A and B carry the history; C and D were tried only thrice. A and B fail five times each
    (both records reset, so their live evidence is nothing but outage failures), then C
    fails: judged on live records alone the run looks ordinary (q ≈ 0.8); with the archived
    records it is an outage, and both resets are undone.
    """
    for n in range(40):
        clock.advance(timedelta(hours=1))
        view.observe("A", n % 20 != 0, context_class="deploy", environment="prod")
        view.observe("B", n % 10 != 0, context_class="deploy", environment="prod")
    for tool in ["C", "D"]:
        for success in (True, False, False):
            clock.advance(timedelta(hours=1))
            view.observe(tool, success, context_class="deploy", environment="prod")
    clock.advance(timedelta(hours=2))
    before = _rates(view)
    for tool in ["A"] * 5 + ["B"] * 5 + ["C"]:
        clock.advance(timedelta(minutes=2))
        view.observe(tool, False, context_class="deploy", environment="prod")
    (event,) = view.infra_events()
    assert event.tools == ("A", "B", "C")
    assert _rates(view) == pytest.approx(before, abs=1e-3)
