"""LangGraph ``ToolNode`` interceptor that records each tool call: ``tw.tool_wrapper()``.

``w = tw.tool_wrapper(agent_id="devops")`` then
``ToolNode(tools, wrap_tool_call=w, awrap_tool_call=w.awrap)``. The same core serves
:class:`~toolwise.integrations.langchain.ToolwiseMiddleware` for ``create_agent``.

What the interceptor sees, and how it judges it:

* ``execute(request)`` returns a ``ToolMessage`` or a ``Command``. An error message —
  ``status="error"``, also inside a ``Command`` — is a failure: that is how ``ToolNode`` reports
  bad arguments and, with ``handle_tool_errors``, exceptions. ``ToolNode`` formats those with
  fixed templates, from which the exception class is read back (``ValidationError`` for bad
  arguments, the class in ``Error: ToolException('…')`` for handled exceptions), so a record
  names the same ``error_type`` a callback handler would; other error messages are
  ``"ToolError"``. A user ``judge`` refines successes.
* An exception from ``execute`` is recorded as a failure and re-raised untouched; control flow
  (``interrupt()``, ``Command`` routing: ``GraphBubbleUp``) is re-raised and never recorded.
* A call to a tool the node does not have is the model's mistake, not a tool's outcome: it is
  not recorded (``ToolNode`` still answers it with an error message).
* Labels come from the defaults, then the ``toolwise`` entry of graph state, then the run's
  config metadata; the task text is the latest human message in state.
* Combined entry points record once (:mod:`toolwise.recording.scope`): the outermost
  interceptor claims the tool name (a callback handler or a nested interceptor then stays
  silent), and an instrumented tool — which records every attempt itself — is left to
  record, with the graph state handed down.
* ``attempt`` counts executions of the same tool call in the same node run, so an interceptor
  placed inside ``ToolRetryMiddleware`` records attempts 1, 2, 3.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

from toolwise.integrations.langgraph.control_flow import is_control_flow
from toolwise.recording.context import CallContext, RecordingDefaults
from toolwise.recording.judge import Verdict, judge_output
from toolwise.recording.recorder import PendingCall, Recorder
from toolwise.recording.scope import claim, hand_down, records_itself

if TYPE_CHECKING:
    from langchain_core.messages import ToolMessage
    from langgraph.prebuilt.tool_node import ToolCallRequest
    from langgraph.types import Command

    ToolResult: TypeAlias = ToolMessage | Command[Any]

__all__ = ["ToolCallRecorder", "tool_node_verdict"]

_MAX_TRACKED_CALLS = 4_096

# ToolNode's own error templates (langgraph.prebuilt.tool_node): bad arguments, and the
# default rendering of a handled exception, ``Error: {repr(exc)}\n Please fix your mistakes.``
_BAD_ARGUMENTS = re.compile(r"^Error invoking tool '.*' with kwargs .* with error:", re.DOTALL)
_HANDLED_EXCEPTION = re.compile(
    r"^Error: ([A-Za-z_][A-Za-z0-9_]*)\(.*\n Please fix your mistakes\.$", re.DOTALL
)


def tool_node_verdict(result: Any, defaults: RecordingDefaults) -> tuple[Verdict, bool]:
    """How a ``ToolNode`` call went, and whether the result stands for a raised exception.

    An error message in one of ToolNode's templates was an exception the node caught: the
    verdict names its class, and the record (like a callback's) keeps no output for it.
    """
    verdict = judge_output(result, defaults.judge)
    if verdict.outcome != "failure" or verdict.error_type != "ToolError":
        return verdict, False
    text = verdict.error_message
    if _BAD_ARGUMENTS.match(text):
        return Verdict("failure", verdict.quality, "ValidationError", text), True
    handled = _HANDLED_EXCEPTION.match(text)
    if handled:
        return Verdict("failure", verdict.quality, handled.group(1), text), True
    return verdict, False


class ToolCallRecorder:
    """Records each call a ``ToolNode`` (or ``create_agent``) executes; sync and async.

    Args:
        recorder: where records go (``tw.runtime.recorder``).
        defaults: labels, judge and costs (``Toolwise.defaults(...)``).
        source: the ``source`` stored on records (``"tool_node"`` or ``"middleware"``).

    Thread- and task-safe: ``ToolNode`` runs parallel tool calls in threads or tasks.
    """

    def __init__(
        self, recorder: Recorder, defaults: RecordingDefaults, *, source: str = "tool_node"
    ) -> None:
        self.recorder = recorder
        self.defaults = defaults
        self.source = source
        self._executions: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(
        self, request: ToolCallRequest, execute: Callable[[ToolCallRequest], ToolResult]
    ) -> ToolResult:
        """The ``wrap_tool_call`` interceptor: run ``execute(request)`` and record it."""
        with self._recording(request) as pending:
            if pending is None:
                return execute(request)
            try:
                result = execute(request)
            except BaseException as exc:
                self._failed(pending, exc)
                raise
            self._finished(pending, result)
            return result

    async def awrap(
        self,
        request: ToolCallRequest,
        execute: Callable[[ToolCallRequest], Awaitable[ToolResult]],
    ) -> ToolResult:
        """The ``awrap_tool_call`` interceptor: ``await execute(request)`` and record it."""
        with self._recording(request) as pending:
            if pending is None:
                return await execute(request)
            try:
                result = await execute(request)
            except BaseException as exc:
                self._failed(pending, exc)
                raise
            self._finished(pending, result)
            return result

    # -- shared core ---------------------------------------------------------------------------

    @contextmanager
    def _recording(self, request: ToolCallRequest) -> Iterator[_Pending | None]:
        """Yield the call to record, or None when someone else records it (then just run)."""
        tool = request.tool
        if tool is None:  # unknown tool name: ToolNode answers with an error message
            yield None
            return
        if records_itself(tool):
            with hand_down(request.state):  # the tool records itself, with our labels
                yield None
            return
        name = tool.name
        with claim(name) as records:
            if not records:
                yield None
                return
            metadata = _run_metadata(request)
            context = CallContext.resolve(
                self.defaults,
                metadata,
                request.state,
                tags=_run_tags(request),
            )
            call_id = str(request.tool_call.get("id") or "")
            call = self.recorder.start(
                name,
                request.tool_call.get("args", {}),
                context,
                self.defaults,
                source=self.source,
                tool_call_id=call_id,
            )
            yield _Pending(call, (str(metadata.get("checkpoint_ns") or ""), call_id))

    def _failed(self, pending: _Pending, error: BaseException) -> None:
        if is_control_flow(error):
            return  # interrupt() and friends steer the graph; the call will run again
        pending.call.attempt = self._next_attempt(pending.key)
        self.recorder.finish(pending.call, error=error)

    def _finished(self, pending: _Pending, result: Any) -> None:
        pending.call.attempt = self._next_attempt(pending.key)
        verdict, raised = tool_node_verdict(result, self.defaults)
        self.recorder.finish(pending.call, output=None if raised else result, verdict=verdict)

    def _next_attempt(self, key: tuple[str, str]) -> int:
        """1 for a tool call's first recorded execution in a node run, then 2, 3 …"""
        if not key[1]:
            return 1
        with self._lock:
            attempt = self._executions.pop(key, 0) + 1
            self._executions[key] = attempt
            if len(self._executions) > _MAX_TRACKED_CALLS:
                self._executions.popitem(last=False)
        return attempt


class _Pending:
    """A started call and the key that counts its executions."""

    __slots__ = ("call", "key")

    def __init__(self, call: PendingCall, key: tuple[str, str]) -> None:
        self.call = call
        self.key = key


def _run_config(request: ToolCallRequest) -> Mapping[str, Any]:
    """The node's ``RunnableConfig``: from the request's runtime, else the ambient one."""
    runtime = getattr(request, "runtime", None)
    config = getattr(runtime, "config", None)
    if isinstance(config, Mapping):
        return config
    from langgraph.config import get_config

    try:
        return get_config()
    except RuntimeError:  # not inside a runnable context (a hand-built request in a test)
        return {}


def _run_metadata(request: ToolCallRequest) -> Mapping[str, Any]:
    metadata = _run_config(request).get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def _run_tags(request: ToolCallRequest) -> tuple[str, ...]:
    tags = _run_config(request).get("tags")
    return tuple(str(t) for t in tags) if isinstance(tags, list | tuple) else ()
