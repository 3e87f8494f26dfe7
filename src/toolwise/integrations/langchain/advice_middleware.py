"""The model side of toolwise's agent middleware for ``langchain.agents.create_agent``.

:class:`AdviceMiddleware` works on its own (``middleware=[AdviceMiddleware(tw, ...)]``) and is
written to be mixed into ``ToolwiseMiddleware``, which adds the recording of tool calls:

* ``wrap_model_call`` / ``awrap_model_call`` decide once per model call, append the brief to
  the request's system message with ``request.override`` (the brief reaches the model but is
  never stored in ``messages``), hide tools in ``filter`` mode and set ``tool_choice`` in
  ``route`` mode. The decision goes to the ``toolwise`` state key through an
  ``ExtendedModelResponse`` command, applied with the model's reply — so the tool calls of
  that reply, and their records, carry its decision id and recommended tool.
* ``wrap_tool_call`` / ``awrap_tool_call`` run the :class:`~toolwise.integrations.langgraph.guard.
  ToolGuard`: a tool hidden by ``filter`` is refused even when the model names it, and gated
  tools wait for a human's approval (``interrupt()``; compile with a checkpointer).

To combine with recording in one class, call :meth:`AdviceMiddleware.guard_tool_call` from
your ``wrap_tool_call`` with the recording step as ``handler`` — the guard must be outermost
so refused calls are never recorded as failures.

Several of them in one agent (``middleware=[AdviceMiddleware(...), tw.middleware(...)]``):
the outermost that advises briefs the model and guards the tools; the inner ones see that
(a context variable set for the duration of the outer hook) and only record. One decision per
model call, so the ``toolwise`` state key gets one value per step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NotRequired

from langchain.agents.middleware.types import (
    AgentMiddleware,
    AgentState,
    ExtendedModelResponse,
    ModelRequest,
    ModelResponse,
)
from langchain_core.messages import SystemMessage, ToolMessage
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from toolwise.advice.advisor import Advisor
from toolwise.advice.models import STATE_KEY, Brief
from toolwise.integrations.langgraph.guard import ToolGuard
from toolwise.integrations.langgraph.state import decision_of, merge_system

__all__ = ["AdviceMiddleware", "ToolwiseAgentState"]

ToolResult = ToolMessage | Command[Any]

# Set while an outer toolwise middleware is briefing a model call / guarding a tool call, so an
# inner one does not decide (or ask a human) a second time.
_BRIEFING: ContextVar[bool] = ContextVar("toolwise_briefing", default=False)
_GUARDING: ContextVar[bool] = ContextVar("toolwise_guarding", default=False)


@contextmanager
def _holding(flag: ContextVar[bool]) -> Iterator[None]:
    token = flag.set(True)
    try:
        yield
    finally:
        flag.reset(token)


class ToolwiseAgentState(AgentState[Any]):
    """The agent state plus the ``toolwise`` key the decision is written to."""

    toolwise: NotRequired[dict[str, Any]]


def _run_config() -> Mapping[str, Any]:
    """The running graph's config (for ``toolwise_*`` metadata); ``{}`` outside a graph."""
    from langgraph.config import get_config

    try:
        return get_config()
    except RuntimeError:
        return {}


def _system_message(current: SystemMessage | None, text: str) -> SystemMessage:
    return merge_system([current] if current is not None else [], text)[0]  # type: ignore[return-value]


class AdviceMiddleware(AgentMiddleware[ToolwiseAgentState, Any, Any]):
    """Briefs the model before each call and guards the tool calls that follow.

    Args:
        advisor: the :class:`~toolwise.advice.Advisor` that briefs the model (``tw.advisor(...)``),
            or ``None`` to pass everything through (recording-only subclasses).

    Every hook has its async twin; the async model hook runs the blocking store query in a
    worker thread.
    """

    state_schema = ToolwiseAgentState

    def __init__(self, advisor: Advisor | None = None, /) -> None:
        super().__init__()
        self.advisor = advisor
        self.tool_guard: ToolGuard | None = (
            ToolGuard(self.advisor) if self.advisor is not None else None
        )

    # -- model side -------------------------------------------------------------------------

    def advised_request(self, request: ModelRequest[Any], brief: Brief) -> ModelRequest[Any]:
        """``request`` with the brief in its system message and the mode applied."""
        changes: dict[str, Any] = {
            "system_message": _system_message(request.system_message, brief.text),
        }
        if brief.hidden_tools:
            changes["tools"] = brief.visible(request.tools)
        if brief.forced_tool:
            changes["tool_choice"] = brief.forced_tool
        return request.override(**changes)

    def _with_decision(
        self, request: ModelRequest[Any], brief: Brief, response: ModelResponse[Any]
    ) -> ExtendedModelResponse[Any]:
        update = {STATE_KEY: brief.state_update(decision_of(request.state))}
        return ExtendedModelResponse(model_response=response, command=Command(update=update))

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any] | ExtendedModelResponse[Any]:
        """Brief the model for this call and remember the decision in state."""
        if self.advisor is None or not request.tools or _BRIEFING.get():
            return handler(request)
        brief = self.advisor.advise(request.messages, request.state, _run_config(), request.tools)
        with _holding(_BRIEFING):
            response = handler(self.advised_request(request, brief))
        return self._with_decision(request, brief, response)

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any] | ExtendedModelResponse[Any]:
        """The async twin of :meth:`wrap_model_call`."""
        if self.advisor is None or not request.tools or _BRIEFING.get():
            return await handler(request)
        brief = await self.advisor.aadvise(
            request.messages, request.state, _run_config(), request.tools
        )
        with _holding(_BRIEFING):
            response = await handler(self.advised_request(request, brief))
        return self._with_decision(request, brief, response)

    # -- tool side --------------------------------------------------------------------------

    def guard_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]
    ) -> ToolResult:
        """Refuse or confirm, then run ``handler`` (the tool, or an inner recording step)."""
        if self.tool_guard is None or _GUARDING.get():
            return handler(request)
        with _holding(_GUARDING):
            return self.tool_guard(request, handler)

    async def aguard_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolResult]],
    ) -> ToolResult:
        """The async twin of :meth:`guard_tool_call`."""
        if self.tool_guard is None or _GUARDING.get():
            return await handler(request)
        with _holding(_GUARDING):
            return await self.tool_guard.awrap(request, handler)

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]
    ) -> ToolResult:
        """Refuse hidden tools and ask before gated ones (see :meth:`guard_tool_call`)."""
        return self.guard_tool_call(request, handler)

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolResult]],
    ) -> ToolResult:
        """The async twin of :meth:`wrap_tool_call`."""
        return await self.aguard_tool_call(request, handler)
