"""A key's latency and cost summaries, kept current per sample, equal ones worked out afresh."""

from __future__ import annotations

import math
import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolwise.learning.evidence import Evidence
from toolwise.learning.samples import mean, quantile

CEILING = 30_000.0
Summary = tuple[object, ...]

# Ties, signed zeros, subnormals, values near the float limits, and (never from a validated
# record, but a key must still answer) infinities and nan.
samples = st.one_of(
    st.floats(min_value=0.0, max_value=60_000.0),
    st.sampled_from([0.0, -0.0, 5e-324, 1e-310, 1.0, 250.5, CEILING, 1e300, 1.7e308]),
    st.floats(min_value=-1.0, max_value=1e308),
)
odd = st.sampled_from([math.inf, math.nan])
calls = st.lists(
    st.tuples(st.one_of(samples, st.none()), st.one_of(samples, st.none()), st.booleans()),
    max_size=60,
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def afresh(evidence: Evidence, ceiling: float) -> Summary:
    """Every figure from the reservoirs as they are, with the original formulas."""
    latencies, costs = list(evidence.latencies), list(evidence.costs)
    scores = [0.0 if not x < ceiling else 1.0 - max(x, 0.0) / ceiling for x in latencies]
    n = len(scores)
    speed_mean = math.fsum(scores) / n if n else 0.0
    variance = math.fsum((x - speed_mean) ** 2 for x in scores) / n if n else 0.0
    ordered = sorted(latencies)
    summary = (
        (mean(ordered), quantile(ordered, 0.5), quantile(ordered, 0.95))
        if ordered
        else (None, None, None)
    )
    cost = mean(tuple(costs)) if costs else None
    return _exact((speed_mean, variance, n, summary, summary[1], cost))


def kept(evidence: Evidence, ceiling: float) -> Summary:
    """The same figures as a decision and a prior read them."""
    return _exact(
        (
            *evidence.speed_stats(ceiling),
            evidence.latency_summary(),
            evidence.p50_latency(),
            evidence.mean_cost(),
        )
    )


def _exact(values: object) -> Summary:
    """Floats by their bits (so -0.0 differs from 0.0 and nan equals nan)."""
    if isinstance(values, tuple):
        return tuple(_exact(v) for v in values)
    return float.hex(values) if isinstance(values, float) else values  # type: ignore[return-value]


def _teach(evidence: Evidence, stream: list[tuple[float | None, float | None, bool]]) -> None:
    """Note each sample; read every figure where the stream says so, and check it."""
    for latency, cost, read in stream:
        evidence.note(latency, cost, "")
        if read:
            assert kept(evidence, CEILING) == afresh(evidence, CEILING)


@FAST
@given(calls, st.integers(min_value=1, max_value=6))
def test_summaries_kept_per_sample_equal_those_worked_out_afresh(
    stream: list[tuple[float | None, float | None, bool]], reservoir: int
) -> None:
    evidence = Evidence(window=8, reservoir=reservoir)
    _teach(evidence, stream)
    assert kept(evidence, CEILING) == afresh(evidence, CEILING)
    assert kept(evidence, 400.0) == afresh(evidence, 400.0)  # another ceiling: scored again


@FAST
@given(calls, st.lists(odd, min_size=1, max_size=2), calls)
def test_a_key_that_saw_a_sample_not_finite_still_answers_as_afresh(
    before: list[tuple[float | None, float | None, bool]],
    strange: list[float],
    after: list[tuple[float | None, float | None, bool]],
) -> None:
    evidence = Evidence(window=8, reservoir=4)
    _teach(evidence, before)
    for value in strange:
        evidence.note(value, value, "")
    _teach(evidence, after)
    assert kept(evidence, CEILING) == afresh(evidence, CEILING)


def test_a_full_reservoir_read_between_samples_keeps_its_exact_mean() -> None:
    evidence = Evidence(window=8, reservoir=256)
    for n in range(2_000):
        evidence.note(0.1 * n + 1e-9 * (n % 7), 0.1 + 1e-17 * n, "")
        if n % 3 == 0:
            assert kept(evidence, CEILING) == afresh(evidence, CEILING)


def test_a_restored_key_answers_as_the_one_it_was_copied_from() -> None:
    evidence = Evidence(window=8, reservoir=5)
    for n in range(12):
        evidence.note(100.0 * n, 0.01 * n, "")
        kept(evidence, CEILING)
    restored = pickle.loads(pickle.dumps(evidence))
    for n in range(12, 20):
        evidence.note(100.0 * n, 0.01 * n, "")
        restored.note(100.0 * n, 0.01 * n, "")
        assert kept(restored, CEILING) == kept(evidence, CEILING) == afresh(evidence, CEILING)
