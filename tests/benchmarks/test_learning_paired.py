"""The paired opt-in driver: toolwise's default against overrides on the same streams."""

from __future__ import annotations

import math

import pytest
from learning_paired import paired, regret, seed_range


def test_an_empty_override_replays_the_default_exactly() -> None:
    """Same stream, same seed: ``{}`` is the default, so a paired difference is the option's."""
    assert regret("new_tool", 1, "1/min", {}) == regret("new_tool", 1, "1/min", None)


def test_an_override_reaches_the_learner() -> None:
    """Without change detection the abrupt world's break costs more."""
    default = regret("abrupt", 1, "1/min", None)
    assert regret("abrupt", 1, "1/min", {"retry_broken": False}) != default


def test_seeds_are_counted_from_the_start_of_their_range() -> None:
    assert seed_range("1-3", held_out=False) == [1, 2, 3]
    assert seed_range("2", held_out=True) == [100_002]


def test_the_paired_difference_and_its_standard_error() -> None:
    mean, se = paired([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])
    assert mean == 3.0
    assert se == pytest.approx(1.0 / math.sqrt(3.0))
    assert math.isnan(paired([1.0], [0.0])[1])
