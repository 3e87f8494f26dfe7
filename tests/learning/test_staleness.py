"""Stale evidence: with ``stale_discount`` a tool passed over fades, the tool in use does not.

In a slow drift the tool that becomes the best is usually one the learner stopped choosing,
and its old record keeps it ranked low (``learning/staleness.py``). Counted in the task
type's calls, never in time.
"""

from __future__ import annotations

from toolwise.learning import LearningConfig, ReliabilityView


def _passed_over(discount: float, *, other_calls: int) -> tuple[float, float]:
    """B: 40 calls at 40 %; then A is called ``other_calls`` times. B's (rate, weight).

    Without the peer prior, which a faded record (under 8 observations) lets back in.
    """
    view = ReliabilityView(LearningConfig(stale_discount=discount, peer_prior_strength=0.0))
    for i in range(40):
        view.observe("B", i % 5 < 2, context_class="deploy")
    for _ in range(other_calls):
        view.observe("A", True, context_class="deploy")
    (prior,) = view.priors(tool="B", context_class="deploy")
    return prior.rate, prior.effective_observations


def test_a_passed_over_record_keeps_its_rate_but_loses_its_weight() -> None:
    """After 200 calls of A at γ = 0.99, B's 40 calls weigh about 40 · 0.99²⁰⁰ ≈ 5.4."""
    rate, weight = _passed_over(0.99, other_calls=200)
    assert 5.0 < weight < 6.0
    assert 0.35 < rate < 0.5


def test_by_default_nothing_fades() -> None:
    """The default (γ = 1) keeps B's whole record however long it is passed over."""
    _, weight = _passed_over(LearningConfig().stale_discount, other_calls=200)
    assert weight >= 40.0


def test_the_tool_in_use_keeps_its_whole_record() -> None:
    """A tool called every time is never passed over: 300 calls weigh 300 at γ = 0.99."""
    view = ReliabilityView(LearningConfig(stale_discount=0.99))
    for i in range(300):
        prior = view.observe("A", i % 10 != 0, context_class="deploy")
    assert prior.effective_observations >= 299.0


def test_calls_of_other_task_types_do_not_count() -> None:
    """B's record in ``deploy`` does not fade while A serves another task type."""
    view = ReliabilityView(LearningConfig(stale_discount=0.99))
    for i in range(40):
        view.observe("B", i % 5 < 2, context_class="deploy")
    for _ in range(200):
        view.observe("A", True, context_class="rollback")
    (prior,) = view.priors(tool="B", context_class="deploy")
    assert prior.effective_observations >= 39.0


def test_new_outcomes_outweigh_a_faded_record() -> None:
    """B (30 % on record, 60 calls) rose while A ran at 70 %: with fading, three successes of
    B lift it above 50 %; without, its old record holds it under 40 % (three successes are
    too few for the change test)."""

    def rate_after_rise(discount: float) -> float:
        view = ReliabilityView(LearningConfig(stale_discount=discount))
        for i in range(60):
            view.observe("B", i % 10 < 3, context_class="deploy")
        for i in range(400):
            view.observe("A", i % 10 < 7, context_class="deploy")
        for _ in range(3):
            prior = view.observe("B", True, context_class="deploy")
        return prior.rate

    assert rate_after_rise(0.99) > 0.5
    assert rate_after_rise(1.0) < 0.4


def _weight_after_a_change(*, changed: bool) -> float:
    """B: 40 calls at 40 %; A 50 calls; then, if ``changed``, A breaks (four failures, a
    detected change); then 200 more calls of A. B's weight with the gate on (γ = 0.99).

    Holds are off: they would set B's record aside at A's break by themselves.
    """
    config = LearningConfig(
        stale_discount=0.99, stale_after_change=True, peer_prior_strength=0.0, hold_strength=0.0
    )
    view = ReliabilityView(config)
    for i in range(40):
        view.observe("B", i % 5 < 2, context_class="deploy")
    for _ in range(50):
        view.observe("A", True, context_class="deploy")
    if changed:
        for _ in range(4):
            view.observe("A", False, context_class="deploy")
    for _ in range(200):
        view.observe("A", True, context_class="deploy")
    (prior,) = view.priors(tool="B", context_class="deploy")
    return prior.effective_observations


def test_with_the_gate_a_task_type_that_never_changed_forgets_nothing() -> None:
    """``stale_after_change``: 250 calls of a steady A leave B's 40 calls whole."""
    assert _weight_after_a_change(changed=False) >= 39.0


def test_with_the_gate_fading_starts_at_the_first_change() -> None:
    """Once A's break is detected, B's record fades with the calls after it."""
    assert _weight_after_a_change(changed=True) < 10.0
