"""Fixtures for the integrations: real toolwise and Chroma, real graphs, a scripted model.

Only the LLM is fake: a ``GenericFakeChatModel`` that plays back AIMessages with tool calls.
Helpers are handed out as fixtures (not imported) so the tests need no package layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from toolwise import ToolOutcome, Toolwise

Turn = str | Sequence[dict[str, Any]]


class ScriptedModel(GenericFakeChatModel):
    """Plays back scripted AIMessages; binding tools is a no-op (the script names them)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:  # type: ignore[override]
        return self


def _script(*turns: Turn) -> ScriptedModel:
    """A model answering each turn: a list of tool calls ``{"name", "args", "id"}`` or text.

    A final ``"done"`` is added when the script ends with tool calls.
    """
    messages = [
        AIMessage(turn) if isinstance(turn, str) else AIMessage("", tool_calls=list(turn))
        for turn in turns
    ]
    if not isinstance(turns[-1], str):
        messages.append(AIMessage("done"))
    return ScriptedModel(messages=iter(messages))


def _tool_node_graph(model: ScriptedModel, node: ToolNode, *, checkpointer: Any = None) -> Any:
    """The classic agent loop as a hand-built ``StateGraph``: model → ToolNode → model."""

    def think(state: MessagesState, config: RunnableConfig) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"], config)]}

    async def athink(state: MessagesState, config: RunnableConfig) -> dict[str, list[BaseMessage]]:
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", RunnableLambda(think, afunc=athink))
    builder.add_node("tools", node)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


@pytest.fixture
def script() -> Callable[..., ScriptedModel]:
    """``script(turn, ...)``: a scripted chat model, see :func:`_script`."""
    return _script


@pytest.fixture
def tool_node_graph() -> Callable[..., Any]:
    """``tool_node_graph(model, ToolNode(...), checkpointer=None)``: a compiled agent loop."""
    return _tool_node_graph


@dataclass(frozen=True)
class Lab:
    """Everything a graph test needs, in one fixture: toolwise, its records, graph builders."""

    tw: Toolwise
    records: Callable[..., list[ToolOutcome]]
    script: Callable[..., ScriptedModel]
    tool_node_graph: Callable[..., Any]


@pytest.fixture
def lab(
    tw: Toolwise,
    records: Callable[..., list[ToolOutcome]],
    script: Callable[..., ScriptedModel],
    tool_node_graph: Callable[..., Any],
) -> Lab:
    """The fixtures above, bundled (parametrized tests stay readable)."""
    return Lab(tw, records, script, tool_node_graph)
