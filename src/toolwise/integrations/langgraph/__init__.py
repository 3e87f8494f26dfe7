"""LangGraph adapters: record at the ``ToolNode``, brief before the model, guard the tools.

Build them with ``tw.tool_wrapper()``, ``tw.preselect_node(tools=...)``,
``tw.pre_model_hook(tools=...)`` and ``tw.tool_guard(...)``, or by hand from
``tw.runtime.recorder`` and an :class:`~toolwise.advice.Advisor`.
"""

from toolwise.integrations.langgraph.control_flow import is_control_flow
from toolwise.integrations.langgraph.guard import REFUSED_MARKER, ToolGuard, make_tool_guard
from toolwise.integrations.langgraph.preselect import make_pre_model_hook, make_preselect_node
from toolwise.integrations.langgraph.state import (
    ToolwiseReactState,
    ToolwiseState,
    advised_model,
    bind_advised,
    brief_messages,
    decision_of,
    merge_system,
    with_brief,
)
from toolwise.integrations.langgraph.tool_node import ToolCallRecorder, tool_node_verdict

__all__ = [
    "REFUSED_MARKER",
    "ToolCallRecorder",
    "ToolGuard",
    "ToolwiseReactState",
    "ToolwiseState",
    "advised_model",
    "bind_advised",
    "brief_messages",
    "decision_of",
    "is_control_flow",
    "make_pre_model_hook",
    "make_preselect_node",
    "make_tool_guard",
    "merge_system",
    "tool_node_verdict",
    "with_brief",
]
