"""Properties of the maths that must hold for any history (hypothesis)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.scoring import cost_score, speed_score
from toolwise.learning.ttl import slot_of
from toolwise.models import ToolOutcome

START = datetime(2025, 1, 6, tzinfo=UTC)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

outcomes = st.lists(
    st.tuples(
        st.one_of(st.booleans(), st.floats(min_value=0.0, max_value=1.0)),
        st.floats(min_value=0.0, max_value=50.0),
    ),
    max_size=40,
)
measures = st.one_of(
    st.none(),
    st.floats(min_value=0.0, allow_infinity=True),
    st.just(0.0),
    st.just(math.inf),
    st.just(math.nan),
    st.just(1e308),
)


def _view_with(history: list[tuple[bool | float, float]], clock: list[datetime]) -> ReliabilityView:
    view = ReliabilityView(clock=lambda: clock[0])
    for success, weight in history:
        view.observe("tool", success, weight=weight)
    return view


@FAST
@given(history=outcomes)
def test_posterior_mean_lies_inside_its_credible_interval(
    history: list[tuple[bool | float, float]],
) -> None:
    """For any history, the rate lies inside the 90 % interval."""
    view = _view_with(history, [START])
    for prior in view.priors():
        low, high = prior.credible_interval
        assert low <= prior.rate <= high


@FAST
@given(history=outcomes, weight=st.floats(min_value=0.0, max_value=50.0))
def test_more_successes_never_lower_the_rate(
    history: list[tuple[bool | float, float]], weight: float
) -> None:
    """Adding a success of any weight never lowers the estimate (the Beta maths alone: a
    change point may move the kept segment's start, which the change tests cover)."""
    view = ReliabilityView(
        LearningConfig(change_min_evidence=1e12), clock=lambda: START
    )  # the change detector never fires
    for success, seen in history:
        view.observe("tool", success, weight=seen)
    before = view.observe("tool", True, weight=0.0).rate
    after = view.observe("tool", True, weight=weight).rate
    assert after >= before - 1e-12


@FAST
@given(history=outcomes, days=st.floats(min_value=0.0, max_value=3_650.0))
def test_decay_moves_estimates_toward_the_prior(
    history: list[tuple[bool | float, float]], days: float
) -> None:
    """As time passes, the rate moves toward the prior mean and the evidence shrinks."""
    clock = [START]
    view = _view_with(history, clock)
    fresh = view.priors()
    clock[0] = START + timedelta(days=days)
    stale = view.priors()
    for before, after in zip(fresh, stale, strict=True):
        assert abs(after.rate - 0.5) <= abs(before.rate - 0.5) + 1e-9
        assert after.effective_observations <= before.effective_observations + 1e-9


@given(value=measures, reference=st.floats(min_value=1e-300, max_value=1e300))
def test_speed_and_cost_scores_are_finite_and_bounded(
    value: float | None, reference: float
) -> None:
    """Any latency or cost — None, 0, inf, nan, huge — scores within [0, 1]."""
    for score in (speed_score(value, reference), cost_score(value, reference)):
        assert math.isfinite(score)
        assert 0.0 <= score <= 1.0


@FAST
@given(latencies=st.lists(measures, min_size=1, max_size=5), costs=st.lists(measures, max_size=5))
def test_recommendation_scores_are_finite_for_any_latency_and_cost(
    latencies: list[float | None], costs: list[float | None]
) -> None:
    """Observed latencies and costs of any size never make a score non-finite."""
    view = ReliabilityView(clock=lambda: START)
    for n, latency in enumerate(latencies):
        cost = costs[n] if n < len(costs) else None
        view.observe("a", n % 2 == 0, latency_ms=latency, cost=cost)
    for objective in ("balanced", "latency", "cost"):
        ranked = view.recommend(task_type="", tools=["a", "b"], objective=objective, seed=1)
        assert all(math.isfinite(r.score) for r in ranked)


@FAST
@given(
    history=st.lists(st.tuples(st.sampled_from("abc"), st.booleans()), max_size=30),
    seed=st.integers(min_value=0, max_value=2**32),
    strategy=st.sampled_from(["thompson", "ucb", "epsilon_greedy", "greedy"]),
)
def test_a_fixed_seed_makes_recommend_reproducible(
    history: list[tuple[str, bool]], seed: int, strategy: str
) -> None:
    """Two views with the same history and seed rank identically, repeatedly."""
    views = [ReliabilityView(LearningConfig(), clock=lambda: START) for _ in range(2)]
    for view in views:
        for tool, success in history:
            view.observe(tool, success, context_class="q")
    runs = [
        view.recommend(task_type="q", tools=["a", "b", "c"], seed=seed, strategy=strategy)  # type: ignore[arg-type]
        for view in (*views, views[0])
    ]
    assert runs[0] == runs[1] == runs[2]


events = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),  # tool
        st.sampled_from(["success", "failure", "partial"]),
        st.integers(min_value=0, max_value=120),  # minutes since the previous outcome
        st.one_of(st.none(), st.integers(min_value=1, max_value=600)),  # TTL in minutes
    ),
    max_size=60,
)


@FAST
@given(stream=events, later=st.integers(min_value=0, max_value=60 * 24 * 30))
def test_any_stream_keeps_evidence_non_negative_and_rates_valid(
    stream: list[tuple[str, str, int, int | None]], later: int
) -> None:
    """Outages, resets, reverts and TTL expiry never leave negative mass or a bad rate."""
    clock = [START]
    view = ReliabilityView(clock=lambda: clock[0])
    for tool, outcome, gap, ttl in stream:
        clock[0] += timedelta(minutes=gap)
        expires = clock[0] + timedelta(minutes=ttl) if ttl else None
        view.observe_outcome(
            ToolOutcome(tool=tool, outcome=outcome, timestamp=clock[0], expires_at=expires)
        )
    clock[0] += timedelta(minutes=later)
    for prior in view.priors():
        assert prior.successes >= 0.0
        assert prior.failures >= 0.0
        assert 0.0 < prior.rate < 1.0
        assert prior.observations >= 0
        low, high = prior.credible_interval
        assert low <= prior.rate <= high


@given(
    t=st.floats(min_value=0.0, max_value=4e9),
    ttl=st.floats(min_value=1.0, max_value=4e8),
)
def test_ttl_slots_expire_early_by_a_bounded_amount_never_late(t: float, ttl: float) -> None:
    """An outcome's slot starts at or before its expiry, by at most ~1/32 of its TTL."""
    expires = t + ttl
    slot = slot_of(expires, t)
    assert slot <= expires
    assert expires - slot < max(60.0, ttl / 32) + 1e-6
