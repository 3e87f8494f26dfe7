"""The propensity grid reads few strata but gives the shares reading all of them would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from toolwise.learning.grid import PropensityGrid, win_shares
from toolwise.learning.levels import normal_quantiles

Tool = tuple[float, float, float]  # Beta alpha, beta, and the fixed part of its score


class Contest:
    """Tools whose score at a level is their Beta quantile there plus a fixed part (scores
    rise with the level, as shared Thompson's do), and the strata the grid asked for."""

    def __init__(self, tools: list[Tool]) -> None:
        self.alpha = np.array([[a] for a, _, _ in tools])
        self.beta = np.array([[b] for _, b, _ in tools])
        self.fixed = np.array([[f] for _, _, f in tools])
        self.read: list[int] = []

    def score(self, grid: PropensityGrid, columns: np.ndarray) -> np.ndarray:
        self.read.extend(columns.tolist())
        quantiles = special.betaincinv(self.alpha, self.beta, grid.levels[None, columns])
        return np.asarray(quantiles + self.fixed)


def grid_of(size: int = 32) -> PropensityGrid:
    return PropensityGrid(size, normal_quantiles)


posteriors = st.tuples(
    st.floats(0.5, 400.0), st.floats(0.5, 400.0), st.sampled_from([0.0, 0.0, 0.05, 0.1])
)


@settings(max_examples=300, deadline=None)
@given(
    tools=st.lists(posteriors, min_size=2, max_size=6),
    twins=st.booleans(),
    size=st.sampled_from([1, 2, 5, 8, 32, 33]),
)
def test_the_shares_are_those_of_reading_every_stratum(
    tools: list[Tool], twins: bool, size: int
) -> None:
    """Crossing curves, exact ties (a tool twice) and odd grid sizes included."""
    contest = Contest(tools + tools[:1] if twins else tools)
    grid = grid_of(size)
    every = win_shares(contest.score(grid, np.arange(size)))

    shares = grid.wins(b"contest", lambda columns: contest.score(grid, columns))

    np.testing.assert_allclose(shares, every, rtol=0, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(tools=st.lists(posteriors, min_size=2, max_size=5), size=st.sampled_from([2, 5, 9, 32]))
def test_scores_at_the_ends_given_by_the_caller_are_not_read_again(
    tools: list[Tool], size: int
) -> None:
    """Shared Thompson has the contenders' scores at the first and last strata already."""
    contest = Contest(tools)
    grid = grid_of(size)
    every = win_shares(contest.score(grid, np.arange(size)))
    ends = contest.score(grid, np.array([0, size - 1]))
    contest.read.clear()

    shares = grid.wins(b"ends", lambda columns: contest.score(grid, columns), ends=ends)

    np.testing.assert_allclose(shares, every, rtol=0, atol=1e-12)
    assert size < 9 or (0 not in contest.read and size - 1 not in contest.read)


def test_a_clear_leader_costs_a_third_of_the_strata() -> None:
    """A leader whose whole posterior sits above a challenger's: only every 4th stratum."""
    contest = Contest([(90.0, 10.0, 0.0), (60.0, 40.0, 0.0)])
    grid = grid_of(32)

    shares = grid.wins(b"clear", lambda columns: contest.score(grid, columns))

    assert shares.tolist() == [32.0, 0.0]
    assert len(contest.read) == 9


def test_close_contenders_are_read_only_where_they_cross() -> None:
    contest = Contest([(60.0, 40.0, 0.0), (6.0, 4.0, 0.0)])  # same mean, one far wider
    grid = grid_of(32)
    every = win_shares(contest.score(grid, np.arange(32)))
    contest.read.clear()

    shares = grid.wins(b"close", lambda columns: contest.score(grid, columns))

    assert shares.tolist() == every.tolist()
    assert 9 < len(contest.read) < 32


def test_a_contest_seen_before_is_answered_from_memory() -> None:
    contest = Contest([(60.0, 40.0, 0.0), (6.0, 4.0, 0.0)])
    grid = grid_of(32)
    first = grid.wins(b"same", lambda columns: contest.score(grid, columns))
    read = len(contest.read)

    again = grid.wins(b"same", lambda columns: contest.score(grid, columns))

    assert again.tolist() == first.tolist()
    assert len(contest.read) == read


def test_memory_is_bounded() -> None:
    grid = PropensityGrid(8, normal_quantiles, remembered=2)
    contest = Contest([(6.0, 4.0, 0.0), (4.0, 6.0, 0.0)])
    for key in (b"a", b"b", b"c"):
        grid.wins(key, lambda columns: contest.score(grid, columns))

    assert len(grid._wins) <= 2
