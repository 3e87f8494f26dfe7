"""Pre-selection for LangGraph: a node for hand-built graphs, a ``pre_model_hook`` for
``create_react_agent``, and a ``ToolNode`` guard for filtering and human confirmation.

Where the brief goes, and why it never enters ``messages``:

* :func:`make_preselect_node` is a node placed before your model node. It writes the decision
  to the ``toolwise`` state key (decision id, recommended tool, brief text, hidden/forced
  tools) — never to ``messages``, so the conversation history and the checkpointed thread
  stay clean and each turn gets a fresh brief instead of piling up old ones. Your model node
  calls :func:`with_brief` (or :func:`brief_messages`) to put the brief in the model's input,
  and :func:`bind_advised` to honour ``filter``/``route``.
* :func:`make_pre_model_hook` returns ``llm_input_messages`` (the model's input only) and the
  ``toolwise`` key. ``create_react_agent``'s default state schema silently drops unknown keys,
  so pass ``state_schema=ToolwiseReactState`` to keep the decision id for the records.
* :class:`ToolGuard` wraps a ``ToolNode`` (``wrap_tool_call=guard, awrap_tool_call=
  guard.awrap``): it refuses tools that ``filter`` hid (hiding only the advertised tools
  would let a model that names a hidden tool run it anyway) and pauses the graph with
  ``interrupt()`` before tools that need a human's approval.

Every graph that carries the decision needs the ``toolwise`` key in its state schema:
:class:`ToolwiseState` (a ``MessagesState``) or :class:`ToolwiseReactState`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypeAlias, cast

from langchain_core.messages import AnyMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langgraph.graph import MessagesState
from langgraph.graph.message import add_messages
from langgraph.managed import RemainingSteps
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from toolwise.advice.advisor import Advisor
from toolwise.advice.confirm import approval_request, approved, read_answer
from toolwise.advice.models import STATE_KEY, Brief, tool_name
from toolwise.errors import InvalidArgumentError
from toolwise.recording.judge import REFUSED_MARKER as JUDGE_REFUSED_MARKER
from toolwise.recording.recorder import is_claimed

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = [
    "REFUSED_MARKER",
    "ToolGuard",
    "ToolwiseReactState",
    "ToolwiseState",
    "advised_model",
    "bind_advised",
    "brief_messages",
    "decision_of",
    "make_pre_model_hook",
    "make_preselect_node",
    "make_tool_guard",
    "merge_system",
    "with_brief",
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


class ToolwiseState(MessagesState):
    """``MessagesState`` plus the ``toolwise`` key the pre-selection node writes."""

    toolwise: NotRequired[dict[str, Any]]


class ToolwiseReactState(TypedDict):
    """``create_react_agent``'s state plus the ``toolwise`` key (pass as ``state_schema``)."""

    messages: Annotated[Sequence[BaseMessage], add_messages]
    remaining_steps: NotRequired[RemainingSteps]
    toolwise: NotRequired[dict[str, Any]]


def _with_tools(advisor: Advisor) -> Advisor:
    """A node or hook cannot see what the model binds: its advisor must list the tools."""
    if not advisor.options.tools:
        reason = "a node or pre_model_hook needs the candidate tools: pass tools=[...]"
        raise InvalidArgumentError("tools", advisor.options.tools, reason)
    return advisor


def _as_mapping(state: Any) -> Mapping[str, Any]:
    if isinstance(state, Mapping):
        return state
    if hasattr(state, "model_dump"):  # a pydantic state schema
        return {name: getattr(state, name) for name in type(state).model_fields}
    return {}


def decision_of(state: Any) -> Mapping[str, Any]:
    """The ``toolwise`` decision in a graph state (``{}`` when there is none)."""
    found = _as_mapping(state).get(STATE_KEY)
    return found if isinstance(found, Mapping) else {}


# -- getting the brief to the model ------------------------------------------------------------


def brief_messages(state: Any) -> list[SystemMessage]:
    """``[SystemMessage(brief)]`` for the latest decision in ``state``, or ``[]``."""
    text = decision_of(state).get("brief")
    return [SystemMessage(content=text)] if isinstance(text, str) and text else []


def merge_system(messages: Sequence[AnyMessage], text: str) -> list[AnyMessage]:
    """The brief appended to a leading system message, or put first as one.

    One system message, first, is what every provider accepts; the stored messages are not
    changed (a new message is built).
    """
    if messages and isinstance(messages[0], SystemMessage):
        first = messages[0]
        content: str | list[str | dict[Any, Any]]
        if isinstance(first.content, str):
            content = f"{first.content}\n\n{text}" if first.content else text
        else:
            content = [*first.content, {"type": "text", "text": text}]
        return [first.model_copy(update={"content": content}), *messages[1:]]
    return [SystemMessage(content=text), *messages]


