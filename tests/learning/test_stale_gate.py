"""The fading gate: passed-over records fade only where the task type has *really* changed.

With ``stale_confirm_delta`` a change opens the gate only when the record before it and the
run after it disagree at that GLR level (``learning/strength.py``): a chance streak of a
steady tool, or an outage, leave every record whole; a confirmed slide starts the fading;
``stale_steady_calls`` closes the gate again once the task type has been steady that long.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.strength import confirms

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _view(**overrides: object) -> ReliabilityView:
    """γ = 0.99 behind the confirmed gate; holds and the peer prior off, so only fading moves
    the passed-over record's weight."""
    settings: dict[str, object] = {
        "stale_discount": 0.99,
        "stale_after_change": True,
        "stale_confirm_delta": 1e-4,
        "peer_prior_strength": 0.0,
        "hold_strength": 0.0,
    }
    settings.update(overrides)
    return ReliabilityView(LearningConfig.model_validate(settings))


def _b_on_record(view: ReliabilityView) -> None:
    """B: 40 calls at 40 % in ``deploy``."""
    for i in range(40):
        view.observe("B", i % 5 < 2, context_class="deploy")


def _b_weight(view: ReliabilityView) -> float:
    (prior,) = view.priors(tool="B", context_class="deploy")
    return prior.effective_observations


def _a_steady(view: ReliabilityView, calls: int) -> None:
    """A at 90 %: one failure in ten."""
    for i in range(calls):
        view.observe("A", i % 10 != 9, context_class="deploy")


def _slides(view: ReliabilityView, tool: str = "A") -> None:
    """``tool`` at 80 % for 300 calls, then at 40 % for 150: a slide the slow scan confirms."""
    for i in range(300):
        view.observe(tool, i % 5 != 4, context_class="deploy")
    for i in range(150):
        view.observe(tool, i % 5 < 2, context_class="deploy")


def test_a_chance_streak_of_a_steady_tool_does_not_open_the_gate() -> None:
    """Four failures in a row of a 90 % tool fire the fast test but are no confirmed change:
    after 400 more calls of A, B's 40 calls still weigh 40."""
    view = _view()
    _b_on_record(view)
    _a_steady(view, 300)
    for _ in range(4):
        view.observe("A", False, context_class="deploy")
    _a_steady(view, 400)
    assert view.stats()["changes_detected"] >= 1
    assert _b_weight(view) >= 39.0


def test_any_change_opens_the_ungated_after_change_clock() -> None:
    """The same streak opens the plain ``stale_after_change`` gate: B fades."""
    view = _view(stale_confirm_delta=None)
    _b_on_record(view)
    _a_steady(view, 300)
    for _ in range(4):
        view.observe("A", False, context_class="deploy")
    _a_steady(view, 400)
    assert _b_weight(view) < 5.0


def test_an_outage_does_not_open_the_gate() -> None:
    """A, B, C and D (90, 80, 80, 80 %) failing together, twice each, are an outage, not a
    change of the task type: B, C and D keep their records while A is used afterwards."""
    view = _view()
    for tool in ("B", "C", "D"):
        for i in range(40):
            view.observe(tool, i % 5 != 4, context_class="deploy", timestamp=START)
    at = START + timedelta(hours=1)
    for i in range(300):
        view.observe("A", i % 10 != 9, context_class="deploy", timestamp=at)
    at += timedelta(minutes=1)
    for tool in ("A", "B", "C", "D", "A", "B", "C", "D"):
        view.observe(tool, False, context_class="deploy", timestamp=at)
    at += timedelta(minutes=30)
    for i in range(400):
        view.observe("A", i % 10 != 9, context_class="deploy", timestamp=at)
    assert view.infra_events()
    (prior,) = view.priors(tool="C", context_class="deploy")
    assert prior.effective_observations >= 39.0


def test_a_confirmed_slide_opens_the_gate() -> None:
    """A slides from 80 % to 40 %: the scan's change clears the strict level and B fades."""
    view = _view()
    _b_on_record(view)
    _slides(view)
    _a_steady(view, 200)
    assert _b_weight(view) < 10.0


def test_the_gate_closes_once_the_task_type_is_steady() -> None:
    """With ``stale_steady_calls`` = 50, B stops fading 50 calls after the last confirmed
    change: 200 or 600 further calls of A, steady at its new 40 %, leave it the same weight."""

    def weight_after(calls: int) -> float:
        view = _view(stale_steady_calls=50)
        _b_on_record(view)
        _slides(view)
        for i in range(calls):
            view.observe("A", i % 5 < 2, context_class="deploy")
        return _b_weight(view)

    faded = weight_after(200)
    assert faded < 39.0
    assert abs(weight_after(600) - faded) < 1e-6


def test_a_split_confirms_only_when_both_sides_disagree_strongly() -> None:
    """300 outcomes at 90 % then four failures: a fast-test break, not confirmed at 10⁻²;
    300 at 80 % then 100 at 40 % is confirmed even at 10⁻⁶."""
    assert not confirms((270.0, 30.0), (0.0, 4.0), 1e-2)
    assert confirms((240.0, 60.0), (40.0, 60.0), 1e-6)


def test_a_retroactive_gate_fades_records_made_before_the_change() -> None:
    """``stale_retroactive``: once A's slide is confirmed, B's record (made before it) fades
    by every call since B's own last one, not only by those after the opening."""

    def b_weight(*, retroactive: bool) -> float:
        view = _view(stale_retroactive=retroactive)
        _b_on_record(view)
        _slides(view)
        return _b_weight(view)

    assert b_weight(retroactive=True) < 1.0
    assert b_weight(retroactive=False) > 10.0


def test_a_two_tool_gate_stays_shut_for_one_tools_confirmed_change() -> None:
    """``stale_confirm_tools`` = 2: A's confirmed slide alone (a break moves one tool) leaves
    B's 40 calls whole through 200 more calls of A."""
    view = _view(stale_confirm_tools=2)
    _b_on_record(view)
    _slides(view)
    _a_steady(view, 200)
    assert _b_weight(view) >= 39.0


def test_a_two_tool_gate_opens_once_a_second_tool_changes() -> None:
    """A and then C slide (a drift moves every tool): with both confirmed, B fades."""
    view = _view(stale_confirm_tools=2)
    _b_on_record(view)
    _slides(view)
    _slides(view, "C")
    _a_steady(view, 200)
    assert _b_weight(view) < 10.0


def test_the_gate_closes_when_its_confirmed_change_is_taken_back() -> None:
    """``stale_close_on_undo``: A slides (the gate opens), then comes back to 80 % and its
    old record is restored; from then on B keeps its weight, where without the option it
    goes on fading."""

    def weights(*, close: bool) -> tuple[float, float]:
        view = _view(stale_close_on_undo=close)
        _b_on_record(view)
        _slides(view)
        for i in range(200):
            view.observe("A", i % 5 != 4, context_class="deploy")
        assert view.stats()["restored"] >= 1
        first = _b_weight(view)
        _a_steady(view, 200)
        return first, _b_weight(view)

    first, later = weights(close=True)
    assert abs(later - first) < 1e-6
    first, later = weights(close=False)
    assert later < first - 1.0
