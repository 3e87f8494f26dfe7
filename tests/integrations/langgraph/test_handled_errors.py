"""The private LangChain/LangGraph error handlers toolwise wraps to see handled errors.

These tests fail loudly when a LangChain or LangGraph release renames or re-signs one of
them: without the wrappers, a ``handle_tool_error=True`` tool called bare is recorded as a
success again (the entry points fall back to the visible signals only).
"""

from __future__ import annotations

import importlib
import inspect

import pytest
from langchain_core.tools import ToolException, tool

from toolwise.integrations.langgraph import handled_errors


@pytest.mark.parametrize(("module", "name", "by_node"), handled_errors.WRAPPED)
def test_each_wrapped_handler_exists_and_takes_the_error_first(
    module: str, name: str, by_node: bool
) -> None:
    handled_errors.install()
    function = getattr(importlib.import_module(module), name, None)
    assert callable(function), f"{module}.{name} is gone: update handled_errors.WRAPPED"
    assert getattr(function, "__toolwise_notes__", False), f"{module}.{name} is not wrapped"
    first = next(iter(inspect.signature(inspect.unwrap(function)).parameters))
    assert first in ("e", "error", "exception"), f"{module}.{name} no longer takes the error first"


def test_nothing_is_missing_in_the_installed_versions() -> None:
    assert handled_errors.missing() == []


def test_a_handled_error_is_noted_with_its_exception_and_taken_once() -> None:
    @tool
    def deploy(service: str) -> str:
        """Deploy a service."""
        raise ToolException("registry down")

    deploy.handle_tool_error = True
    handled_errors.install()
    handled_errors.forget()
    output = deploy.invoke({"service": "api"})
    note = handled_errors.take(output)
    assert note is not None
    assert (note.content, type(note.error), note.by_node) == ("registry down", ToolException, False)
    assert handled_errors.take(output) is None


def test_a_note_is_only_taken_for_its_own_output() -> None:
    @tool
    def deploy(service: str) -> str:
        """Deploy a service."""
        raise ToolException("registry down")

    deploy.handle_tool_error = True
    handled_errors.install()
    output = deploy.invoke({"service": "api"})
    assert handled_errors.take("a different result") is None
    assert handled_errors.take(output) is not None
