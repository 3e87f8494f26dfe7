"""A cancelled call is a failure judged ``cancelled``; the other control flow is not recorded."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.errors import GraphInterrupt

from toolwise.integrations.langgraph.control_flow import is_control_flow, is_recorded
from toolwise.recording.judge import Reason, judge_error


def test_a_cancellation_is_a_failure_judged_cancelled() -> None:
    """asyncio does not say who cancelled: the verdict says what a cancellation may mean."""
    verdict = judge_error(asyncio.CancelledError())

    assert (verdict.outcome, verdict.reason, verdict.error_type) == (
        "failure",
        Reason.CANCELLED,
        "CancelledError",
    )
    assert "timeout" in verdict.error_message


def test_a_cancellation_keeps_the_message_its_canceller_gave() -> None:
    """``task.cancel("user pressed stop")`` is kept; LangGraph's ``object()`` sentinel is not."""
    said = judge_error(asyncio.CancelledError("user pressed stop"))
    sentinel = judge_error(asyncio.CancelledError(object()))

    assert said.error_message == "user pressed stop"
    assert "object" not in sentinel.error_message


@pytest.mark.parametrize(
    ("error", "recorded"),
    [
        (asyncio.CancelledError(), True),
        (ValueError("rollout stalled"), True),
        (GraphInterrupt(()), False),
        (KeyboardInterrupt(), False),
        (SystemExit(1), False),
    ],
)
def test_only_a_cancellation_among_control_flow_is_recorded(
    error: BaseException, recorded: bool
) -> None:
    """A cancellation is re-raised like control flow but recorded; an interrupt is not."""
    assert is_recorded(error) is recorded
    assert is_control_flow(error) is not isinstance(error, ValueError)
