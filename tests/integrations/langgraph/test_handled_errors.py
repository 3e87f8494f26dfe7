"""The private LangChain/LangGraph error handlers toolwise wraps to see handled errors.

These tests fail loudly when a LangChain or LangGraph release renames, re-signs or stops
calling one of them: without the wrappers, a ``handle_tool_error=True`` tool called bare is
recorded as a success again (the entry points fall back to the visible signals only). Each
handler's signature is pinned as it was when the wrapper was written; a release that changes
one must be read, the wrapper checked against it, and :data:`SIGNATURES` updated.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import ToolException, tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import ValidationError

from toolwise.integrations.langgraph import handled_errors

_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
_KEYWORD = inspect.Parameter.KEYWORD_ONLY

SIGNATURES: dict[tuple[str, str], list[tuple[str, inspect._ParameterKind]]] = {
    ("langchain_core.tools.base", "_handle_tool_error"): [("e", _POSITIONAL), ("flag", _KEYWORD)],
    ("langchain_core.tools.base", "_handle_validation_error"): [
        ("e", _POSITIONAL),
        ("flag", _KEYWORD),
    ],
    ("langgraph.prebuilt.tool_node", "_handle_tool_error"): [
        ("e", _POSITIONAL),
        ("flag", _KEYWORD),
    ],
}
"""The signature of each wrapped handler in the LangChain/LangGraph versions last checked
(langchain-core 1.x, langgraph 1.x)."""


def test_every_wrapped_handler_has_its_signature_pinned() -> None:
    assert {(m, n) for m, n, _ in handled_errors.WRAPPED} == set(SIGNATURES)


@pytest.mark.parametrize(("module", "name", "by_node"), handled_errors.WRAPPED)
def test_each_wrapped_handler_exists_with_the_signature_it_was_written_for(
    module: str, name: str, by_node: bool
) -> None:
    handled_errors.install()
    function = getattr(importlib.import_module(module), name, None)
    assert callable(function), f"{module}.{name} is gone: update handled_errors.WRAPPED"
    assert getattr(function, "__toolwise_notes__", False), f"{module}.{name} is not wrapped"
    signature = inspect.signature(inspect.unwrap(function))
    found = [(p.name, p.kind) for p in signature.parameters.values()]
    assert found == SIGNATURES[(module, name)], (
        f"{module}.{name} changed its signature to {signature}: check that its first "
        "positional argument is still the exception, then update SIGNATURES"
    )


def test_nothing_is_missing_in_the_installed_versions() -> None:
    assert handled_errors.missing() == []


def _failing(**flags: Any) -> Any:
    @tool
    def deploy(service: str) -> str:
        """Deploy a service."""
        raise ToolException("registry down")

    for flag, value in flags.items():
        setattr(deploy, flag, value)
    return deploy


def test_langchain_notes_a_handled_tool_error_with_its_exception() -> None:
    handled_errors.install()
    handled_errors.forget()
    output = _failing(handle_tool_error=True).invoke({"service": "api"})
    note = handled_errors.take(output)
    assert note is not None, "langchain_core no longer calls _handle_tool_error"
    assert (note.content, type(note.error), note.by_node) == ("registry down", ToolException, False)
    assert handled_errors.take(output) is None


def test_langchain_notes_a_handled_validation_error() -> None:
    handled_errors.install()
    handled_errors.forget()
    output = _failing(handle_validation_error=True).invoke({"service": {"no": "dict"}})
    note = handled_errors.take(output)
    assert note is not None, "langchain_core no longer calls _handle_validation_error"
    assert isinstance(note.error, ValidationError)
    assert not note.by_node


def test_langgraph_notes_an_exception_its_tool_node_handled() -> None:
    handled_errors.install()
    call = {"name": "deploy", "args": {"service": "api"}, "id": "c1"}
    notes = []

    def wrapper(request: Any, execute: Any) -> Any:  # runs in the tool call's own context
        handled_errors.forget()
        result = execute(request)
        notes.append(handled_errors.take(result))
        return result

    node = ToolNode([_failing()], handle_tool_errors="could not deploy", wrap_tool_call=wrapper)
    graph = StateGraph(MessagesState)
    graph.add_node("tools", node)
    graph.add_edge(START, "tools")
    graph.compile().invoke({"messages": [AIMessage("", tool_calls=[call])]})
    [note] = notes
    assert note is not None, "langgraph's ToolNode no longer calls _handle_tool_error"
    assert (note.content, type(note.error), note.by_node) == (
        "could not deploy",
        ToolException,
        True,
    )


def test_a_note_is_only_taken_for_its_own_output() -> None:
    handled_errors.install()
    output = _failing(handle_tool_error=True).invoke({"service": "api"})
    assert handled_errors.take("a different result") is None
    assert handled_errors.take(output) is not None


def test_a_handler_that_no_longer_takes_the_error_first_is_left_alone() -> None:
    """A release that makes the exception keyword-only is not wrapped (and so cannot be
    broken by the wrapper): it is reported as missing instead."""

    def changed(*, e: BaseException, flag: Any) -> str:
        return str(e)

    assert not handled_errors._takes_error_first(changed)

    def unchanged(e: BaseException, *, flag: Any) -> str:
        return str(e)

    assert handled_errors._takes_error_first(unchanged)


def test_a_wrapper_returns_and_raises_what_the_handler_does() -> None:
    def handler(e: BaseException, *, flag: Any) -> Any:
        if flag is None:
            raise ValueError("unexpected flag")
        return [{"type": "text", "text": str(e)}]

    wrapped = handled_errors._noting(handler, by_node=False)
    handled_errors.forget()
    content = wrapped(ToolException("x"), flag=True)
    assert content == [{"type": "text", "text": "x"}]
    assert handled_errors.take(content) is not None
    with pytest.raises(ValueError, match="unexpected flag"):
        wrapped(ToolException("x"), flag=None)
