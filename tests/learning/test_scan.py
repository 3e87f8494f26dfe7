"""The slow change scan: a GLR test over a compressed history finds moderate, gradual changes."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.scan import History


@given(outcomes=st.lists(st.booleans(), min_size=1, max_size=600))
def test_the_history_keeps_every_outcome_in_few_blocks(outcomes: list[bool]) -> None:
    """Counts add up exactly; at most two blocks per size, so about 2 log₂ n blocks."""
    history = History()
    for success in outcomes:
        history.add(float(success), float(not success))
    assert len(history) == len(outcomes)
    assert sum(block[0] for block in history.blocks) == sum(outcomes)
    assert len(history.blocks) <= 2 * math.log2(len(outcomes)) + 2
    sizes = [block[2] for block in history.blocks]
    assert sizes == sorted(sizes, reverse=True)  # oldest (largest) first


def _slide(seed: int, before: float, after: float, n_before: int, n_after: int) -> dict[str, int]:
    """Outcomes of one tool at ``before`` then ``after``; returns the view's counters."""
    view = ReliabilityView(LearningConfig(time_buckets="none"))
    rng = random.Random(seed)
    for rate, count in ((before, n_before), (after, n_after)):
        for _ in range(count):
            view.observe("a", rng.random() < rate, context_class="deploy")
    return {k: v for k, v in view.stats().items() if isinstance(v, int)}


def test_a_slide_from_80_to_55_percent_is_found() -> None:
    """Too gradual for the ten-outcome fast test; the scan finds it within 300 outcomes."""
    found = sum(
        _slide(seed, 0.8, 0.55, 400, 300).get("changes_scanned", 0) >= 1 for seed in range(10)
    )
    assert found >= 8


def test_a_steady_tool_is_not_reset_by_the_scan() -> None:
    """20,000 outcomes at a steady 70 % (ten runs of 2,000): no false alarm from the scan."""
    alarms = sum(
        _slide(seed, 0.7, 0.7, 1_000, 1_000).get("changes_scanned", 0) for seed in range(10)
    )
    assert alarms == 0


def test_false_alarms_of_the_fast_test_are_undone() -> None:
    """A steady 90 % tool sometimes fails four times running (about once per 2,000 calls);
    the reset it causes is restored by the next successes, so its record is kept."""
    runs = [_slide(seed, 0.9, 0.9, 1_000, 1_000) for seed in range(10)]
    detected = sum(run.get("changes_detected", 0) for run in runs)
    restored = sum(run.get("restored", 0) for run in runs)
    assert detected - restored <= 1
