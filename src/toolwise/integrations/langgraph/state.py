"""The ``toolwise`` key in LangGraph state, and getting the decision from it to the model.

A pre-selection step writes its decision (decision id, recommended tool, brief text, hidden
and forced tools) under the ``toolwise`` state key — never into ``messages``, so the stored
conversation and the checkpointed thread stay clean. The model's input gets the brief through
:func:`with_brief` (or :func:`brief_messages`), and :func:`bind_advised` /
:func:`advised_model` honour ``filter`` and ``route``.

Every graph that carries the decision needs the key in its state schema:
:class:`ToolwiseState` (a ``MessagesState``) or :class:`ToolwiseReactState`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from langchain_core.messages import AnyMessage, BaseMessage, SystemMessage
from langchain_core.runnables import Runnable
from langgraph.graph import MessagesState
from langgraph.graph.message import add_messages
from langgraph.managed import RemainingSteps
from typing_extensions import TypedDict

from toolwise.advice.models import STATE_KEY, tool_name

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = [
    "ToolwiseReactState",
    "ToolwiseState",
    "advised_model",
    "as_mapping",
    "bind_advised",
    "brief_messages",
    "decision_of",
    "merge_system",
    "with_brief",
]


class ToolwiseState(MessagesState):
    """``MessagesState`` plus the ``toolwise`` key the pre-selection node writes."""

    toolwise: NotRequired[dict[str, Any]]


class ToolwiseReactState(TypedDict):
    """``create_react_agent``'s state plus the ``toolwise`` key (pass as ``state_schema``)."""

    messages: Annotated[Sequence[BaseMessage], add_messages]
    remaining_steps: NotRequired[RemainingSteps]
    toolwise: NotRequired[dict[str, Any]]


def as_mapping(state: Any) -> Mapping[str, Any]:
    if isinstance(state, Mapping):
        return state
    if hasattr(state, "model_dump"):  # a pydantic state schema
        return {name: getattr(state, name) for name in type(state).model_fields}
    return {}


def decision_of(state: Any) -> Mapping[str, Any]:
    """The ``toolwise`` decision in a graph state (``{}`` when there is none)."""
    found = as_mapping(state).get(STATE_KEY)
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
        messages = list(as_mapping(state).get("messages") or ())
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
