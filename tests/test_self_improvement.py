"""``tw.lessons()``, ``tw.composite_tools()``, ``tw.examples()`` … (``_self_improvement``):
arguments checked at the front door, then the runtime's improver does the work."""

from __future__ import annotations

import pytest
from langchain_core.tools import tool

from toolwise import InvalidArgumentError, Toolwise


@tool
def deploy(service: str) -> str:
    """Deploy a service."""
    return f"deployed {service}"


def test_the_conveniences_use_the_runtimes_improver(tw: Toolwise) -> None:
    """``tw.improver`` is ``tw.runtime.improver``: one improver, built once."""
    assert tw.improver is tw.runtime.improver


def test_composite_tools_refuses_tool_names(tw: Toolwise) -> None:
    """A composite runs its steps, so it needs the tools themselves, not their names."""
    with pytest.raises(InvalidArgumentError) as info:
        tw.composite_tools(["deploy"])  # type: ignore[list-item]
    assert info.value.field == "tools"
    assert tw.composite_tools([deploy]) == []  # nothing proposed yet


def test_examples_is_the_deprecated_name_of_demonstrations(tw: Toolwise) -> None:
    with pytest.warns(DeprecationWarning, match="demonstrations"):
        assert tw.examples("deploy the api") == tw.demonstrations("deploy the api") == []


def test_a_bad_k_is_named_before_the_improver_is_asked(tw: Toolwise) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        tw.lessons("deploy", k=0)
    assert info.value.field == "k"
