"""The machinery behind ``tw.instrument``: one call's attempts and their records, retry
policy helpers, per-attempt timeouts and the confirmation hook's check.

Shared by the sync and async shells of :class:`~toolwise.integrations.langchain.instrument.
InstrumentedTool`, which keeps only the LangChain-facing tool.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import tenacity
from pydantic import ValidationError
from pydantic.v1 import ValidationError as ValidationErrorV1

from toolwise.errors import InvalidArgumentError
from toolwise.integrations.langgraph.control_flow import is_control_flow, is_recorded
from toolwise.recording.context import CallContext, RecordingDefaults
from toolwise.recording.judge import HandledError, Reason, Verdict, handled_verdict, judge_output
from toolwise.recording.recorder import PendingCall, Recorder

__all__ = [
    "DEFAULT_WAIT",
    "Attempts",
    "Call",
    "ConfirmHook",
    "FailedResultError",
    "WaitStrategy",
    "awith_timeout",
    "check_backoff",
    "check_confirm_hook",
    "last_outcome",
    "retryable",
    "with_timeout",
]

ConfirmHook = Callable[[str, dict[str, Any]], bool]
"""``confirm(tool_name, args) -> approve?``; asked once per call, before the first attempt."""

WaitStrategy = Callable[[tenacity.RetryCallState], float]
"""Seconds to wait before the next attempt (any tenacity ``wait_*`` strategy)."""

DEFAULT_WAIT: WaitStrategy = tenacity.wait_exponential_jitter(multiplier=0.1, max=2.0, jitter=0.1)
"""0.1 s, 0.2 s, 0.4 s … capped at 2 s, plus up to 0.1 s of jitter so callers spread out."""


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """The raw input and tool call id, carried past BaseTool's parsing to the wrapped tool."""

    tool_input: str | dict[str, Any]
    tool_call_id: str | None


@dataclasses.dataclass(slots=True)
class Attempts:
    """One call's recording state, shared by the sync and async shells."""

    recorder: Recorder
    defaults: RecordingDefaults
    tool: str
    inputs: Any
    context: CallContext
    tool_call_id: str
    records: bool  # False when an enclosing entry point records this call
    count: int = 0

    def start(self) -> PendingCall | None:
        self.count += 1
        if not self.records:
            return None
        return self.recorder.start(
            self.tool,
            self.inputs,
            self.context,
            self.defaults,
            source="instrument",
            tool_call_id=self.tool_call_id,
            attempt=self.count,
        )

    def failed(self, pending: PendingCall | None, error: BaseException, handled: Any) -> None:
        """Record a raised attempt; ``handled`` is the text the tool turns it into, if any."""
        if pending is None or not is_recorded(error):
            return
        if handled is None:
            self.recorder.finish(pending, error=error)
        else:  # what the caller (and every other entry point) sees: an error message
            verdict = handled_verdict(HandledError(handled, error, by_node=False))
            self.recorder.finish(pending, output=handled, verdict=verdict)

    def finished(self, pending: PendingCall | None, result: Any) -> Verdict:
        verdict = judge_output(result, self.defaults.judge, tool=self.tool)
        if pending is not None:
            self.recorder.finish(pending, output=result, verdict=verdict)
        return verdict

    def refused(self, text: str) -> None:
        if not self.records:
            return
        free = dataclasses.replace(self.defaults, costs={})  # the tool did not run
        pending = self.recorder.start(
            self.tool,
            self.inputs,
            self.context,
            free,
            source="instrument",
            tool_call_id=self.tool_call_id,
        )
        self.recorder.finish(
            pending,
            output=text,
            verdict=Verdict("refused", 0.0, "ConfirmationDenied", text, Reason.REFUSED),
        )


class FailedResultError(Exception):
    """Raised inside an attempt whose result was judged a failure, so tenacity retries it."""

    def __init__(self, result: Any) -> None:
        super().__init__("the tool returned a result judged a failure")
        self.result = result


def retryable(error: BaseException) -> bool:
    if isinstance(error, FailedResultError):
        return True
    return not (is_control_flow(error) or isinstance(error, ValidationError | ValidationErrorV1))


def last_outcome(state: tenacity.RetryCallState) -> Any:
    """After the last attempt: its exception is raised, its (failed) result returned."""
    assert state.outcome is not None  # tenacity calls this only after an attempt
    error = state.outcome.exception()
    if isinstance(error, FailedResultError):
        return error.result
    return state.outcome.result()


def with_timeout(fn: Callable[[], Any], timeout: float | None, name: str) -> Any:
    """``fn()``, but stop waiting after ``timeout`` seconds (``TimeoutError``).

    The call runs in a named daemon thread with a copy of this context (LangGraph's config,
    toolwise's claims), so ``interrupt()`` and nested tracing keep working; a timed-out call
    cannot be killed and finishes in the background, its result discarded.
    """
    if timeout is None:
        return fn()
    future: Future[Any] = Future()
    context = contextvars.copy_context()

    def target() -> None:
        try:
            future.set_result(context.run(fn))
        except BaseException as exc:  # handed to the caller, who re-raises it
            future.set_exception(exc)

    threading.Thread(target=target, name=f"toolwise-timeout-{name}", daemon=True).start()
    try:
        return future.result(timeout)
    except TimeoutError:
        if future.done():
            raise  # the tool's own TimeoutError
        raise TimeoutError(f"tool {name!r} did not finish within {timeout} s") from None


async def awith_timeout(fn: Callable[[], Awaitable[Any]], seconds: float | None, name: str) -> Any:
    """``await fn()``, cancelled after ``seconds`` (``TimeoutError``)."""
    if seconds is None:
        return await fn()
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await fn()
    except TimeoutError:
        if not deadline.expired():
            raise  # the tool's own TimeoutError
        raise TimeoutError(f"tool {name!r} did not finish within {seconds} s") from None


def check_confirm_hook(confirm: object) -> None:
    """Refuse a hook that cannot take ``(tool_name, args)`` now, not at the first call."""
    if not callable(confirm):
        raise InvalidArgumentError("confirm", confirm, "must be a callable confirm(name, args)")
    try:
        inspect.signature(confirm).bind("tool", {})
    except TypeError as exc:
        raise InvalidArgumentError(
            "confirm", confirm, f"must accept two arguments, confirm(tool_name, args) ({exc})"
        ) from None
    except ValueError:  # a builtin without a signature: trust it
        return


def check_backoff(wait: object, field: str = "backoff") -> None:
    """Refuse a wait that cannot be called with tenacity's retry state now: at the first
    retry its ``TypeError`` would replace the tool's own error."""
    if not callable(wait):
        raise InvalidArgumentError(
            field, wait, "must be a tenacity wait strategy or a callable wait(retry_state)"
        )
    try:
        inspect.signature(wait).bind(None)
    except TypeError as exc:
        raise InvalidArgumentError(
            field, wait, f"must accept one argument, wait(retry_state) ({exc})"
        ) from None
    except ValueError:  # a builtin without a signature: trust it
        return
