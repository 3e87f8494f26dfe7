"""Regimes that come back: a tool finds the record of the regime it is in again.

In a regime swap the runner-up of one regime leads the other. When it breaks at the swap
back, its record from before (held when the leader broke) and its record from the other
regime are two different rates; restoring their mix reads the tool as better than it is in
either. With ``regime_memory`` the held record is kept apart as the *former* one and comes
back when the new outcomes fit it (``learning/regime.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from toolwise.learning import LearningConfig, ReliabilityView

if TYPE_CHECKING:
    from conftest import FakeClock


def _swap_and_back(*, memory: bool) -> list[float]:
    """B: 40 calls at 60 %; A breaks; B 40 calls at 95 %; B breaks; B again at 60 %.

    Returns B's estimated rate after each of its 30 outcomes in the returning regime.
    """
    view = ReliabilityView(LearningConfig(regime_memory=memory))
    for i in range(40):
        view.observe("B", i % 5 < 3)
        view.observe("A", True)
    for _ in range(4):
        view.observe("A", False)  # the leader breaks: B's 60 % record is held
    for i in range(40):
        view.observe("B", i % 20 != 0)  # B leads the other regime at 95 %
    for _ in range(4):
        view.observe("B", False)  # the swap back breaks B
    return [view.observe("B", i % 5 < 3).rate for i in range(30)]


def test_a_returning_regime_gets_its_own_record_back() -> None:
    """With regime memory B reads about 60 % again; without, a mix of 60 and 95 % (> 65 %)."""
    remembered = _swap_and_back(memory=True)
    mixed = _swap_and_back(memory=False)
    assert abs(remembered[-1] - 0.6) < 0.05
    assert mixed[-1] > 0.65


def test_the_other_regime_is_kept_for_the_next_swap() -> None:
    """After going back to its 60 % record, B keeps its 95 % record as the former one, and a
    run of successes in the next swap brings it back (the rate climbs above 85 %)."""
    view = ReliabilityView(LearningConfig(regime_memory=True))
    for i in range(40):
        view.observe("B", i % 5 < 3)
        view.observe("A", True)
    for _ in range(4):
        view.observe("A", False)
    for i in range(40):
        view.observe("B", i % 20 != 0)
    for _ in range(4):
        view.observe("B", False)
    for i in range(30):
        view.observe("B", i % 5 < 3)
    for _ in range(30):
        view.observe("A", True)  # A is back ...
    for _ in range(4):
        view.observe("A", False)  # ... and breaks again: the swap
    rates = [view.observe("B", i % 20 != 0).rate for i in range(20)]
    assert rates[-1] > 0.85
    assert view.stats()["regimes_restored"] >= 2


def test_an_outage_gives_back_a_record_kept_as_the_former_one(clock: FakeClock) -> None:
    """A breaks (the others are held); B, C and D work, then fail together: B's break in the
    outage keeps its held record as the former one, and once the outage is declared the
    break is undone and B has its whole record back."""
    view = ReliabilityView(LearningConfig(regime_memory=True), clock=clock)
    rates = {"A": 0.95, "B": 0.9, "C": 0.85, "D": 0.8}
    for n in range(40):
        for tool, rate in rates.items():
            clock.advance(timedelta(minutes=10))
            view.observe(tool, (n * 37 % 100) / 100 < rate, context_class="deploy")
    for _ in range(4):
        clock.advance(timedelta(minutes=10))
        view.observe("A", False, context_class="deploy")  # the leader breaks
    for _ in range(8):
        for tool in "BCD":
            clock.advance(timedelta(minutes=10))
            view.observe(tool, True, context_class="deploy")
    for tool in ["B"] * 5 + ["C", "D", "C", "D"]:
        clock.advance(timedelta(minutes=2))
        view.observe(tool, False, context_class="deploy")
    assert len(view.infra_events()) == 1
    (prior,) = view.priors(tool="B", context_class="deploy")
    assert prior.successes == pytest.approx(36.0 + 8.0)  # held 36 of 40, then 8 of 8
    assert prior.failures == pytest.approx(4.0)
