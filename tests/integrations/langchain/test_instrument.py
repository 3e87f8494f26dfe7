"""``tw.instrument(tool)``: timeout, retries, confirmation and cost, every attempt recorded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
import tenacity
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.errors import GraphInterrupt
from pydantic import ValidationError

from toolwise import InvalidArgumentError, ToolOutcome, Toolwise
from toolwise.recording.scope import SELF_RECORDING_KEY as INSTRUMENTED_KEY

Records = Callable[..., list[ToolOutcome]]
NO_WAIT = tenacity.wait_none()


def _call(args: dict[str, Any], call_id: str = "call-1", name: str = "fetch") -> dict[str, Any]:
    return {"type": "tool_call", "name": name, "args": args, "id": call_id}


class Flaky:
    """A tool body that fails ``failures`` times with ``error``, then answers."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or ConnectionError("upstream reset")
        self.calls = 0

    def __call__(self, url: str) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return f"body of {url}"


def _fetch_tool(body: Callable[[str], str]) -> BaseTool:
    @tool
    def fetch(url: str) -> str:
        """Fetch a URL and return its body."""
        return body(url)

    return fetch


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event a blocked tool waits on; set at teardown so no thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


def test_the_wrapper_looks_like_the_wrapped_tool(tw: Toolwise) -> None:
    """Name, description, argument schema and return_direct are the wrapped tool's."""
    fetch = _fetch_tool(Flaky(0))
    fetch.return_direct = True

    wrapped = tw.instrument(fetch)

    assert (wrapped.name, wrapped.description) == (fetch.name, fetch.description)
    assert wrapped.args_schema is fetch.args_schema
    assert (
        wrapped.tool_call_schema.model_json_schema() == fetch.tool_call_schema.model_json_schema()
    )
    assert wrapped.return_direct is True
    assert wrapped.metadata == {INSTRUMENTED_KEY: True}


def test_a_success_passes_through_and_records_the_cost(tw: Toolwise, records: Records) -> None:
    """The result comes back unchanged; the record carries the per-call cost estimate."""
    wrapped = tw.instrument(_fetch_tool(Flaky(0)), cost_estimate=0.02, task_type="research")

    assert wrapped.invoke({"url": "a.example"}) == "body of a.example"

    [record] = records()
    assert (record.outcome, record.cost, record.attempt, record.source) == (
        "success",
        0.02,
        1,
        "instrument",
    )
    assert (record.task_type, record.tool_input, record.tool_output) == (
        "research",
        '{"url": "a.example"}',
        "body of a.example",
    )


def test_a_tool_call_returns_the_wrapped_tools_message(tw: Toolwise, records: Records) -> None:
    """Invoked with a ToolCall, the caller gets the ToolMessage the wrapped tool would give."""
    message = tw.instrument(_fetch_tool(Flaky(0))).invoke(_call({"url": "a.example"}))

    assert isinstance(message, ToolMessage)
    assert (message.content, message.tool_call_id, message.status) == (
        "body of a.example",
        "call-1",
        "success",
    )
    assert records()[0].tool_call_id == "call-1"


def test_retries_record_every_attempt_and_return_the_final_result(
    tw: Toolwise, records: Records
) -> None:
    """Two failures then a success: three records numbered 1, 2, 3; the caller sees success."""
    body = Flaky(failures=2)
    wrapped = tw.instrument(_fetch_tool(body), retries=3).with_backoff(NO_WAIT)

    assert wrapped.invoke({"url": "a.example"}) == "body of a.example"

    attempts = records()
    assert [(r.attempt, r.outcome, r.error_type) for r in attempts] == [
        (1, "failure", "ConnectionError"),
        (2, "failure", "ConnectionError"),
        (3, "success", ""),
    ]
    assert body.calls == 3


def test_the_last_exception_passes_through_when_retries_run_out(
    tw: Toolwise, records: Records
) -> None:
    """Once the retries are spent the wrapped tool's own exception is raised unchanged."""
    error = ConnectionError("upstream reset")
    wrapped = tw.instrument(_fetch_tool(Flaky(9, error)), retries=1).with_backoff(NO_WAIT)

    with pytest.raises(ConnectionError) as raised:
        wrapped.invoke({"url": "a.example"})

    assert raised.value is error
    assert [r.attempt for r in records()] == [1, 2]


@pytest.mark.parametrize("backoff", ["1s", 5, lambda: 0.0], ids=["text", "number", "no-args"])
def test_a_backoff_that_cannot_wait_is_refused_when_the_tool_is_built(
    tw: Toolwise, backoff: Any
) -> None:
    """It used to be accepted, then its ``TypeError`` replaced the tool's own error at the
    first retry."""
    with pytest.raises(InvalidArgumentError) as refused:
        tw.instrument(_fetch_tool(Flaky(1)), retries=1, backoff=backoff)
    assert refused.value.field == "backoff"
    with pytest.raises(InvalidArgumentError) as refused:
        tw.instrument(_fetch_tool(Flaky(1)), retries=1).with_backoff(backoff)
    assert refused.value.field == "wait"


