"""The fast test's long window: a weak tool that breaks is found without the slow scan.

Ten failures in a row are improbable enough to flag a break only for a tool above 56 %
(``0.44^10 < change_delta``); a 42 % tool that collapses used to wait for the slow scan,
about 27 failures. With ``change_long_window`` the fast test also looks at runs of up to that
many outcomes, held to the stricter ``change_long_delta`` because more runs are tested.
"""

from __future__ import annotations

import random

from toolwise.learning import LearningConfig, ReliabilityView

LONG = {"change_long_window": 20, "change_long_delta": 3e-5}


def _failures_to_notice(rate: float, seed: int, **config: float) -> int:
    """A tool at ``rate`` for 300 calls, then only failures: failures until a change is found."""
    view = ReliabilityView(LearningConfig(time_buckets="none", **config))  # type: ignore[arg-type]
    rng = random.Random(seed)
    for _ in range(300):
        view.observe("a", rng.random() < rate, context_class="deploy")
    before = view.stats().get("changes_detected", 0)  # a chance alarm may have come first
    for failures in range(1, 61):
        view.observe("a", False, context_class="deploy")
        if view.stats().get("changes_detected", 0) > before:
            return failures
    return 61


def test_a_weak_tool_that_breaks_is_noticed_within_twenty_failures() -> None:
    """A 45 % tool broken to 0 % is noticed after at most 20 failures with the long window
    in every run; the ten-outcome test alone leaves it to the slow scan (over 20)."""
    long = [_failures_to_notice(0.45, seed, **LONG) for seed in range(5)]
    short = [_failures_to_notice(0.45, seed) for seed in range(5)]
    assert max(long) <= 20
    assert min(short) > 20


def test_a_strong_tool_is_noticed_as_fast_as_before() -> None:
    """A 90 % tool is still flagged by its fourth or fifth failure: short runs keep their level."""
    long = [_failures_to_notice(0.9, seed, **LONG) for seed in range(5)]
    short = [_failures_to_notice(0.9, seed) for seed in range(5)]
    assert long == short
    assert max(long) <= 5


def _false_alarms(rate: float, **config: float) -> int:
    """Fast-test changes over 5 × 4,000 outcomes of a tool steady at ``rate``."""
    alarms = 0
    for seed in range(5):
        view = ReliabilityView(LearningConfig(time_buckets="none", **config))  # type: ignore[arg-type]
        rng = random.Random(seed)
        for _ in range(4_000):
            view.observe("a", rng.random() < rate, context_class="deploy")
        stats = view.stats()
        alarms += stats.get("changes_detected", 0) - stats.get("changes_scanned", 0)
    return alarms


def test_a_steady_tool_raises_at_most_one_false_alarm_per_thousand_outcomes() -> None:
    """At 20 %, 40 %, 60 % and 80 %, with the long window: ≤ 20 alarms in 20,000 outcomes
    (the ten-outcome test alone raises 4–8 here)."""
    for rate in (0.2, 0.4, 0.6, 0.8):
        assert _false_alarms(rate, **LONG) <= 20


def _failures_after_change(*, other_broke: bool) -> int:
    """With the gate: tool A at 45 % breaks; before it, tool C broke if ``other_broke``."""
    config = LearningConfig(time_buckets="none", change_long_after_change=True, **LONG)  # type: ignore[arg-type]
    view = ReliabilityView(config)
    if other_broke:
        for i in range(36):
            view.observe("C", i < 30, context_class="deploy")
    rng = random.Random(1)
    for _ in range(300):
        view.observe("A", rng.random() < 0.45, context_class="deploy")
    before = view.stats().get("changes_detected", 0)
    for failures in range(1, 61):
        view.observe("A", False, context_class="deploy")
        if view.stats().get("changes_detected", 0) > before:
            return failures
    return 61


def test_with_the_gate_the_long_window_waits_for_a_change_in_the_task_type() -> None:
    """``change_long_after_change``: the long runs count only once the task type has changed
    (here C broke first); in a task type that never changed the break waits for the scan."""
    assert _failures_after_change(other_broke=True) <= 20
    assert _failures_after_change(other_broke=False) > 20
