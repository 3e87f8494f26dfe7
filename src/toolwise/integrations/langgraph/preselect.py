"""Pre-selection for LangGraph: a node for hand-built graphs, a ``pre_model_hook`` for
``create_react_agent``.

* :func:`make_preselect_node` is a node placed before your model node. It writes the decision
  to the ``toolwise`` state key (:mod:`toolwise.integrations.langgraph.state`) — never to
  ``messages`` — and each turn gets a fresh brief instead of piling up old ones. Your model
  node calls :func:`~toolwise.integrations.langgraph.state.with_brief` to put the brief in the
  model's input, and :func:`~toolwise.integrations.langgraph.state.bind_advised` to honour
  ``filter``/``route``.
* :func:`make_pre_model_hook` returns ``llm_input_messages`` (the model's input only) and the
  ``toolwise`` key. ``create_react_agent``'s default state schema silently drops unknown keys,
  so pass ``state_schema=ToolwiseReactState`` to keep the decision id for the records.

Tools the decision hid, and tools that need a human's approval, are enforced at the tool node
by :class:`~toolwise.integrations.langgraph.guard.ToolGuard`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from langchain_core.runnables import RunnableConfig, RunnableLambda

from toolwise.advice.advisor import Advisor
from toolwise.advice.models import STATE_KEY, Brief
from toolwise.errors import InvalidArgumentError
from toolwise.integrations.langgraph.state import as_mapping, decision_of, merge_system

__all__ = ["make_pre_model_hook", "make_preselect_node"]


def _with_tools(advisor: Advisor) -> Advisor:
    """A node or hook cannot see what the model binds: its advisor must list the tools."""
    if not advisor.options.tools:
        reason = "a node or pre_model_hook needs the candidate tools: pass tools=[...]"
        raise InvalidArgumentError("tools", advisor.options.tools, reason)
    return advisor


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
        mapping = as_mapping(state)
        return update(state, advisor.advise(None, mapping, _config_of(config)))

    async def apreselect(state: Any, config: RunnableConfig) -> dict[str, Any]:
        mapping = as_mapping(state)
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
        mapping = as_mapping(state)
        return update(mapping, advisor.advise(None, mapping, _config_of(config)))

    async def ahook(state: Any, config: RunnableConfig) -> dict[str, Any]:
        mapping = as_mapping(state)
        return update(mapping, await advisor.aadvise(None, mapping, _config_of(config)))

    return RunnableLambda(hook, afunc=ahook, name="toolwise_pre_model_hook")
