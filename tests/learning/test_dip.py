"""A dip of the leader makes a broken tool's backed-off re-try due (``learning/dip.py``).

In a swap back the tool that broke is back while the leader falls 15–25 points from a long
record: no change test confirms that fall within a regime, so without the dip the broken
tool waits out its backed-off re-tries. Opt-in (``retry_on_leader_dip``).
"""

from __future__ import annotations

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.dip import dip_rate
from toolwise.learning.scan import History

PRIOR = (1.0, 1.0)


def _history(*runs: tuple[int, float]) -> History:
    """Outcomes in order: ``(count, rate)`` runs, each spread evenly."""
    history = History()
    for count, rate in runs:
        for i in range(count):
            success = (i + 1) * rate // 1 > i * rate // 1
            history.add(float(success), float(not success))
    return history


def test_a_moderate_fall_of_a_long_record_is_a_dip() -> None:
    """300 outcomes at 60 % then 40 at 30 %: a dip at 5 nats, read at about the new rate."""
    rate = dip_rate(_history((300, 0.6), (40, 0.3)), threshold=5.0, min_evidence=5.0, prior=PRIOR)
    assert rate is not None
    assert 0.25 < rate < 0.4


def test_a_steady_record_or_a_rise_is_no_dip() -> None:
    steady = _history((340, 0.6))
    rise = _history((300, 0.3), (40, 0.6))
    for history in (steady, rise):
        assert dip_rate(history, threshold=5.0, min_evidence=5.0, prior=PRIOR) is None


def _swap_back(dip: float) -> ReliabilityView:
    """A (90 %) breaks and fails its re-tries while B leads at 60 %; then B falls to 30 %
    for 40 calls, well inside A's 64-call wait."""
    view = ReliabilityView(LearningConfig(retry_on_leader_dip=dip))
    for i in range(100):
        view.observe("A", i % 10 != 9, context_class="deploy")
    for _ in range(6):
        view.observe("A", False, context_class="deploy")
    calls = 0
    for wait in (8, 16, 32, 64, 64, 64, 64):
        for _ in range(wait):
            view.observe("B", calls % 5 < 3, context_class="deploy")
            calls += 1
        view.observe("A", False, context_class="deploy")  # the re-try, still broken
    for i in range(40):
        view.observe("B", i % 10 < 3, context_class="deploy")
    return view


def _first(view: ReliabilityView) -> str:
    return view.recommend(task_type="deploy", tools=["A", "B"], seed=7)[0].tool


def test_a_leader_dip_makes_the_broken_tools_retry_due_at_once() -> None:
    view = _swap_back(5.0)
    assert view.stats()["dip_retries"] >= 1
    assert _first(view) == "A"


def test_without_the_dip_the_broken_tool_waits_out_its_back_off() -> None:
    view = _swap_back(0.0)
    assert view.stats().get("dip_retries", 0) == 0
    assert _first(view) == "B"
