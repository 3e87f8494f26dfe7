"""The trigger: every N failures of an agent schedule one pass, run in a named background
thread or on the next ``run_due``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from toolwise.errors import InvalidArgumentError
from toolwise.improve import ImprovementReport
from toolwise.improve.trigger import PassTrigger
from toolwise.models import ToolOutcome


class Passes:
    """A stand-in for ``Improver._improve_one``: records which agents it ran for."""

    def __init__(self, *, fail_for: str = "") -> None:
        self.agents: list[str] = []
        self.threads: list[str] = []
        self.fail_for = fail_for

    def __call__(self, agent_id: str) -> ImprovementReport:
        self.agents.append(agent_id)
        self.threads.append(threading.current_thread().name)
        if agent_id == self.fail_for:
            msg = "the store went away"
            raise RuntimeError(msg)
        return ImprovementReport(agent_id=agent_id, started_at=datetime.now(UTC))


def _failure(agent_id: str = "devops") -> ToolOutcome:
    return ToolOutcome(agent_id=agent_id, tool="ansible_run", outcome="failure")


def test_below_the_threshold_nothing_is_due() -> None:
    """Two failures with a threshold of three leave no agent due."""
    trigger = PassTrigger(Passes(), every=3, background=False)
    for _ in range(2):
        trigger.notify(_failure())
    assert trigger.due() == []


def test_successes_do_not_count() -> None:
    """Only failures move an agent towards its next pass."""
    trigger = PassTrigger(Passes(), every=1, background=False)
    trigger.notify(ToolOutcome(agent_id="devops", tool="kubectl_deploy"))
    assert trigger.due() == []


def test_without_background_a_due_pass_waits_for_run_due() -> None:
    """With ``background=False`` the pass runs inline on ``run_due``, once."""
    passes = Passes()
    trigger = PassTrigger(passes, every=2, background=False)
    for _ in range(2):
        trigger.notify(_failure())
    assert trigger.due() == ["devops"]
    [report] = trigger.run_due()
    assert report.agent_id == "devops"
    assert trigger.due() == []
    assert passes.agents == ["devops"]


def test_a_background_pass_runs_in_a_named_thread() -> None:
    """The Nth failure starts ``toolwise-improve``; ``close`` waits for it."""
    passes = Passes()
    trigger = PassTrigger(passes, every=2)
    for _ in range(2):
        trigger.notify(_failure())
    assert trigger.close(timeout=10.0)
    assert passes.threads == ["toolwise-improve"]


def test_a_failing_background_pass_does_not_stop_the_next() -> None:
    """A pass that raises is logged; the other due agent still gets its pass."""
    passes = Passes(fail_for="a")
    trigger = PassTrigger(passes, every=1)
    trigger.notify(_failure("a"))
    trigger.notify(_failure("b"))
    assert trigger.close(timeout=10.0)
    assert passes.agents == ["a", "b"]


def test_a_closed_trigger_starts_no_thread() -> None:
    """After ``close`` failures still count, but no background pass starts."""
    passes = Passes()
    trigger = PassTrigger(passes, every=1)
    trigger.close()
    trigger.notify(_failure())
    assert passes.agents == []
    assert trigger.due() == ["devops"]


def test_a_threshold_below_one_names_every() -> None:
    """``every=0`` would schedule a pass per record; refused naming the argument."""
    with pytest.raises(InvalidArgumentError) as caught:
        PassTrigger(Passes(), every=0)
    assert caught.value.field == "every"