def test_tenacity_waits_and_plain_callables_are_backoffs(tw: Toolwise) -> None:
    for backoff in (NO_WAIT, tenacity.wait_fixed(0) + tenacity.wait_random(0, 0), lambda _: 0.0):
        wrapped = tw.instrument(_fetch_tool(Flaky(1)), retries=1, backoff=backoff)
        assert wrapped.invoke({"url": "a.example"}) == "body of a.example"


async def test_async_retries_record_every_attempt(tw: Toolwise, records: Records) -> None:
    """``ainvoke`` retries and records attempts exactly like ``invoke``."""
    wrapped = tw.instrument(_fetch_tool(Flaky(failures=1)), retries=2).with_backoff(NO_WAIT)

    assert await wrapped.ainvoke({"url": "a.example"}) == "body of a.example"

    assert [(r.attempt, r.outcome) for r in records()] == [(1, "failure"), (2, "success")]


def test_a_handled_tool_exception_is_retried_then_returned_as_text(
    tw: Toolwise, records: Records
) -> None:
    """With ``handle_tool_error`` each failed attempt is recorded, then the text is returned."""
    fetch = _fetch_tool(Flaky(9, ToolException("404 not found")))
    fetch.handle_tool_error = True
    wrapped = tw.instrument(fetch, retries=1).with_backoff(NO_WAIT)

    message = wrapped.invoke(_call({"url": "a.example"}))

    assert (message.content, message.status) == ("404 not found", "error")
    assert [(r.outcome, r.error_type, r.tool_output) for r in records()] == [
        ("failure", "ToolError", "404 not found"),
        ("failure", "ToolError", "404 not found"),
    ]


def test_bad_arguments_are_recorded_once_and_not_retried(tw: Toolwise, records: Records) -> None:
    """A validation error fails the same way every time: one record, raised at once."""
    body = Flaky(0)
    wrapped = tw.instrument(_fetch_tool(body), retries=3).with_backoff(NO_WAIT)

    with pytest.raises(ValidationError):
        wrapped.invoke({"link": "a.example"})

    [record] = records()
    assert (record.outcome, record.error_type) == ("invalid_arguments", "ValidationError")
    assert body.calls == 0


def test_a_sync_timeout_raises_and_is_recorded_as_a_failure(
    tw: Toolwise, records: Records, gate: threading.Event
) -> None:
    """A call still running after ``timeout`` seconds raises ``TimeoutError``: a failure."""
    wrapped = tw.instrument(_fetch_tool(lambda url: str(gate.wait())), timeout=0.05)

    with pytest.raises(TimeoutError, match=r"did not finish within 0\.05 s"):
        wrapped.invoke({"url": "a.example"})

    [record] = records()
    assert (record.outcome, record.error_type) == ("failure", "TimeoutError")


async def test_an_async_timeout_cancels_the_call_and_is_recorded(
    tw: Toolwise, records: Records
) -> None:
    """Under ``ainvoke`` the call is cancelled after ``timeout`` seconds: a failure."""
    cancelled = asyncio.Event()

    @tool
    async def fetch(url: str) -> str:
        """Fetch a URL and return its body."""
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return url

    with pytest.raises(TimeoutError):
        await tw.instrument(fetch, timeout=0.05).ainvoke({"url": "a.example"})

    assert cancelled.is_set()
    assert records()[0].error_type == "TimeoutError"


def test_each_timed_out_attempt_is_retried(
    tw: Toolwise, records: Records, gate: threading.Event
) -> None:
    """A timeout counts as a failed attempt like any other."""
    blocked = _fetch_tool(lambda url: str(gate.wait()))
    wrapped = tw.instrument(blocked, timeout=0.05, retries=1).with_backoff(NO_WAIT)

    with pytest.raises(TimeoutError):
        wrapped.invoke({"url": "a.example"})

    assert [(r.attempt, r.error_type) for r in records()] == [
        (1, "TimeoutError"),
        (2, "TimeoutError"),
    ]


def test_an_approved_call_runs(tw: Toolwise, records: Records) -> None:
    """The hook gets the tool name and its arguments; approval runs the tool."""
    asked: list[tuple[str, dict[str, Any]]] = []

    def confirm(name: str, args: dict[str, Any]) -> bool:
        asked.append((name, args))
        return True

    wrapped = tw.instrument(_fetch_tool(Flaky(0)), requires_confirmation=True, confirm=confirm)

    assert wrapped.invoke({"url": "a.example"}) == "body of a.example"
    assert asked == [("fetch", {"url": "a.example"})]
    assert records()[0].outcome == "success"


