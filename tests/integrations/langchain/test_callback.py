"""The callback handler records direct tool calls, judged by what LangChain hands callbacks."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.errors import GraphInterrupt

from toolwise import ToolOutcome, Toolwise

Records = Callable[..., list[ToolOutcome]]


def _call(args: dict[str, Any], call_id: str = "call-1", name: str = "add") -> dict[str, Any]:
    return {"type": "tool_call", "name": name, "args": args, "id": call_id}


@pytest.fixture
def add() -> BaseTool:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers; negative numbers are refused with a ToolException."""
        if a < 0:
            raise ToolException("negative numbers are not supported")
        if b < 0:
            raise ValueError("b must not be negative")
        return a + b

    return add


def test_direct_invoke_records_a_success(tw: Toolwise, records: Records, add: BaseTool) -> None:
    """A plain ``tool.invoke`` with the handler in config is recorded once, as a success."""
    handler = tw.callback(task_type="math", environment="test", costs={"add": 0.5})

    assert add.invoke({"a": 1, "b": 2}, config={"callbacks": [handler]}) == 3

    [record] = records()
    assert (record.tool, record.outcome, record.quality) == ("add", "success", 1.0)
    assert (record.task_type, record.environment, record.cost) == ("math", "test", 0.5)
    assert (record.tool_input, record.tool_output, record.source) == (
        '{"a": 1, "b": 2}',
        "3",
        "callback",
    )


async def test_direct_ainvoke_records_a_success(
    tw: Toolwise, records: Records, add: BaseTool
) -> None:
    """``ainvoke`` records the same way (the handler runs inline on the event loop)."""
    result = await add.ainvoke(_call({"a": 1, "b": 2}), config={"callbacks": [tw.callback()]})

    assert isinstance(result, ToolMessage)
    [record] = records()
    assert (record.outcome, record.tool_output, record.tool_call_id) == ("success", "3", "call-1")


def test_exception_is_recorded_as_failure_and_reraised(
    tw: Toolwise, records: Records, add: BaseTool
) -> None:
    """An exception passes through untouched and is recorded under its class name."""
    with pytest.raises(ValueError, match="b must not be negative"):
        add.invoke({"a": 1, "b": -1}, config={"callbacks": [tw.callback()]})

    [record] = records()
    assert (record.outcome, record.error_type, record.tool_output) == ("failure", "ValueError", "")
    assert record.error_message == "b must not be negative"


class _UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_an_exception_that_cannot_be_printed_is_still_recorded(
    tw: Toolwise, records: Records
) -> None:
    """Its record was lost (counted invalid) when judging it called ``str(error)``."""

    @tool
    def fragile(x: int) -> int:
        """Fail with an exception whose text cannot be read."""
        raise _UnprintableError

    with pytest.raises(_UnprintableError):
        fragile.invoke({"x": 1}, config={"callbacks": [tw.callback()]})

    [record] = records()
    assert (record.outcome, record.error_type) == ("failure", "_UnprintableError")
    assert record.error_message == "<unprintable _UnprintableError>"


def test_handled_tool_exception_in_a_tool_call_is_a_failure(
    tw: Toolwise, records: Records, add: BaseTool
) -> None:
    """With ``handle_tool_error`` a ToolCall returns ``ToolMessage(status="error")``: a failure."""
    add.handle_tool_error = True

    result = add.invoke(_call({"a": -1, "b": 2}), config={"callbacks": [tw.callback()]})

    assert result.status == "error"
    [record] = records()
    assert (record.outcome, record.error_type) == ("failure", "ToolError")
    assert record.tool_output == "negative numbers are not supported"


def test_bare_handled_tool_exception_is_recorded_as_a_failure(
    tw: Toolwise, records: Records, add: BaseTool
) -> None:
    """Without a ToolCall LangChain hands callbacks only the handled text; the handler still
    sees that it was a handled ToolException (issue 14 item 6)."""
    add.handle_tool_error = True

    text = add.invoke({"a": -1, "b": 2}, config={"callbacks": [tw.callback()]})

    assert text == "negative numbers are not supported"
    [record] = records()
    assert (record.outcome, record.error_type, record.judged_by) == (
        "failure",
        "ToolError",
        "tool_error",
    )
    assert record.tool_output == "negative numbers are not supported"


def test_a_judge_refines_a_success_into_partial(
    tw: Toolwise, records: Records, add: BaseTool
) -> None:
    """A user judge sees the output and may grade it partial with a quality."""

    def judge(output: object) -> tuple[str, float] | None:
        return ("partial", 0.3) if output == 0 else None

    add.invoke({"a": 0, "b": 0}, config={"callbacks": [tw.callback(judge=judge)]})

    [record] = records()
    assert (record.outcome, record.quality) == ("partial", 0.3)


def test_control_flow_is_not_recorded(tw: Toolwise, records: Records) -> None:
    """A ``GraphInterrupt`` (what ``interrupt()`` raises) is re-raised and never recorded."""

    @tool
    def ask(question: str) -> str:
        """Ask a human."""
        raise GraphInterrupt(())

    with pytest.raises(GraphInterrupt):
        ask.invoke({"question": "deploy?"}, config={"callbacks": [tw.callback()]})

    assert records() == []


def test_run_metadata_overrides_the_labels(tw: Toolwise, records: Records, add: BaseTool) -> None:
    """``toolwise_*`` keys in the run's metadata override the handler's defaults per run."""
    config = {
        "callbacks": [tw.callback(task_type="math")],
        "metadata": {"toolwise_task_type": "billing", "toolwise_task": "sum the invoice"},
    }

    add.invoke({"a": 1, "b": 1}, config=config)  # type: ignore[arg-type]

    [record] = records()
    assert (record.task_type, record.task) == ("billing", "sum the invoice")


def test_a_run_tag_that_is_not_text_does_not_lose_the_call(
    tw: Toolwise, records: Records, add: BaseTool
) -> None:
    """LangChain hands the handler a config's tags unchecked; the call is recorded with the
    text ones (it used to fail in the handler, and the call was never recorded)."""
    add.invoke({"a": 1, "b": 2}, config={"callbacks": [tw.callback()], "tags": [None, 5, "ci"]})

    [record] = records()
    assert (record.outcome, record.tags) == ("success", ("ci",))


def test_a_direct_call_does_not_inherit_an_earlier_runs_task(
    tw: Toolwise, records: Records, add: BaseTool
) -> None:
    """The task text belongs to one run: a later call outside any chat run gets none."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, HumanMessage

    handler = tw.callback()
    model = GenericFakeChatModel(messages=iter([AIMessage("ok")]))
    model.invoke([HumanMessage("add the numbers")], config={"callbacks": [handler]})

    add.invoke({"a": 1, "b": 1}, config={"callbacks": [handler]})

    assert records()[0].task == ""


def test_a_huge_tool_name_is_cut_in_the_log_line(
    tw: Toolwise, caplog: pytest.LogCaptureFixture
) -> None:
    """A call the builder refuses is logged with its tool name cut, not 1,000 characters."""
    handler = tw.callback()
    run_id = uuid.uuid4()
    with caplog.at_level(logging.WARNING, logger="toolwise"):
        handler.on_tool_start({"name": "n" * 1_000}, "in", run_id=run_id)
        handler.on_tool_end("out", run_id=run_id)
        tw.flush()
    [line] = [r.getMessage() for r in caplog.records if "could not record" in r.getMessage()]
    assert "n" * 77 + "..." in line
    assert "n" * 78 not in line
