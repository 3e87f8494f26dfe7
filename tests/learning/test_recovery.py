"""A tool reset by a break is re-tried on a schedule and gets its record back once it works."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolwise.errors import InvalidArgumentError
from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.recovery import Recovery, RetrySchedule

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import FakeClock

SCHEDULE = RetrySchedule(first_calls=8, max_calls=64)
TIMED = RetrySchedule(first_calls=8, max_calls=64, first_gap=900.0)


def _recovery(p_old: float = 0.9, schedule: RetrySchedule = SCHEDULE) -> Recovery:
    return Recovery(
        0.0, 0, p_old=p_old, schedule=schedule, threshold=math.log(100.0), prior=(1.0, 1.0)
    )


def _break(view: ReliabilityView, clock: FakeClock, tool: str = "A") -> None:
    """Fifty good calls a minute apart, then four failures: a downward change."""
    for n in range(50):
        clock.advance()
        view.observe(tool, n % 10 != 0, context_class="deploy")
    for _ in range(4):
        clock.advance()
        view.observe(tool, False, context_class="deploy")


def test_the_first_re_try_waits_for_calls_not_time() -> None:
    """Due after eight calls of the task type, however little time passed."""
    recovery = _recovery()
    assert not recovery.due(1e9, 7)
    assert recovery.due(1.0, 8)


def test_an_opt_in_time_wait_adds_to_the_call_wait() -> None:
    """With ``retry_after`` 15 minutes, due after 15 minutes *and* eight calls."""
    recovery = _recovery(schedule=TIMED)
    assert not recovery.due(899.0, 100)
    assert not recovery.due(10_000.0, 7)
    assert recovery.due(900.0, 8)


def test_failed_re_tries_double_the_wait_up_to_the_cap() -> None:
    """In calls 16, 32, 64, 64, 64 …"""
    recovery = _recovery()
    calls, gaps = 8, []
    for _ in range(5):
        recovery.update(0.0, 1.0, t=0.0, calls=calls, schedule=SCHEDULE, live=(0.0, 4.0))
        gaps.append(recovery.due_calls - calls)
        calls = int(recovery.due_calls)
    assert gaps == [16.0, 32.0, 64.0, 64.0, 64.0]


def test_a_successful_re_try_makes_the_next_due_at_once() -> None:
    """A tool that works again gets a few calls in a row."""
    recovery = _recovery()
    recovery.update(1.0, 0.0, t=900.0, calls=8, schedule=SCHEDULE, live=(0.0, 4.0))
    assert recovery.due(900.0, 8)


def test_a_failure_after_a_success_waits_the_first_wait_again() -> None:
    """A tool back at 64 % is not made to wait the capped 64 calls after each failure."""
    recovery = _recovery()
    calls = 8
    for _ in range(4):  # four failed re-tries: the wait is at its cap
        recovery.update(0.0, 1.0, t=0.0, calls=calls, schedule=SCHEDULE, live=(0.0, 4.0))
        calls = int(recovery.due_calls)
    recovery.update(1.0, 0.0, t=0.0, calls=calls, schedule=SCHEDULE, live=(1.0, 8.0))
    recovery.update(0.0, 1.0, t=0.0, calls=calls, schedule=SCHEDULE, live=(1.0, 8.0))
    assert recovery.due_calls - calls == 8.0


def test_a_patient_schedule_keeps_re_trying_while_the_run_leans_to_back() -> None:
    """With ``retry_patience``, a failure after a successful re-try (the restore score still
    above zero) leaves the next re-try due at once; the default waits the first wait."""
    patient = RetrySchedule(first_calls=8, max_calls=64, patient=True)
    waits = []
    for schedule in (patient, SCHEDULE):
        recovery = _recovery(p_old=0.5, schedule=schedule)
        recovery.update(1.0, 0.0, t=0.0, calls=8, schedule=schedule, live=(0.0, 4.0))
        recovery.update(0.0, 1.0, t=0.0, calls=8, schedule=schedule, live=(1.0, 4.0))
        assert recovery.score > 0.0
        waits.append(recovery.due_calls - 8)
    assert waits == [0.0, 8.0]


def test_a_patient_schedule_backs_off_once_the_run_says_broken() -> None:
    """Failures that bring the restore score back to zero double the wait, as by default."""
    patient = RetrySchedule(first_calls=8, max_calls=64, patient=True)
    recovery = _recovery(p_old=0.5, schedule=patient)
    for _ in range(2):
        recovery.update(0.0, 1.0, t=0.0, calls=8, schedule=patient, live=(0.0, 4.0))
    assert recovery.score == 0.0
    assert recovery.due_calls > 8


def test_three_successes_restore_a_ninety_percent_tool() -> None:
    """Against four failures (p_new = 1/6), (0.9 · 6)³ ≈ 157 ≥ 100 on the third success."""
    recovery = _recovery()
    live = (0.0, 4.0)
    verdicts = []
    for _ in range(3):
        verdicts.append(recovery.update(1.0, 0.0, t=1_000.0, calls=9, schedule=SCHEDULE, live=live))
        live = (live[0] + 1.0, live[1])
    assert verdicts == [False, False, True]


@given(outcomes=st.lists(st.booleans(), max_size=60), p_old=st.floats(0.55, 0.99))
def test_the_restore_score_never_goes_negative(outcomes: list[bool], p_old: float) -> None:
    """The CUSUM floor: however long the broken spell, the score restarts from zero."""
    recovery = _recovery(p_old)
    live = (0.0, 4.0)
    for n, success in enumerate(outcomes):
        s, f = (1.0, 0.0) if success else (0.0, 1.0)
        recovery.update(s, f, t=float(n), calls=n, schedule=SCHEDULE, live=live)
        live = (live[0] + s, live[1] + f)
        assert recovery.score >= 0.0


def test_a_broken_tool_is_re_tried_then_restored_when_it_works(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """After its break, the next successes of a reset tool bring its old record back."""
    _break(view, clock)
    (reset,) = view.priors(tool="A")
    for _ in range(3):
        clock.advance(timedelta(minutes=20))
        restored = view.observe("A", True, context_class="deploy")
    assert reset.rate < 0.3
    assert restored.rate > 0.8
    assert restored.observations > 50  # the archived record is back
    assert view.stats()["restored"] >= 1


def test_a_tool_limping_at_half_is_not_restored_by_a_lucky_streak(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """The restore test compares with the reset record as it learns: 50 % is not 'back'."""
    _break(view, clock)
    for n in range(12):
        clock.advance(timedelta(minutes=20))
        view.observe("A", n % 2 == 0, context_class="deploy")
    for _ in range(3):
        clock.advance(timedelta(minutes=20))
        prior = view.observe("A", True, context_class="deploy")
    assert view.stats().get("restored", 0) == 0
    assert prior.rate < 0.75


def test_a_due_re_try_is_explained(view: ReliabilityView, clock: FakeClock) -> None:
    """The re-try goes to a tool whose old record would win, and says it is a re-check."""
    for _ in range(20):
        view.observe("B", True, context_class="deploy")
        view.observe("B", False, context_class="deploy")
    _break(view, clock)
    for _ in range(8):  # the first re-try is due after eight calls of the task type
        clock.advance(timedelta(minutes=10))
        view.observe("B", True, context_class="deploy")
    top = view.recommend(task_type="deploy", tools=["A", "B"], seed=1)[0]
    assert top.tool == "A"
    assert "re-tried: due for a re-check since it broke" in top.reason


def test_no_re_try_before_it_is_due(view: ReliabilityView, clock: FakeClock) -> None:
    """Right after the break the reset tool is not drawn back by the schedule."""
    for _ in range(20):
        view.observe("B", True, context_class="deploy")
        view.observe("B", False, context_class="deploy")
    _break(view, clock)
    picks = [
        view.recommend(task_type="deploy", tools=["A", "B"], seed=s)[0].tool for s in range(50)
    ]
    assert picks.count("A") <= 5


def test_re_tries_can_be_switched_off(clock: FakeClock) -> None:
    """retry_broken=False: a reset tool waits for Thompson sampling's luck, as before."""
    view = ReliabilityView(LearningConfig(retry_broken=False), clock=clock)
    _break(view, clock)
    for _ in range(3):
        clock.advance(timedelta(minutes=20))
        prior = view.observe("A", True, context_class="deploy")
    assert view.stats().get("restored", 0) == 0
    assert prior.observations == 7


