"""Our Beta quantile agrees with scipy's, so the first decisions need not import scipy.

Tolerance: within 1e-9 absolute or 1e-7 relative of ``scipy.special.betaincinv``, for shapes
from 0.05 to 1e5 and any level from 1e-100 to 1 (tails drawn log-uniformly down to 1e-10 on
both sides) — far finer than a posterior's own evidence can tell apart.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from scipy import special

from toolwise.learning.incbeta import betainc, betaincinv

WIDE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

shapes = st.floats(min_value=math.log(0.05), max_value=math.log(1e5)).map(math.exp)
levels = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-100, max_value=1.0),  # deeper, scipy's own tails drift (1e-277: 2x)
    st.floats(min_value=math.log(1e-10), max_value=0.0).map(math.exp),  # the lower tail
    st.floats(min_value=math.log(1e-10), max_value=0.0).map(lambda t: 1.0 - math.exp(t)),
)


def _close(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= max(1e-9, 1e-7 * abs(theirs))


@WIDE
@given(a=shapes, b=shapes, p=levels)
@example(a=20.09, b=1.0, p=3.3e-192)  # once off by 1e-6 relative; Newton on log I fixed it
def test_the_quantile_agrees_with_scipy(a: float, b: float, p: float) -> None:
    theirs = float(special.betaincinv(a, b, p))
    assume(not math.isnan(theirs))  # scipy gives up on a few extreme levels; we do not
    assert _close(float(betaincinv(a, b, p)), theirs)


@WIDE
@given(a=shapes, b=shapes, x=st.floats(min_value=0.0, max_value=1.0))
def test_the_incomplete_beta_agrees_with_scipy(a: float, b: float, x: float) -> None:
    assert _close(float(betainc(a, b, x)), float(special.betainc(a, b, x)))


@settings(max_examples=100, deadline=None)
@given(a=shapes, b=shapes, p=st.floats(min_value=1e-6, max_value=1.0 - 1e-6))
def test_the_quantile_inverts_the_incomplete_beta(a: float, b: float, p: float) -> None:
    x = float(betaincinv(a, b, p))
    assert abs(float(special.betainc(a, b, x)) - p) <= 1e-7 or _close(
        x, float(special.betaincinv(a, b, p))
    )


def test_it_broadcasts_like_scipy_over_tools_and_levels() -> None:
    """The shared Thompson draws ask for tools × levels in one call."""
    alpha = np.array([[1.0], [3.5], [120.0]])
    beta = np.array([[1.0], [9.0], [4.0]])
    grid = np.linspace(0.01, 0.99, 7)[None, :]

    ours = betaincinv(alpha, beta, grid)

    assert ours.shape == (3, 7)
    np.testing.assert_allclose(ours, special.betaincinv(alpha, beta, grid), rtol=1e-7, atol=1e-9)


def test_scalars_give_a_zero_dimensional_array() -> None:
    assert betaincinv(2.0, 3.0, 0.5).shape == ()
    assert float(betaincinv(1.0, 1.0, 0.25)) == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("a", "b", "p", "expected"),
    [
        (2.0, 3.0, 0.0, 0.0),
        (2.0, 3.0, 1.0, 1.0),
        (0.0, 3.0, 0.5, math.nan),
        (2.0, -1.0, 0.5, math.nan),
        (2.0, 3.0, 1.5, math.nan),
        (2.0, 3.0, math.nan, math.nan),
    ],
)
def test_the_edges_match_scipy(a: float, b: float, p: float, expected: float) -> None:
    ours = float(betaincinv(a, b, p))
    assert ours == expected or (math.isnan(ours) and math.isnan(expected))
    assert math.isnan(expected) == math.isnan(float(special.betaincinv(a, b, p)))
