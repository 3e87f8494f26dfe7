"""A ``ToolNode`` guard: refuse the tools a decision hid, ask a human before gated ones.

:class:`ToolGuard` wraps a ``ToolNode`` (``wrap_tool_call=guard, awrap_tool_call=guard.awrap``):
it refuses tools that ``filter`` hid (hiding only the advertised tools would let a model that
names a hidden tool run it anyway) and pauses the graph with ``interrupt()`` before tools that
need a human's approval. A call a human approved runs inside
:func:`toolwise.recording.scope.approved`, so an instrumented tool does not ask again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import nullcontext
from typing import Any, TypeAlias

from langchain_core.messages import ToolMessage
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command, interrupt

from toolwise._checks import clipped
from toolwise.advice.advisor import Advisor
from toolwise.advice.confirm import approval_request, read_answer
from toolwise.integrations.langgraph.state import as_mapping, decision_of
from toolwise.recording.judge import REFUSED_MARKER as JUDGE_REFUSED_MARKER
from toolwise.recording.scope import approved, is_claimed

__all__ = [
    "REFUSED_MARKER",
    "AsyncExecute",
    "AsyncWrapper",
    "Execute",
    "ToolGuard",
    "ToolResult",
    "Wrapper",
    "make_tool_guard",
]

log = logging.getLogger("toolwise.advice")

REFUSED_MARKER = JUDGE_REFUSED_MARKER  # the recording side judges these as "refused"
"""``ToolMessage.response_metadata`` key set to ``"refused"`` on calls the guard stopped, so a
recording wrapper outside the guard records a refusal, not a tool failure."""

ToolResult: TypeAlias = ToolMessage | Command[Any]
Execute: TypeAlias = Callable[[ToolCallRequest], ToolResult]
AsyncExecute: TypeAlias = Callable[[ToolCallRequest], Awaitable[ToolResult]]
Wrapper: TypeAlias = Callable[[ToolCallRequest, Execute], ToolResult]
AsyncWrapper: TypeAlias = Callable[[ToolCallRequest, AsyncExecute], Awaitable[ToolResult]]


class ToolGuard:
    """A ``ToolNode`` interceptor: refuses hidden tools, asks a human before gated ones.

    Args:
        advisor: supplies the confirmation policy and labels refusals like other records.
        then: an inner interceptor to run for calls that pass (e.g. ``tw.tool_wrapper()``);
            the guard stays outermost so a refused call never reaches it.
        athen: the async twin of ``then``; defaults to ``then.awrap`` when it exists.

    Use ``ToolNode(tools, wrap_tool_call=guard, awrap_tool_call=guard.awrap)`` and compile
    the graph with a checkpointer (``interrupt()`` needs one). Control flow (interrupts) is
    re-raised untouched. A refusal — by a human, or of a hidden tool — is recorded with
    ``outcome="refused"`` (never charged to the tool) and answered with an error
    ``ToolMessage`` the model can read.
    """

    def __init__(
        self,
        advisor: Advisor,
        *,
        then: Wrapper | None = None,
        athen: AsyncWrapper | None = None,
    ) -> None:
        self.advisor = advisor
        self._then = then
        self._athen = athen if athen is not None else getattr(then, "awrap", None)

    def check(self, request: ToolCallRequest) -> ToolMessage | bool:
        """The refusal for ``request``, else whether a human approved it; may ``interrupt()``."""
        call = request.tool_call
        name = call["name"]
        decision = decision_of(request.state)
        if name in (decision.get("hidden_tools") or ()):
            message = (
                f"Tool {name!r} is not available for this request: toolwise hid it because "
                "its recent record is too unreliable. It did not run; use one of the tools "
                "you were given."
            )
            return self._refuse(request, "HiddenTool", message, message)
        reason = self.advisor.confirmation.reason(name, request.tool)
        if reason is None:
            return False
        description = getattr(request.tool, "description", "") or ""
        answer = read_answer(
            interrupt(
                approval_request(
                    name=name,
                    args=call.get("args", {}),
                    tool_call_id=call.get("id") or "",
                    reason=reason,
                    description=description if isinstance(description, str) else "",
                )
            )
        )
        if answer.approved:
            return True
        why = f": {answer.message}" if answer.message else ""
        content = (
            f"A human reviewer refused the call to {name!r}{why}. It did not run. Do not "
            "call it again for this request unless the user asks; explain what was refused."
        )
        return self._refuse(
            request, "HumanRefusal", answer.message or "refused by a human reviewer", content
        )

    def _refuse(
        self, request: ToolCallRequest, error_type: str, reason: str, content: str
    ) -> ToolMessage:
        call = request.tool_call
        name = call["name"]
        if not is_claimed(name):  # else an outer recorder records it, reading REFUSED_MARKER
            config = getattr(request.runtime, "config", None) or {}
            self.advisor.record_refusal(
                tool=name,
                args=call.get("args", {}),
                tool_call_id=call.get("id") or "",
                state=as_mapping(request.state),
                metadata=config.get("metadata") if isinstance(config, Mapping) else None,
                error_type=error_type,
                message=reason,
            )
        log.info("toolwise: refused a call to %s (%s)", clipped(name), error_type)
        return ToolMessage(
            content=content,
            name=name,
            tool_call_id=call.get("id") or "",
            status="error",
            response_metadata={REFUSED_MARKER: "refused", "toolwise_reason": error_type},
        )

    def __call__(self, request: ToolCallRequest, execute: Execute) -> ToolResult:
        checked = self.check(request)
        if isinstance(checked, ToolMessage):
            return checked
        with approved(request.tool_call["name"]) if checked else nullcontext():
            return self._then(request, execute) if self._then is not None else execute(request)

    async def awrap(self, request: ToolCallRequest, execute: AsyncExecute) -> ToolResult:
        """The async twin of ``__call__``, for ``ToolNode(awrap_tool_call=...)``."""
        if self._athen is None and self._then is not None:  # before asking anyone anything
            msg = (
                "ToolGuard(then=...) has no async twin: pass athen=..., or a wrapper with an "
                "`awrap` method (as tw.tool_wrapper() returns), to run the graph with ainvoke"
            )
            raise NotImplementedError(msg)
        checked = self.check(request)
        if isinstance(checked, ToolMessage):
            return checked
        with approved(request.tool_call["name"]) if checked else nullcontext():
            if self._athen is not None:
                return await self._athen(request, execute)
            return await execute(request)


def make_tool_guard(
    advisor: Advisor,
    /,
    *,
    then: Wrapper | None = None,
    athen: AsyncWrapper | None = None,
) -> ToolGuard:
    """A :class:`ToolGuard` from an advisor: ``ToolGuard(advisor, then=..., athen=...)``."""
    return ToolGuard(advisor, then=then, athen=athen)
