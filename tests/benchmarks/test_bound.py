"""The accuracy bound: what no policy can beat, so a target above it is known to be out of reach."""

from __future__ import annotations

from learning_sim.bound import identification_bound
from learning_sim.metrics import EARLY


def test_two_tools_that_are_the_same_are_told_apart_half_the_time() -> None:
    assert abs(identification_bound(0.8, 0.8, EARLY) - 0.5) < 1e-9


def test_more_outcomes_tell_two_tools_apart_more_often() -> None:
    early = identification_bound(0.91, 0.85, slice(50, 51))
    late = identification_bound(0.91, 0.85, slice(500, 501))
    assert early < late


def test_a_wide_gap_is_found_almost_surely() -> None:
    assert identification_bound(0.9, 0.3, EARLY) > 0.999


def test_the_devops_success_gap_caps_accuracy_after_50_outcomes_below_95_percent() -> None:
    """kubectl 91 % against terraform 85 %: decisions 51-150 are right at most ~90 % of the time."""
    assert 0.89 < identification_bound(0.91, 0.85, EARLY) < 0.91
