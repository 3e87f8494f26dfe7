"""``Toolwise.instrument(tool)``: a tool that times, retries, confirms and records itself.

:class:`InstrumentedTool` is a ``BaseTool`` with the wrapped tool's name, description and
argument schema, so models, ``ToolNode`` and ``create_agent`` use it exactly like the original.
Around each call it adds what the tool anatomy of agent platforms asks for — a timeout,
retries with jittered backoff, a per-call cost and an optional human confirmation — and
records every attempt.

Behaviour a caller can rely on:

* **Pass-through.** After the last attempt the wrapped tool's result, or its exception, comes
  out untouched: the same value, the same ``ToolMessage`` (status, artifact) and the same
  handling of ``ToolException`` and validation errors (``handle_tool_error`` and
  ``handle_validation_error`` are moved from the wrapped tool to the wrapper, so the wrapper
  sees the exception — and records a failure — before it is turned into text).
* **Retries** (``retries`` extra attempts) follow exceptions and results judged failures
  (error ``ToolMessage``\\ s); each attempt is its own record with ``attempt=n``. Validation
  errors are not retried (the same arguments fail the same way) and control flow —
  ``interrupt()``, cancellation — is re-raised at once, never recorded or retried.
* **Timeout** (seconds, per attempt): a sync call runs in a daemon worker thread and the
  caller stops waiting after ``timeout`` (Python cannot kill the thread: the tool finishes in
  the background); an async call is cancelled. Either way a ``TimeoutError`` is recorded and,
  after the last attempt, raised.
* **Confirmation** (``requires_confirmation``): ``confirm(tool_name, args)`` is asked once per
  call before the first attempt; without a hook every call is refused (deny by default). A
  refusal does not run the tool, is recorded as ``outcome="refused"`` with ``error_type
  "ConfirmationDenied"`` (never charged to the tool, no cost) and *returns* a refusal — a
  ``ToolMessage(status="error")`` when invoked with a ``ToolCall``, else the text — like
  langchain's ``HumanInTheLoopMiddleware`` rejection: the model reads why, the agent run goes
  on. A hook may call LangGraph's ``interrupt()`` to ask a human; that pauses the graph.
* **One record per attempt**, even when combined with other entry points
  (:mod:`toolwise.recording.scope`): the callback handler skips instrumented tools (they carry
  ``SELF_RECORDING_KEY`` in their metadata), the ToolNode interceptor and the middleware defer
  to them (handing down the graph state, so records still carry the task text and the
  pre-selection brief), and the wrapped tool's own run is claimed.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import tenacity
from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import patch_config
from langchain_core.tools import BaseTool, ToolException
from langchain_core.tools.base import _handle_tool_error, _handle_validation_error
from langchain_core.utils.pydantic import TypeBaseModel
from pydantic import PrivateAttr, ValidationError
from pydantic.v1 import ValidationError as ValidationErrorV1
from typing_extensions import override

from toolwise.errors import InvalidArgumentError
from toolwise.integrations.langchain.callback import ToolwiseCallbackHandler
from toolwise.integrations.langgraph.control_flow import is_control_flow
from toolwise.recording.context import CallContext, RecordingDefaults
from toolwise.recording.judge import HandledError, Reason, Verdict, handled_verdict, judge_output
from toolwise.recording.recorder import PendingCall, Recorder
from toolwise.recording.scope import (
    SELF_RECORDING_KEY,
    claim,
    handed_down_state,
    is_approved,
)

__all__ = ["ConfirmHook", "InstrumentedTool"]

log = logging.getLogger("toolwise.instrument")

ConfirmHook = Callable[[str, dict[str, Any]], bool]
"""``confirm(tool_name, args) -> approve?``; asked once per call, before the first attempt."""

WaitStrategy = Callable[[tenacity.RetryCallState], float]
"""Seconds to wait before the next attempt (any tenacity ``wait_*`` strategy)."""

DEFAULT_WAIT: WaitStrategy = tenacity.wait_exponential_jitter(multiplier=0.1, max=2.0, jitter=0.1)
"""0.1 s, 0.2 s, 0.4 s … capped at 2 s, plus up to 0.1 s of jitter so callers spread out."""

_REFUSAL = "The user declined to run {tool!r}; it was not executed."


@dataclasses.dataclass(frozen=True, slots=True)
class _Call:
    """The raw input and tool call id, carried past BaseTool's parsing to the wrapped tool."""

    tool_input: str | dict[str, Any]
    tool_call_id: str | None


