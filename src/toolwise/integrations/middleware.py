"""langchain v1 agent middleware: ``create_agent(model, tools, middleware=[tw.middleware()])``.

Tool calls are recorded by the same core as the ``ToolNode`` interceptor
(:class:`~toolwise.integrations.langgraph.ToolCallRecorder`), so a call gives the same record
whichever of the two saw it. Every hook has its async twin: ``create_agent`` raises
``NotImplementedError`` under ``ainvoke`` for a middleware that only defines sync hooks.

Order matters as for any middleware (the first listed is outermost): listed *before*
``ToolRetryMiddleware`` it records each tool call once, with the final result; listed *after*
it, it records every attempt (``attempt`` = 1, 2, 3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import ToolMessage
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command
from typing_extensions import override

from toolwise.integrations.langgraph import ToolCallRecorder
from toolwise.recording.context import RecordingDefaults

if TYPE_CHECKING:
    from toolwise._facade import Toolwise

__all__ = ["ToolwiseMiddleware"]


class ToolwiseMiddleware(AgentMiddleware):
    """Records every tool call of a ``create_agent`` agent (and, later, briefs its model).

    Args:
        toolwise: the :class:`~toolwise.Toolwise` whose recorder (and, later, learnt view)
            this middleware uses.
        defaults: labels, judge and costs (``Toolwise.defaults(...)``).
    """

    def __init__(self, toolwise: Toolwise, defaults: RecordingDefaults) -> None:
        super().__init__()
        self.toolwise = toolwise
        self.defaults = defaults
        self.tools = []  # no tools of its own
        self._tool_calls = ToolCallRecorder(toolwise.recorder, defaults, source="middleware")

    # -- tool side: record every call ---------------------------------------------------------

    @override
    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        return self._tool_calls(request, handler)

    @override
    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        return await self._tool_calls.awrap(request, handler)

    # -- model side: reserved ----------------------------------------------------------------
    # ``wrap_model_call`` / ``awrap_model_call`` (brief the model with the ranked tools, and in
    # a "filter" mode refuse hidden tools in ``wrap_tool_call`` too) come with the "brief the
    # model" issue. Implement them as a pair: a sync-only hook fails under ``ainvoke``.
