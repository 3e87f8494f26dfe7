"""Errors that steer a LangGraph run rather than report a tool's failure: never recorded."""

from __future__ import annotations

import asyncio

__all__ = ["is_control_flow"]


def is_control_flow(error: BaseException) -> bool:
    """True for LangGraph's ``interrupt()`` and ``Command`` routing (``GraphBubbleUp``
    subclasses), cancellation and interpreter exits (``SystemExit``, ``KeyboardInterrupt``):
    none of them is the tool's fault, and none is retried."""
    from langgraph.errors import GraphBubbleUp

    return isinstance(
        error,
        GraphBubbleUp | asyncio.CancelledError | KeyboardInterrupt | SystemExit | GeneratorExit,
    )
