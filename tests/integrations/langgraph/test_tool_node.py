"""``tw.tool_wrapper()`` in a real ``ToolNode``: judging what the node hands back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command

from toolwise import ToolOutcome, Toolwise

Records = Callable[..., list[ToolOutcome]]


@tool
def restart(service: str) -> str:
    """Restart a service; the database cannot be restarted from here."""
    if service == "db":
        raise PermissionError("db restarts need a ticket")
    return f"{service} restarted"


def _node(tw: Toolwise, tools: list[Any], **kwargs: Any) -> ToolNode:
    wrapper = tw.tool_wrapper(agent_id="ops")
    return ToolNode(tools, wrap_tool_call=wrapper, awrap_tool_call=wrapper.awrap, **kwargs)


def _ask(*calls: dict[str, Any]) -> dict[str, Any]:
    """State as a model left it: the request, then an AIMessage with these tool calls."""
    return {"messages": [HumanMessage("restart things"), AIMessage("", tool_calls=list(calls))]}


def _one_node_graph(node: ToolNode, state: type = MessagesState) -> Any:
    builder = StateGraph(state)
    builder.add_node("tools", node)
    builder.add_edge(START, "tools")
    return builder.compile()


def test_exceptions_the_node_handles_keep_their_class(tw: Toolwise, records: Records) -> None:
    """With ``handle_tool_errors=True`` the node returns a message; the record names the error."""
    graph = _one_node_graph(_node(tw, [restart], handle_tool_errors=True))

    out = graph.invoke(_ask({"name": "restart", "args": {"service": "db"}, "id": "c1"}))

    assert out["messages"][-1].status == "error"
    [record] = records("ops")
    assert (record.outcome, record.error_type, record.tool_output) == (
        "failure",
        "PermissionError",
        "",
    )


def test_a_custom_error_message_still_names_the_exception(tw: Toolwise, records: Records) -> None:
    """A message the node was told to use instead of the exception is still a failure, named
    after the exception the tool raised (as a callback handler records it)."""
    graph = _one_node_graph(_node(tw, [restart], handle_tool_errors="could not restart"))

    graph.invoke(_ask({"name": "restart", "args": {"service": "db"}, "id": "c1"}))

    [record] = records("ops")
    assert (record.outcome, record.error_type, record.judged_by, record.tool_output) == (
        "failure",
        "PermissionError",
        "exception",
        "",
    )


def test_a_call_to_an_unknown_tool_is_not_recorded(tw: Toolwise, records: Records) -> None:
    """A tool name the model made up is its mistake, not a tool's outcome: nothing recorded."""
    graph = _one_node_graph(_node(tw, [restart]))

    out = graph.invoke(_ask({"name": "reboot", "args": {"service": "api"}, "id": "c1"}))

    assert out["messages"][-1].status == "error"
    assert records("ops") == []


def test_an_error_message_inside_a_command_is_a_failure(tw: Toolwise, records: Records) -> None:
    """A tool returning a ``Command`` whose ToolMessage has ``status="error"`` failed."""

    @tool
    def scale(replicas: int, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """Scale the deployment."""
        message = ToolMessage("quota exceeded", tool_call_id=tool_call_id, status="error")
        return Command(update={"messages": [message]})

    graph = _one_node_graph(_node(tw, [scale]))

    graph.invoke(_ask({"name": "scale", "args": {"replicas": 50}, "id": "c1"}))

    [record] = records("ops")
    assert (record.outcome, record.error_type, record.tool_input) == (
        "failure",
        "ToolError",
        '{"replicas": 50}',
    )


def test_labels_come_from_the_state_brief_and_run_metadata(tw: Toolwise, records: Records) -> None:
    """The ``toolwise`` entry of state and ``toolwise_*`` metadata override the defaults."""

    class State(MessagesState):
        toolwise: dict[str, str]

    graph = _one_node_graph(_node(tw, [restart]), State)
    state = {
        **_ask({"name": "restart", "args": {"service": "api"}, "id": "c1"}),
        "toolwise": {"decision_id": "d-42", "recommended_tool": "restart"},
    }

    graph.invoke(state, {"metadata": {"toolwise_environment": "production"}})

    [record] = records("ops")
    assert (record.decision_id, record.recommended_tool, record.environment) == (
        "d-42",
        "restart",
        "production",
    )
    assert record.task == "restart things"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_sync_only_wrapper_also_records_under_ainvoke(
    tw: Toolwise, records: Records, mode: str
) -> None:
    """Given only ``wrap_tool_call``, ToolNode falls back to it under ``ainvoke``."""
    graph = _one_node_graph(ToolNode([restart], wrap_tool_call=tw.tool_wrapper(agent_id="ops")))
    request = _ask({"name": "restart", "args": {"service": "api"}, "id": "c1"})

    if mode == "sync":
        graph.invoke(request)
    else:
        asyncio.run(graph.ainvoke(request))

    assert [r.tool_output for r in records("ops")] == ["api restarted"]
