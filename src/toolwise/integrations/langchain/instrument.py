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
  ``interrupt()``, cancellation — is re-raised at once, never retried; an interrupt is not
  recorded, a cancellation (a graph's ``step_timeout``, an outer ``wait_for``) is recorded as
  a failure judged ``cancelled``.
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
import logging
from collections.abc import Awaitable, Callable
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
from toolwise.integrations.langchain.attempts import (
    DEFAULT_WAIT,
    Attempts,
    Call,
    ConfirmHook,
    FailedResultError,
    WaitStrategy,
    awith_timeout,
    check_backoff,
    check_confirm_hook,
    last_outcome,
    retryable,
    with_timeout,
)
from toolwise.integrations.langchain.callback import ToolwiseCallbackHandler
from toolwise.recording.context import CallContext, RecordingDefaults
from toolwise.recording.recorder import PendingCall, Recorder
from toolwise.recording.scope import (
    SELF_RECORDING_KEY,
    claim,
    handed_down_state,
    is_approved,
)

__all__ = ["DEFAULT_WAIT", "ConfirmHook", "InstrumentedTool", "WaitStrategy"]

log = logging.getLogger("toolwise.instrument")

_REFUSAL = "The user declined to run {tool!r}; it was not executed."


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
            check_confirm_hook(confirm)
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

        Raises:
            InvalidArgumentError: naming ``wait`` when it cannot be called that way.
        """
        check_backoff(wait, "wait")
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
        return (Call(tool_input, tool_call_id),), {}

    # -- the sync and async shells ----------------------------------------------------------

    @override
    def _run(
        self,
        call: Call,
        *,
        config: RunnableConfig,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> Any:
        child_config = patch_config(
            config, callbacks=run_manager.get_child() if run_manager else None
        )

        def once() -> Any:
            return with_timeout(
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
        call: Call,
        *,
        config: RunnableConfig,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> Any:
        child_config = patch_config(
            config, callbacks=run_manager.get_child() if run_manager else None
        )

        async def once() -> Any:
            return await awith_timeout(
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

    def _attempt(self, attempts: Attempts, once: Callable[[], Any]) -> Any:
        pending = attempts.start()
        try:
            result = once()
        except BaseException as exc:
            attempts.failed(pending, exc, self._handled(exc))
            raise
        return self._judged(attempts, pending, result)

    async def _aattempt(self, attempts: Attempts, once: Callable[[], Awaitable[Any]]) -> Any:
        pending = attempts.start()
        try:
            result = await once()
        except BaseException as exc:
            attempts.failed(pending, exc, self._handled(exc))
            raise
        return self._judged(attempts, pending, result)

    def _judged(self, attempts: Attempts, pending: PendingCall | None, result: Any) -> Any:
        verdict = attempts.finished(pending, result)
        if verdict.outcome == "failure" and attempts.count <= self.retries:
            raise FailedResultError(result)  # retry; the last failed result is returned as is
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
            "retry": tenacity.retry_if_exception(retryable),
            "retry_error_callback": last_outcome,
        }

    def _attempts(
        self,
        call: Call,
        run_manager: CallbackManagerForToolRun | AsyncCallbackManagerForToolRun | None,
        *,
        records: bool,
    ) -> Attempts:
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
        return Attempts(
            recorder=self._recorder,
            defaults=self._defaults,
            tool=self.name,
            inputs=inputs,
            context=context,
            tool_call_id=call.tool_call_id or "",
            records=records,
        )

    def _approved(self, call: Call) -> bool:
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

    def _refuse(self, call: Call, attempts: Attempts) -> Any:
        text = _REFUSAL.format(tool=self.name)
        attempts.refused(text)
        if call.tool_call_id is None:
            return text
        return ToolMessage(text, tool_call_id=call.tool_call_id, name=self.name, status="error")
