"""A verdict, and the names of the rules that give one (stored as ``ToolOutcome.judged_by``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from toolwise.models import DEFAULT_QUALITY, OUTCOMES, Outcome

__all__ = ["HARD_REASONS", "Reason", "Verdict", "valid_verdict"]


class Reason:
    """Which rule decided a verdict: the value of ``ToolOutcome.judged_by``.

    A success no rule objected to has the reason ``""``. User rules add ``rule:<field>``.
    """

    EXCEPTION: Final = "exception"
    """The tool raised (also when ``ToolNode`` caught it and answered with an error message)."""
    CANCELLED: Final = "cancelled"
    """The call was cancelled before it finished: a step timeout, an outer timeout or an abort.

    asyncio does not say who cancelled (``asyncio.timeout``, ``wait_for``, LangGraph's
    ``step_timeout`` and a user's ``Task.cancel()`` raise the same ``CancelledError`` inside the
    call), so every cancellation counts as the tool's failure: a tool that always hangs is then
    learnt as failing instead of never being recorded."""
    INVALID_ARGUMENTS: Final = "invalid_arguments"
    """The model's arguments failed the tool's schema: the model's mistake, not the tool's."""
    TOOL_ERROR: Final = "tool_error"
    """``ToolMessage(status="error")`` or a ``ToolException`` the tool handled into text."""
    REFUSED: Final = "refused"
    """A guard or a human refused the call; it did not run."""
    MCP_IS_ERROR: Final = "mcp_is_error"
    """An MCP call result with ``isError`` true."""
    SUCCESS_FALSE: Final = "success_false"
    """A top-level ``success`` or ``ok`` that is false."""
    ERROR_FIELD: Final = "error_field"
    """A non-empty top-level ``error`` or ``errors``."""
    STATUS_FAILED: Final = "status_failed"
    """A top-level ``status`` or ``state`` of error/failed/failure/fail/fatal."""
    HTTP_STATUS: Final = "http_status"
    """A top-level ``status_code``, ``statusCode`` or numeric ``status`` of 400-599."""
    ERROR_PREFIX: Final = "error_prefix"
    """Text that starts like an error (``Error:``, ``Traceback (most recent call last)`` …)."""
    EMPTY_RESULT: Final = "empty_result"
    """An empty result, for a tool that declared empty to mean partial or failure."""
    JUDGE: Final = "judge"
    """The tool's own judge (a callable) decided."""
    RULE_PREFIX: Final = "rule:"
    """A declared :class:`~toolwise.recording.judge.rules.FieldRule`: ``rule:<field>``."""


HARD_REASONS = frozenset(
    {
        Reason.EXCEPTION,
        Reason.CANCELLED,
        Reason.INVALID_ARGUMENTS,
        Reason.TOOL_ERROR,
        Reason.REFUSED,
    }
)
"""Verdicts no judge overrides: LangChain or LangGraph said the call failed or did not run."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a call went. ``error_type``/``error_message`` are set for failures; ``reason`` names
    the rule that decided (see :class:`Reason`)."""

    outcome: Outcome
    quality: float
    error_type: str = ""
    error_message: str = ""
    reason: str = ""


def valid_verdict(value: Any) -> bool:
    """A :class:`Verdict` a record can be built from: a known outcome, a finite quality in
    [0, 1] and text fields."""
    return (
        isinstance(value, Verdict)
        and value.outcome in OUTCOMES
        and isinstance(value.quality, int | float)
        and not isinstance(value.quality, bool)
        and math.isfinite(value.quality)
        and 0.0 <= value.quality <= 1.0
        and isinstance(value.error_type, str)
        and isinstance(value.error_message, str)
        and isinstance(value.reason, str)
    )


def of(outcome: Outcome, reason: str, error_type: str = "", message: str = "") -> Verdict:
    """A verdict with the outcome's default quality."""
    return Verdict(outcome, DEFAULT_QUALITY[outcome], error_type, message, reason)
