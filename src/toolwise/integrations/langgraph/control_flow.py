"""Errors that steer a LangGraph run rather than report a tool's failure, and which of them
is still an outcome to record (a cancellation)."""

from __future__ import annotations

import asyncio

__all__ = ["is_cancellation", "is_control_flow", "is_recorded"]


def is_control_flow(error: BaseException) -> bool:
    """True for LangGraph's ``interrupt()`` and ``Command`` routing (``GraphBubbleUp``
    subclasses), cancellation and interpreter exits (``SystemExit``, ``KeyboardInterrupt``):
    each is re-raised untouched and never retried."""
    from langgraph.errors import GraphBubbleUp

    return isinstance(
        error,
        GraphBubbleUp | asyncio.CancelledError | KeyboardInterrupt | SystemExit | GeneratorExit,
    )


def is_cancellation(error: BaseException) -> bool:
    """True for asyncio's cancellation of the call: a step timeout (``step_timeout``), an
    outer ``wait_for`` or an abort. asyncio does not say which."""
    return isinstance(error, asyncio.CancelledError)


def is_recorded(error: BaseException) -> bool:
    """Whether a raised ``error`` is the call's outcome: any failure, and a cancellation (as a
    failure judged ``cancelled``, so a tool that always hangs is learnt as failing); not an
    interrupt, which runs the call again, nor an interpreter exit."""
    return is_cancellation(error) or not is_control_flow(error)
