"""langchain v1 agent middleware: ``create_agent(model, tools, middleware=[tw.middleware()])``.

The model side (the brief, ``filter`` and ``route``) comes from
:class:`~toolwise.integrations.langchain.advice_middleware.AdviceMiddleware`; tool calls are
recorded by the same core as the ``ToolNode`` interceptor
(:class:`~toolwise.integrations.langgraph.tool_node.ToolCallRecorder`), so a call gives the
same record whichever of the two saw it. Every hook has its async twin: ``create_agent`` raises
``NotImplementedError`` under ``ainvoke`` for a middleware that only defines sync hooks.

Order matters as for any middleware (the first listed is outermost): listed *before*
``ToolRetryMiddleware`` it records each tool call once, with the final result; listed *after*
it, it records every attempt (``attempt`` = 1, 2, 3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command
from typing_extensions import override

from toolwise.advice import Advisor
from toolwise.integrations.langchain.advice_middleware import AdviceMiddleware
from toolwise.integrations.langgraph.tool_node import ToolCallRecorder
from toolwise.recording.context import RecordingDefaults
from toolwise.recording.recorder import Recorder

__all__ = ["ToolwiseMiddleware"]


class ToolwiseMiddleware(AdviceMiddleware):
    """Records every tool call of a ``create_agent`` agent and briefs its model.

    Before each model call the brief (ranked tools, recalled failures, alerts) is appended to
    the system message — not stored in the conversation; in ``filter`` mode hidden tools are
    also removed from the request and refused if named anyway; in ``route`` mode the sampled
    tool is forced. Tool calls are then guarded (hidden or gated tools) and recorded, with the
    decision id and recommended tool carried into each record.

    Args:
        recorder: where records go (``tw.runtime.recorder``).
        defaults: labels, judge and costs (``Toolwise.defaults(...)``).
        advisor: briefs the model (``tw.advisor(...)``), or ``None`` to only record.
    """

    def __init__(
        self,
        recorder: Recorder,
        defaults: RecordingDefaults,
        advisor: Advisor | None = None,
    ) -> None:
        super().__init__(advisor)
        self.defaults = defaults
        self.tools = []  # no tools of its own
        self._tool_calls = ToolCallRecorder(recorder, defaults, source="middleware")

    # -- tool side: guard (outermost), then record --------------------------------------------

    @override
    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        return self.guard_tool_call(request, lambda r: self._tool_calls(r, handler))

    @override
    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        return await self.aguard_tool_call(request, lambda r: self._tool_calls.awrap(r, handler))
