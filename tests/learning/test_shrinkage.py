"""How much a context borrows is learnt: little where the tool's contexts disagree."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.dispersion import agreement, concentration
from toolwise.learning.shrinkage import Levels, combine, lend

if TYPE_CHECKING:
    from conftest import FakeClock

masses = st.tuples(st.floats(0.0, 500.0), st.floats(0.0, 500.0))


def test_contexts_that_agree_have_no_measurable_spread() -> None:
    """Three contexts at 90 % (up to sampling noise) give an unbounded concentration."""
    assert concentration([(90.0, 10.0), (45.0, 5.0), (27.0, 3.0)]) == math.inf


def test_contexts_that_disagree_have_a_small_concentration() -> None:
    """A tool at 96 % on chart deploys and 10 % elsewhere: borrow almost nothing."""
    learnt = concentration([(48.0, 2.0), (5.0, 45.0)])
    assert learnt is not None
    assert learnt < 0.5


def test_one_context_says_nothing_about_spread() -> None:
    """With one context (or under ten calls in all) the concentration is unknown."""
    assert concentration([(9.0, 1.0)]) is None
    assert concentration([(3.0, 1.0), (1.0, 2.0)]) is None


@given(own=masses, loan=masses)
def test_agreement_is_a_share(own: tuple[float, float], loan: tuple[float, float]) -> None:
    """A key keeps between none and all of a loan."""
    assert 0.0 <= agreement(own, loan, (1.0, 1.0)) <= 1.0


def test_no_own_evidence_keeps_the_whole_loan() -> None:
    """A brand-new context borrows in full."""
    assert agreement((0.0, 0.0), (4.5, 0.5), (1.0, 1.0)) == 1.0


def test_one_failure_does_not_cut_the_loan() -> None:
    """One failure of a tool lent as 90 % is within the prior odds; three in a row are not."""
    loan = (4.5, 0.5)
    assert agreement((0.0, 1.0), loan, (1.0, 1.0)) == 1.0
    assert agreement((0.0, 3.0), loan, (1.0, 1.0)) < 0.5


@given(failures=st.integers(0, 30))
def test_more_disagreement_keeps_less(failures: int) -> None:
    """Each further failure against a 90 % loan keeps at most as much of it."""
    loan, base = (4.5, 0.5), (1.0, 1.0)
    before = agreement((0.0, float(failures)), loan, base)
    after = agreement((0.0, float(failures + 1)), loan, base)
    assert after <= before + 1e-12


@given(record=masses, strength=st.floats(0.0, 50.0))
def test_a_record_never_lends_more_than_the_strength_or_itself(
    record: tuple[float, float], strength: float
) -> None:
    """lend() is worth at most min(strength, the record's size), at the record's rate."""
    lent = lend(record, strength)
    size = record[0] + record[1]
    assert lent[0] + lent[1] <= min(strength, size) + 1e-9
    if lent[0] + lent[1] > 1e-9:
        assert lent[0] / (lent[0] + lent[1]) == pytest.approx(record[0] / size)


@given(context=masses, elsewhere=masses, similar=masses, bucket=st.none() | masses)
def test_loans_are_bounded_by_their_caps(
    context: tuple[float, float],
    elsewhere: tuple[float, float],
    similar: tuple[float, float],
    bucket: tuple[float, float] | None,
) -> None:
    """Whatever the records, a posterior holds its own evidence plus at most the caps."""
    if bucket is not None:
        bucket = (min(bucket[0], context[0]), min(bucket[1], context[1]))
    posterior = combine(
        Levels(
            base=(1.0, 1.0),
            peer=(4.0, 1.0),
            seed=(0.0, 0.0),
            elsewhere=elsewhere,
            elsewhere_strength=5.0,
            similar=similar,
            similarity_strength=5.0,
            context=context,
            bucket=bucket,
            bucket_strength=20.0,
        )
    )
    own = posterior.own[0] + posterior.own[1]
    borrowed = posterior.alpha + posterior.beta - own
    assert 0.0 < posterior.mean < 1.0
    assert borrowed <= (20.0 if bucket is not None else 10.0) + 5.0 + 1e-6


def _similar(a: str, b: str) -> float:
    """The hashing embedding's verdict: the chart and plain deploys read as near-identical."""
    return 0.84


def _helm(view: ReliabilityView, clock: FakeClock, *, chart: int, plain: int) -> None:
    """helm_upgrade: 96 % on production_chart_deploy, 10 % on production_deploy."""
    for n in range(60):
        clock.advance()
        view.observe("kubectl_deploy", n % 10 != 0, context_class="production_deploy")
    for n in range(chart):
        clock.advance()
        view.observe("helm_upgrade", n % 25 != 7, context_class="production_chart_deploy")
    for n in range(plain):
        clock.advance()
        view.observe("helm_upgrade", n % 10 == 5, context_class="production_deploy")


def _helm_rate(view: ReliabilityView, task_type: str) -> float:
    (prior,) = view.priors(tool="helm_upgrade", context_class=task_type)
    return prior.rate


def test_a_tool_that_works_only_for_charts_is_trusted_there(clock: FakeClock) -> None:
    """After 5 chart successes, helm's chart rate is high despite 10 plain failures."""
    view = ReliabilityView(similarity=_similar, clock=clock)
    _helm(view, clock, chart=5, plain=10)
    assert _helm_rate(view, "production_chart_deploy") > 0.7


def test_and_distrusted_where_it_fails(clock: FakeClock) -> None:
    """After 10 plain calls (one success), helm's plain rate stays low despite its chart record."""
    view = ReliabilityView(similarity=_similar, clock=clock)
    _helm(view, clock, chart=25, plain=10)
    assert _helm_rate(view, "production_deploy") < 0.3


def test_fixed_strength_borrowing_would_blur_both(clock: FakeClock) -> None:
    """The same history with adaptive_shrinkage off: each context leans on the other.

    At a similar-name loan of 3 observations (the default before issue 11; at 1 both blur
    less and the contrast is smaller).
    """
    view = ReliabilityView(
        LearningConfig(adaptive_shrinkage=False, similarity_strength=3.0),
        similarity=_similar,
        clock=clock,
    )
    _helm(view, clock, chart=5, plain=10)
    adaptive = ReliabilityView(
        LearningConfig(similarity_strength=3.0), similarity=_similar, clock=clock
    )
    _helm(adaptive, clock, chart=5, plain=10)
    blurred, learnt = (_helm_rate(v, "production_chart_deploy") for v in (view, adaptive))
    assert blurred < learnt - 0.1