def with_brief(state: Any, messages: Sequence[AnyMessage] | None = None) -> list[AnyMessage]:
    """The model's input for this turn: ``messages`` (default ``state["messages"]``) with the
    brief merged into the leading system message. Nothing is written back to ``state``."""
    if messages is None:
        messages = list(_as_mapping(state).get("messages") or ())
    text = decision_of(state).get("brief")
    if not isinstance(text, str) or not text:
        return list(messages)
    return merge_system(messages, text)


def bind_advised(
    model: BaseChatModel, tools: Sequence[Any], state: Any, **kwargs: Any
) -> Runnable[Any, Any]:
    """``model.bind_tools`` honouring the decision: hidden tools left out, a routed tool forced.

    In ``advise`` mode this is plain ``bind_tools(tools)``.
    """
    decision = decision_of(state)
    hidden = set(decision.get("hidden_tools") or ())
    visible = [tool for tool in tools if tool_name(tool) not in hidden]
    forced = decision.get("forced_tool")
    if isinstance(forced, str) and forced:
        kwargs["tool_choice"] = forced
    return model.bind_tools(visible, **kwargs)


def advised_model(
    model: BaseChatModel, tools: Sequence[Any]
) -> Callable[[Any, Any], Runnable[Any, Any]]:
    """A dynamic model for ``create_react_agent(model=...)`` that applies ``filter``/``route``.

    ``create_react_agent(advised_model(llm, tools), ToolNode(tools, ...), pre_model_hook=hook,
    state_schema=ToolwiseReactState)``.
    """

    def resolve(state: Any, runtime: Any) -> Runnable[Any, Any]:
        return bind_advised(model, tools, state)

    return resolve


# -- the node and the hook ---------------------------------------------------------------------


def _config_of(config: RunnableConfig | None) -> Mapping[str, Any]:
    return cast("Mapping[str, Any]", config or {})


def make_preselect_node(advisor: Advisor, /) -> RunnableLambda[Any, dict[str, Any]]:
    """A LangGraph node that decides before the model node and writes ``{"toolwise": ...}``.

    Args:
        advisor: an :class:`~toolwise.advice.Advisor` whose options list the candidate
            ``tools`` (a node cannot see what the model node binds).

    Raises:
        InvalidArgumentError: the advisor's options list no ``tools``.

    Returns:
        A runnable with sync and async paths (the async one runs the blocking store query in
        a worker thread). Add it with ``graph.add_node("preselect", node)`` and an edge
        ``preselect -> model``; the state schema needs the ``toolwise`` key
        (:class:`ToolwiseState`).
    """
    _with_tools(advisor)

    def update(state: Any, brief: Brief) -> dict[str, Any]:
        return {STATE_KEY: brief.state_update(decision_of(state))}

    def preselect(state: Any, config: RunnableConfig) -> dict[str, Any]:
        mapping = _as_mapping(state)
        return update(state, advisor.advise(None, mapping, _config_of(config)))

    async def apreselect(state: Any, config: RunnableConfig) -> dict[str, Any]:
        mapping = _as_mapping(state)
        return update(state, await advisor.aadvise(None, mapping, _config_of(config)))

    return RunnableLambda(preselect, afunc=apreselect, name="toolwise_preselect")


def make_pre_model_hook(advisor: Advisor, /) -> RunnableLambda[Any, dict[str, Any]]:
    """A ``pre_model_hook`` for ``langgraph.prebuilt.create_react_agent``.

    Returns ``{"llm_input_messages": [...], "toolwise": {...}}``: the brief reaches the model
    merged into the leading system message without being stored in ``messages``. Pass
    ``state_schema=ToolwiseReactState`` so the ``toolwise`` key is kept (the default schema
    drops it, and the records then lack the decision id). ``filter``/``route`` also need
    :func:`advised_model` (the hook cannot rebind the model) and a :class:`ToolGuard`.

    Raises:
        InvalidArgumentError: the advisor's options list no ``tools``.
    """
    _with_tools(advisor)

    def update(state: Mapping[str, Any], brief: Brief) -> dict[str, Any]:
        messages = list(state.get("messages") or ())
        return {
            "llm_input_messages": merge_system(messages, brief.text),
            STATE_KEY: brief.state_update(decision_of(state)),
        }

    def hook(state: Any, config: RunnableConfig) -> dict[str, Any]:
        mapping = _as_mapping(state)
        return update(mapping, advisor.advise(None, mapping, _config_of(config)))

    async def ahook(state: Any, config: RunnableConfig) -> dict[str, Any]:
        mapping = _as_mapping(state)
        return update(mapping, await advisor.aadvise(None, mapping, _config_of(config)))

    return RunnableLambda(hook, afunc=ahook, name="toolwise_pre_model_hook")


# -- the tool-call guard -----------------------------------------------------------------------


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
                state=_as_mapping(request.state),
                metadata=config.get("metadata") if isinstance(config, Mapping) else None,
                error_type=error_type,
                message=reason,
            )
        log.info("toolwise: refused a call to %s (%s)", name, error_type)
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
