"""A decision re-reads what the last one read (``learning/memo.py``) only while the evidence is
unchanged: whatever changes it in between — an outcome, a seed, a forget, a TTL lapse, the
clock under a half-life or a re-try falling due — the next decision sees."""

from __future__ import annotations

import pickle
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.learning.memo import ReadMemo
from toolwise.learning.reader import Read
from toolwise.learning.shrinkage import Posterior
from toolwise.models import ToolOutcome

if TYPE_CHECKING:
    from conftest import FakeClock

TOOLS = ["kubectl_deploy", "terraform_apply"]


def _learn(view: ReliabilityView) -> None:
    """Ten calls of each tool for deploys; nothing yet for rollbacks."""
    for n in range(10):
        view.observe("kubectl_deploy", n % 5 != 0, context_class="deploy")
        view.observe("terraform_apply", n % 2 == 0, context_class="deploy")


def _rates(view: ReliabilityView) -> dict[str, float]:
    ranking = view.recommend(task_type="deploy", tools=TOOLS, strategy="greedy")
    return {answer.tool: answer.rate for answer in ranking}


def _borrowed(view: ReliabilityView) -> float:
    """kubectl_deploy's rate for a rollback: what its deploy record lends (the decision's
    own task type holds nothing that could change)."""
    (answer,) = view.recommend(task_type="rollback", tools=["kubectl_deploy"], strategy="greedy")
    return answer.rate


def _failure(clock: FakeClock, expires_in: timedelta | None = None) -> ToolOutcome:
    return ToolOutcome(
        tool="kubectl_deploy",
        outcome="failure",
        task_type="deploy",
        timestamp=clock.now,
        expires_at=None if expires_in is None else clock.now + expires_in,
    )


def test_the_same_evidence_reads_the_same(view: ReliabilityView) -> None:
    _learn(view)
    assert _rates(view) == _rates(view)
    assert _borrowed(view) == _borrowed(view)


def test_an_outcome_elsewhere_between_two_decisions_is_read(
    view: ReliabilityView, clock: FakeClock
) -> None:
    """``observe_outcome`` (every tool call's path) returns nothing, and still the next
    decision reads the tool's new record in another task type."""
    _learn(view)
    before = _borrowed(view)
    for _ in range(5):
        view.observe_outcome(_failure(clock))
    assert _borrowed(view) < before - 0.05


def test_a_seed_between_two_decisions_is_read(view: ReliabilityView) -> None:
    before = view.recommend(task_type="deploy", tools=["new_tool"], strategy="greedy")[0].rate
    view.seed_prior("new_tool", 0.95, strength=20.0, task_type="deploy")
    after = view.recommend(task_type="deploy", tools=["new_tool"], strategy="greedy")[0].rate
    assert before == pytest.approx(0.5)
    assert after > 0.85


def test_a_forgotten_tool_lends_nothing_at_the_next_decision(view: ReliabilityView) -> None:
    _learn(view)
    assert _borrowed(view) > 0.6
    view.forget("default", "kubectl_deploy")
    assert _borrowed(view) == pytest.approx(0.5)


def test_a_ttl_lapse_between_two_decisions_is_read(view: ReliabilityView, clock: FakeClock) -> None:
    """No outcome in between: only the clock moved past the failures' expiry."""
    _learn(view)
    for _ in range(5):
        view.observe_outcome(_failure(clock, expires_in=timedelta(hours=1)))
    before = _borrowed(view)
    clock.advance(timedelta(hours=2))
    assert _borrowed(view) > before + 0.05


def test_under_a_half_life_a_later_decision_reads_faded_evidence(clock: FakeClock) -> None:
    view = ReliabilityView(LearningConfig(half_life=timedelta(days=14)), clock=clock)
    for _ in range(10):
        view.observe("kubectl_deploy", True, context_class="deploy")
    fresh = _borrowed(view)
    clock.advance(timedelta(days=60))
    assert 0.5 < _borrowed(view) < fresh - 0.05


def test_a_re_try_falling_due_with_the_clock_is_read(clock: FakeClock) -> None:
    """With ``retry_after`` the broken tool's re-try waits for the clock too: the decision
    after the wait re-tries it though nothing was learnt since the one before."""
    view = ReliabilityView(LearningConfig(retry_after=timedelta(minutes=15)), clock=clock)
    for _ in range(20):
        view.observe("B", True, context_class="deploy")
        view.observe("B", False, context_class="deploy")
    for n in range(50):  # fifty good calls a minute apart, then four failures: a break
        clock.advance()
        view.observe("A", n % 10 != 0, context_class="deploy")
    for _ in range(4):
        clock.advance()
        view.observe("A", False, context_class="deploy")
    for _ in range(8):  # the calls the first re-try waits for, within a minute
        clock.advance(timedelta(seconds=5))
        view.observe("B", True, context_class="deploy")
    early = view.recommend(task_type="deploy", tools=["A", "B"], seed=1)
    clock.advance(timedelta(minutes=20))
    late = view.recommend(task_type="deploy", tools=["A", "B"], seed=1)
    assert not any("re-tried" in answer.reason for answer in early)
    assert late[0].tool == "A"
    assert "re-tried: due for a re-check since it broke" in late[0].reason


def test_a_snapshot_holds_no_reads(view: ReliabilityView) -> None:
    """Reads are derived: a snapshot keeps the evidence, and a restored view reads afresh."""
    _learn(view)
    before = _rates(view)
    blob = view.export_state()
    view.restore_state(blob)
    assert _rates(view) == before


def test_a_pickled_memo_is_empty() -> None:
    memo = ReadMemo()
    read = Read(Posterior(2.0, 1.0, (1.0, 0.0), borrowed=False), None, None, None)
    memo.put((("default", "a", "deploy", ""), ""), [], (1.0, 0.0), 0.0, read)
    assert len(memo) == 1
    assert len(pickle.loads(pickle.dumps(memo))) == 0
