"""The usage arithmetic of summaries (``toolwise._summary``)."""

from __future__ import annotations

from toolwise._summary import summarize
from toolwise.models import ToolOutcome


def _failure(error_type: str, error_message: str) -> ToolOutcome:
    return ToolOutcome(
        tool="kubectl",
        outcome="failure",
        error_type=error_type,
        error_message=error_message,
        agent_id="devops",
    )


def test_last_error_without_a_type_is_the_message_alone() -> None:
    summary = summarize([_failure("", "boom")], agent_id="devops")

    assert summary.tools[0].last_error == "boom"


def test_last_error_joins_type_and_message() -> None:
    summary = summarize([_failure("TimeoutError", "boom")], agent_id="devops")

    assert summary.tools[0].last_error == "TimeoutError: boom"
