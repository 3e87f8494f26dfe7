"""Lessons learnt from failures reach the model: they appear in the pre-selection brief."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from toolwise import Toolwise
from toolwise.advice import CLOSE, OPEN, Advisor


def _ssh_timeouts(tw: Toolwise, count: int) -> None:
    for i in range(count):
        tw.record(
            agent_id="devops",
            tool="ansible_run",
            task_type="production_deploy",
            environment="production",
            task=f"Deploy shop {i} to production",
            outcome="failure",
            error_type="SSHTimeout",
            error_message="connection to host timed out after 45s",
            latency_ms=45_000,
        )


def test_repeated_ssh_timeouts_become_one_lesson_shown_in_the_brief(tw: Toolwise) -> None:
    """Five SSH timeouts give one merged lesson, quoted inside the brief's data fence."""
    _ssh_timeouts(tw, 5)
    tw.improve("devops")
    lessons = tw.improver.all_lessons("devops")
    assert len(lessons) == 1
    advisor = Advisor(
        tw.runtime, agent_id="devops", environment="production", tools=("ansible_run",)
    )
    brief = advisor.advise([HumanMessage("Deploy shop 9 to production")])
    fenced = brief.text.split(OPEN, 1)[1].split(CLOSE, 1)[0]
    assert "- lesson:" in fenced
    assert "ansible_run" in fenced


def test_lessons_can_be_left_out_of_the_brief(tw: Toolwise) -> None:
    """``lessons=0`` keeps lessons out of the brief."""
    _ssh_timeouts(tw, 3)
    tw.improve("devops")
    advisor = Advisor(
        tw.runtime, agent_id="devops", environment="production", tools=("ansible_run",), lessons=0
    )
    brief = advisor.advise([HumanMessage("Deploy shop 9 to production")])
    assert "- lesson:" not in brief.text