def test_the_schedule_is_validated() -> None:
    """A cap shorter than the first wait is rejected naming retry_max_calls."""
    with pytest.raises(InvalidArgumentError) as caught:
        LearningConfig(retry_after_calls=10, retry_max_calls=5)
    assert caught.value.field == "retry_max_calls"


def _leader_breaks_after_a_re_try_backed_off(config: LearningConfig, clock: FakeClock) -> str:
    """A broke and failed three re-tries (next one 64 calls away); then B, the leader, breaks."""
    view = ReliabilityView(config, clock=clock)
    _break(view, clock)
    for _ in range(3):
        clock.advance()
        view.observe("A", False, context_class="deploy")
    for n in range(40):
        clock.advance()
        view.observe("B", n % 10 != 0, context_class="deploy")
    for _ in range(5):
        clock.advance()
        view.observe("B", False, context_class="deploy")
    top = view.recommend(task_type="deploy", tools=["A", "B"], seed=1)[0]
    return top.tool if "re-tried" in top.reason else "none re-tried"


def test_a_tool_that_broke_earlier_is_re_tried_when_the_leader_breaks(
    make_clock: Callable[..., FakeClock],
) -> None:
    """The leader's break says the task's world changed: the tool that broke before may be
    back, so its re-try is due at once instead of after its backed-off wait."""
    default = LearningConfig()
    assert _leader_breaks_after_a_re_try_backed_off(default, make_clock()) == "A"
    unchanged = LearningConfig(retry_on_leader_break=False)
    assert _leader_breaks_after_a_re_try_backed_off(unchanged, make_clock()) == "none re-tried"
