"""Drift fading: a record fades while its recent outcomes disagree with it, never otherwise.

With ``drift_window`` a task-type record compares its last outcomes with the rest of itself
(``learning/drift.py``); a steady tool keeps its whole record, a sliding one forgets its past
until its estimate follows the slide.
"""

from __future__ import annotations

import random

from toolwise.learning import LearningConfig, ReliabilityView


def _view(window: int) -> ReliabilityView:
    """γ = 0.9; change tests out of the way (so only the fading moves the record)."""
    config = LearningConfig(
        drift_window=window,
        drift_discount=0.9,
        change_delta=1e-12,
        change_scan_delta=1e-12,
        hold_strength=0.0,
    )
    return ReliabilityView(config)


def _a(view: ReliabilityView, calls: int, *, every: int, failing: int) -> None:
    """``calls`` calls of A, ``failing`` of every ``every`` failing."""
    for i in range(calls):
        view.observe("A", i % every >= failing, context_class="deploy")


def _a_prior(view: ReliabilityView) -> tuple[float, float]:
    (prior,) = view.priors(tool="A", context_class="deploy")
    return prior.rate, prior.effective_observations


def test_a_steady_record_is_never_faded() -> None:
    """600 calls of A at 80 %, in a fixed pattern: all 600 still count."""
    view = _view(50)
    _a(view, 600, every=5, failing=1)
    rate, weight = _a_prior(view)
    assert weight >= 599.0
    assert abs(rate - 0.8) < 0.01


def test_a_sliding_record_forgets_its_past() -> None:
    """A at 90 % for 400 calls, then at 40 % for 60: with a window of 50 its record shrinks
    to about the window and its estimate follows the slide (under 70 %); without, 400 calls at
    90 % hold it above 80 % (the change tests, held off here, would fire later)."""

    def prior_after_slide(window: int) -> tuple[float, float]:
        view = _view(window)
        _a(view, 400, every=10, failing=1)
        _a(view, 60, every=5, failing=3)
        return _a_prior(view)

    rate, weight = prior_after_slide(50)
    assert rate < 0.7
    assert weight < 60.0
    assert prior_after_slide(0)[0] > 0.8


def test_chance_runs_of_a_steady_tool_cost_little_of_its_record() -> None:
    """A at 80 %, 2,000 random calls, eight seeds, the default window test (100 outcomes,
    6 nats): chance runs fade a record now and then, but none loses half of it."""
    weights = []
    for seed in range(8):
        rng = random.Random(seed)
        view = ReliabilityView(LearningConfig(drift_window=100))
        for _ in range(2000):
            view.observe("A", rng.random() < 0.8, context_class="deploy")
        weights.append(_a_prior(view)[1])
    assert min(weights) > 1000.0
    assert sorted(weights)[4] > 1990.0
