"""Moved to :mod:`toolwise.integrations.langgraph`; this alias is kept for one release."""

import warnings

from toolwise.integrations.langgraph import (
    REFUSED_MARKER,
    ToolGuard,
    ToolwiseReactState,
    ToolwiseState,
    advised_model,
    bind_advised,
    brief_messages,
    decision_of,
    make_pre_model_hook,
    make_preselect_node,
    make_tool_guard,
    merge_system,
    with_brief,
)

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

warnings.warn(
    "toolwise.integrations.preselect moved to toolwise.integrations.langgraph",
    DeprecationWarning,
    stacklevel=2,
)
