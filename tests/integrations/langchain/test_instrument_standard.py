"""langchain-tests' standard ``ToolsUnitTests`` pass on an instrumented tool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.tools import BaseTool, tool
from langchain_tests.unit_tests import ToolsUnitTests

from toolwise import Toolwise
from toolwise.integrations.langchain import InstrumentedTool
from toolwise.storage.clients import ephemeral_client


@tool
def convert(amount: float, currency: str) -> str:
    """Convert an amount of euros into ``currency`` at a fixed rate."""
    return f"{amount * 1.1:.2f} {currency}"


_instrumented: list[InstrumentedTool] = []


@pytest.fixture(scope="module", autouse=True)
def instrumented(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstrumentedTool]:
    """One toolwise for the module; the suite reads the tool through ``tool_constructor``."""
    spool = tmp_path_factory.mktemp("standard") / "spool"
    with Toolwise(client=ephemeral_client(), spool_dir=spool, prefix="standard") as tw:
        _instrumented.append(tw.instrument(convert, timeout=5.0, retries=1, cost_estimate=0.01))
        yield _instrumented[-1]
        _instrumented.clear()


class TestInstrumentedToolStandard(ToolsUnitTests):
    """The standard suite, run against ``tw.instrument(convert, ...)``."""

    @property
    def tool_constructor(self) -> BaseTool:
        return _instrumented[-1]

    @property
    def tool_invoke_params_example(self) -> dict[str, object]:
        return {"amount": 10.0, "currency": "USD"}