@dataclasses.dataclass(slots=True)
class _Attempts:
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
        if pending is None or is_control_flow(error):
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


class _FailedResultError(Exception):
    """Raised inside an attempt whose result was judged a failure, so tenacity retries it."""

    def __init__(self, result: Any) -> None:
        super().__init__("the tool returned a result judged a failure")
        self.result = result


class InstrumentedTool(BaseTool):
    """A tool wrapped so every attempt is timed, judged and recorded; build with :meth:`wrap`.

    See the module docstring for the exact pass-through, retry, timeout and confirmation
    semantics. Thread- and task-safe: nothing is shared between calls except the recorder.
    """

    wrapped: BaseTool
    """The original tool (unchanged; calls go to a copy whose error handling is turned off)."""
    timeout: float | None = None
    retries: int = 0
    requires_confirmation: bool = False
    confirm: ConfirmHook | None = None
    wait: WaitStrategy = DEFAULT_WAIT

    _raising: BaseTool = PrivateAttr()
    _recorder: Recorder = PrivateAttr()
    _defaults: RecordingDefaults = PrivateAttr()

    @classmethod
    def wrap(
        cls,
        tool: BaseTool,
        *,
        recorder: Recorder,
        defaults: RecordingDefaults,
        timeout: float | None = None,
        retries: int = 0,
        requires_confirmation: bool = False,
        confirm: ConfirmHook | None = None,
        wait: WaitStrategy = DEFAULT_WAIT,
    ) -> InstrumentedTool:
        """Wrap ``tool``; options are validated here, not on each call.

        Args:
            tool: any LangChain tool.
            recorder: where records go (``tw.runtime.recorder``).
            defaults: labels, judge and costs (``Toolwise.defaults(...)``).
            timeout: seconds per attempt; ``None`` waits forever.
            retries: extra attempts after a failure (0 = run once).
            requires_confirmation: ask ``confirm`` before running; refuse without a hook.
            confirm: the approval hook, see :data:`ConfirmHook`.
            wait: backoff between attempts (inject ``tenacity.wait_none()`` in tests).

        Raises:
            InvalidArgumentError: ``timeout`` not positive, ``retries`` negative, or ``tool``
                not a ``BaseTool``.
        """
        if not isinstance(tool, BaseTool):
            raise InvalidArgumentError("tool", tool, "must be a langchain BaseTool")
        if timeout is not None and not timeout > 0:
            raise InvalidArgumentError("timeout", timeout, "must be a positive number of seconds")
        if not isinstance(retries, int) or retries < 0:
            raise InvalidArgumentError("retries", retries, "must be an int >= 0")
        if confirm is not None:
            _check_confirm_hook(confirm)
        if requires_confirmation and confirm is None:
            log.warning("toolwise: %r has no confirm hook: every call is refused", tool.name)
        instrumented = cls(
            name=tool.name,
            description=tool.description,
            args_schema=tool.args_schema,
            return_direct=tool.return_direct,
            verbose=tool.verbose,
            tags=tool.tags,
            metadata={**(tool.metadata or {}), SELF_RECORDING_KEY: True},
            handle_tool_error=tool.handle_tool_error,
            handle_validation_error=tool.handle_validation_error,
            extras=tool.extras,
            wrapped=tool,
            timeout=timeout,
            retries=retries,
            requires_confirmation=requires_confirmation,
            confirm=confirm,
            wait=wait,
        )
        # The copy raises, so each attempt sees the real exception; the wrapper then applies
        # the original handling once, after the last attempt (BaseTool.run does it for us).
        instrumented._raising = tool.model_copy(
            update={"handle_tool_error": False, "handle_validation_error": False}
        )
        instrumented._recorder = recorder
        instrumented._defaults = defaults.for_tool(tool.name, tool.metadata)
        return instrumented

    def with_backoff(self, wait: WaitStrategy) -> InstrumentedTool:
        """A copy that waits ``wait`` between attempts (e.g. ``tenacity.wait_none()`` in tests).

        Any tenacity ``wait_*`` strategy or callable of a ``RetryCallState``; the default is
        :data:`DEFAULT_WAIT`.
        """
        return self.model_copy(update={"wait": wait})

    # -- the wrapped tool's schema, so models and ToolNode see the same tool ---------------

    @override
    def get_input_schema(self, config: RunnableConfig | None = None) -> TypeBaseModel:
        return self.wrapped.get_input_schema(config)

    @property
    @override
    def args(self) -> dict[str, Any]:
        return self.wrapped.args

    @property
    @override
    def tool_call_schema(self) -> Any:
        return self.wrapped.tool_call_schema

    # BaseTool would parse the input against the schema before ``_run``; the wrapped tool does
    # that itself, so a bad argument becomes a recorded failure of an attempt instead of an
    # error nobody records. The raw input and the tool call id travel on to the wrapped tool.
    @override
    def _to_args_and_kwargs(
        self, tool_input: str | dict[str, Any], tool_call_id: str | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (_Call(tool_input, tool_call_id),), {}

    # -- the sync and async shells ----------------------------------------------------------

    @override
    def _run(
        self,
        call: _Call,
        *,
        config: RunnableConfig,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> Any:
        child_config = patch_config(
            config, callbacks=run_manager.get_child() if run_manager else None
        )

        def once() -> Any:
            return _with_timeout(
                lambda: self._raising.run(
                    call.tool_input,
                    callbacks=child_config.get("callbacks"),
                    config=child_config,
                    tool_call_id=call.tool_call_id,
                ),
                self.timeout,
                self.name,
            )

        with claim(self.name) as records:
            attempts = self._attempts(call, run_manager, records=records)
            if self.requires_confirmation and not self._approved(call):
                return self._refuse(call, attempts)
            if not self.retries:  # tenacity costs ~100 µs a call: skip it when it has no job
                return self._attempt(attempts, once)
            retrying = tenacity.Retrying(**self._retry_policy())
            return retrying(self._attempt, attempts, once)

    @override
    async def _arun(
        self,
        call: _Call,
        *,
        config: RunnableConfig,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> Any:
        child_config = patch_config(
            config, callbacks=run_manager.get_child() if run_manager else None
        )

        async def once() -> Any:
            return await _awith_timeout(
                lambda: self._raising.arun(
                    call.tool_input,
                    callbacks=child_config.get("callbacks"),
                    config=child_config,
                    tool_call_id=call.tool_call_id,
                ),
                self.timeout,
                self.name,
            )

        with claim(self.name) as records:
            attempts = self._attempts(call, run_manager, records=records)
            # The hook may block on a human: keep it off the event loop.
            if self.requires_confirmation and not await asyncio.to_thread(self._approved, call):
                return self._refuse(call, attempts)
            if not self.retries:
                return await self._aattempt(attempts, once)
            retrying = tenacity.AsyncRetrying(**self._retry_policy())
            return await retrying(self._aattempt, attempts, once)

    # -- shared helpers --------------------------------------------------------------------

    def _attempt(self, attempts: _Attempts, once: Callable[[], Any]) -> Any:
        pending = attempts.start()
        try:
            result = once()
        except BaseException as exc:
            attempts.failed(pending, exc, self._handled(exc))
            raise
        return self._judged(attempts, pending, result)

    async def _aattempt(self, attempts: _Attempts, once: Callable[[], Awaitable[Any]]) -> Any:
        pending = attempts.start()
        try:
            result = await once()
        except BaseException as exc:
            attempts.failed(pending, exc, self._handled(exc))
            raise
        return self._judged(attempts, pending, result)

    def _judged(self, attempts: _Attempts, pending: PendingCall | None, result: Any) -> Any:
        verdict = attempts.finished(pending, result)
        if verdict.outcome == "failure" and attempts.count <= self.retries:
            raise _FailedResultError(result)  # retry; the last failed result is returned as is
        return result

    def _handled(self, error: BaseException) -> Any:
        """The message BaseTool.run will turn ``error`` into, or None if it will raise it.

        Records then match what callers and the other entry points see: a ``ToolMessage``
        with ``status="error"`` and this text, named ``"ToolError"``. A callable
        ``handle_tool_error`` is therefore called once more per failed attempt: keep it pure.
        """
        try:
            if isinstance(error, ToolException) and self.handle_tool_error:
                return _handle_tool_error(error, flag=self.handle_tool_error)
            if (
                isinstance(error, ValidationError | ValidationErrorV1)
                and self.handle_validation_error
            ):
                return _handle_validation_error(error, flag=self.handle_validation_error)
        except Exception:  # a failing user handler: BaseTool.run will raise it, not us
            return str(error)
        return None

    def _retry_policy(self) -> dict[str, Any]:
        return {
            "stop": tenacity.stop_after_attempt(self.retries + 1),
            "wait": self.wait,
            "retry": tenacity.retry_if_exception(_retryable),
            "retry_error_callback": _last_outcome,
        }

    def _attempts(
        self,
        call: _Call,
        run_manager: CallbackManagerForToolRun | AsyncCallbackManagerForToolRun | None,
        *,
        records: bool,
    ) -> _Attempts:
        """Labels of this call: defaults, the handed-down graph state, then run metadata."""
        metadata = run_manager.metadata if run_manager is not None else {}
        context = CallContext.resolve(
            self._defaults,
            metadata,
            handed_down_state(),
            run_id=str(run_manager.run_id) if run_manager is not None else "",
            tags=run_manager.tags if run_manager is not None else (),
        )
        if not context.task and run_manager is not None:
            for handler in run_manager.handlers:  # a callback handler saw the chat model
                if isinstance(handler, ToolwiseCallbackHandler):
                    context = context.with_task(handler.task_for(run_manager.run_id, metadata))
        tool_input = call.tool_input
        inputs = (
            self._filter_injected_args(tool_input) if isinstance(tool_input, dict) else tool_input
        )
        return _Attempts(
            recorder=self._recorder,
            defaults=self._defaults,
            tool=self.name,
            inputs=inputs,
            context=context,
            tool_call_id=call.tool_call_id or "",
            records=records,
        )

    def _approved(self, call: _Call) -> bool:
        if is_approved(self.name):  # a graph's tool guard already asked the human
            return True
        if self.confirm is None:
            return False
        tool_input = call.tool_input
        if isinstance(tool_input, dict):
            args = self._filter_injected_args(tool_input)
        else:
            fields = list(self.wrapped.args)
            args = {fields[0] if len(fields) == 1 else "input": tool_input}
        return bool(self.confirm(self.name, args))

    def _refuse(self, call: _Call, attempts: _Attempts) -> Any:
        text = _REFUSAL.format(tool=self.name)
        attempts.refused(text)
        if call.tool_call_id is None:
            return text
        return ToolMessage(text, tool_call_id=call.tool_call_id, name=self.name, status="error")


def _retryable(error: BaseException) -> bool:
    if isinstance(error, _FailedResultError):
        return True
    return not (is_control_flow(error) or isinstance(error, ValidationError | ValidationErrorV1))


def _last_outcome(state: tenacity.RetryCallState) -> Any:
    """After the last attempt: its exception is raised, its (failed) result returned."""
    assert state.outcome is not None  # tenacity calls this only after an attempt
    error = state.outcome.exception()
    if isinstance(error, _FailedResultError):
        return error.result
    return state.outcome.result()


def _with_timeout(fn: Callable[[], Any], timeout: float | None, name: str) -> Any:
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


async def _awith_timeout(fn: Callable[[], Awaitable[Any]], seconds: float | None, name: str) -> Any:
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


def _check_confirm_hook(confirm: object) -> None:
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
