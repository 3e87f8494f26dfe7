"""An instrumented tool inside graphs: injected arguments still reach the wrapped tool."""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import HumanMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.prebuilt import InjectedState, ToolNode


def test_injected_state_and_tool_call_id_reach_the_wrapped_tool(lab: Any) -> None:
    """ToolNode injects into the wrapper what the wrapped tool declares, hidden from the model."""

    @tool
    def summarize(
        topic: str,
        state: Annotated[dict[str, Any], InjectedState],
        tool_call_id: Annotated[str, InjectedToolCallId],
    ) -> str:
        """Summarize the conversation so far on a topic."""
        return f"{topic}: {len(state['messages'])} messages, call {tool_call_id}"

    instrumented = lab.tw.instrument(summarize)
    calls = [{"name": "summarize", "args": {"topic": "deploys"}, "id": "c7"}]
    graph = lab.tool_node_graph(lab.script(calls), ToolNode([instrumented]))

    out = graph.invoke({"messages": [HumanMessage("what happened?")]})

    assert out["messages"][2].content == "deploys: 2 messages, call c7"
    assert "state" not in instrumented.tool_call_schema.model_json_schema()["properties"]
    [record] = lab.records()
    assert record.tool_input == '{"topic": "deploys"}'  # injected values are not stored