def test_a_denied_call_is_not_run_and_recorded_as_refused(tw: Toolwise, records: Records) -> None:
    """Denial returns an error ToolMessage for the model and records ``refused``, at no cost."""
    body = Flaky(0)
    wrapped = tw.instrument(
        _fetch_tool(body),
        requires_confirmation=True,
        confirm=lambda name, args: False,
        cost_estimate=1.0,
    )

    message = wrapped.invoke(_call({"url": "a.example"}))

    assert (message.status, message.tool_call_id) == ("error", "call-1")
    assert "declined" in message.content
    assert body.calls == 0
    [record] = records()
    assert (record.outcome, record.error_type, record.cost) == (
        "refused",
        "ConfirmationDenied",
        0.0,
    )


async def test_a_denied_async_call_returns_the_refusal_text(tw: Toolwise, records: Records) -> None:
    """Without a ToolCall the refusal is plain text; the async path records it the same way."""
    wrapped = tw.instrument(
        _fetch_tool(Flaky(0)), requires_confirmation=True, confirm=lambda name, args: False
    )

    text = await wrapped.ainvoke({"url": "a.example"})

    assert text == "The user declined to run 'fetch'; it was not executed."
    assert records()[0].outcome == "refused"


def test_confirmation_without_a_hook_refuses(tw: Toolwise, records: Records) -> None:
    """Deny by default: a tool that requires confirmation but has no hook never runs."""
    body = Flaky(0)

    tw.instrument(_fetch_tool(body), requires_confirmation=True).invoke({"url": "a.example"})

    assert body.calls == 0
    assert records()[0].outcome == "refused"


@pytest.mark.parametrize(
    "error", [GraphInterrupt(()), SystemExit(2), KeyboardInterrupt()], ids=type
)
def test_control_flow_is_reraised_at_once_and_not_recorded(
    tw: Toolwise, records: Records, error: BaseException
) -> None:
    """An ``interrupt()`` inside the tool, or an exit (``sys.exit``: a wrapped argparse
    program), is neither retried nor recorded: SystemExit was retried and recorded each time,
    though docs/recording.md said interpreter exits are not."""
    body = Flaky(9, error)  # type: ignore[arg-type]
    wrapped = tw.instrument(_fetch_tool(body), retries=3).with_backoff(NO_WAIT)

    with pytest.raises(type(error)):
        wrapped.invoke({"url": "a.example"})

    assert body.calls == 1
    assert records() == []


def test_a_callback_handler_does_not_record_an_instrumented_call(
    tw: Toolwise, records: Records
) -> None:
    """Combined with the callback handler, each attempt is still recorded exactly once."""
    wrapped = tw.instrument(_fetch_tool(Flaky(1)), retries=1).with_backoff(NO_WAIT)

    wrapped.invoke({"url": "a.example"}, config={"callbacks": [tw.callback()]})

    assert [(r.attempt, r.source) for r in records()] == [(1, "instrument"), (2, "instrument")]


def test_tracing_nests_the_wrapped_tools_run(tw: Toolwise) -> None:
    """The wrapped tool's run is a child of the instrumented run, so traces keep their shape."""

    class Runs(BaseCallbackHandler):
        def __init__(self) -> None:
            self.parents: dict[UUID, UUID | None] = {}

        def on_tool_start(self, *args: Any, run_id: UUID, parent_run_id: UUID | None = None,
                          **kwargs: Any) -> None:  # fmt: skip
            self.parents[run_id] = parent_run_id

    runs = Runs()
    tw.instrument(_fetch_tool(Flaky(0))).invoke({"url": "a"}, config={"callbacks": [runs]})

    [(outer, none), (_inner, parent)] = runs.parents.items()
    assert (none, parent) == (None, outer)


@pytest.mark.parametrize(
    ("option", "value"),
    [("timeout", 0), ("timeout", -1.0), ("retries", -1)],
)
def test_invalid_options_are_rejected_when_wrapping(
    tw: Toolwise, option: str, value: float
) -> None:
    """Options are checked once, at wrap time, and the error names the option."""
    with pytest.raises(InvalidArgumentError) as raised:
        tw.instrument(_fetch_tool(Flaky(0)), **{option: value})  # type: ignore[arg-type]

    assert raised.value.field == option


def test_an_artifact_of_the_wrapped_tool_reaches_the_caller(tw: Toolwise) -> None:
    """``content_and_artifact`` tools keep their artifact on the returned ToolMessage."""

    @tool(response_format="content_and_artifact")
    def fetch(url: str) -> tuple[str, dict[str, int]]:
        """Fetch a URL and return its body, with the status code as artifact."""
        return f"body of {url}", {"status": 200}

    message = tw.instrument(fetch).invoke(_call({"url": "a.example"}))

    assert (message.content, message.artifact) == ("body of a.example", {"status": 200})


def test_a_confirm_hook_of_the_wrong_shape_is_refused_when_the_tool_is_built(tw: Toolwise) -> None:
    """``confirm(tool_name, args)``: a one-argument guess fails at ``instrument``, naming it."""
    with pytest.raises(InvalidArgumentError, match="confirm") as caught:
        tw.instrument(_fetch_tool(Flaky(0)), requires_confirmation=True, confirm=lambda args: True)
    assert caught.value.field == "confirm"
