"""LangGraph ``ToolNode`` interceptor that records each tool call: ``tw.tool_wrapper()``.

``w = tw.tool_wrapper(agent_id="devops")`` then
``ToolNode(tools, wrap_tool_call=w, awrap_tool_call=w.awrap)``. The same core serves
:class:`~toolwise.integrations.langchain.ToolwiseMiddleware` for ``create_agent``.

What the interceptor sees, and how it judges it:

* ``execute(request)`` returns a ``ToolMessage`` or a ``Command``, judged by
  :func:`toolwise.recording.judge.judge_output` like every entry point's results. An exception
  ``ToolNode`` caught (``handle_tool_errors``) is judged as if raised — the model's bad
  arguments as ``invalid_arguments``, others a failure named after the exception class — so a
  record names what a callback handler would
  (:mod:`~toolwise.integrations.langgraph.handled_errors` sees the exception; ToolNode's
  message templates are the fallback).
* An exception from ``execute`` is recorded as a failure and re-raised untouched; control flow
  (``interrupt()``, ``Command`` routing: ``GraphBubbleUp``) is re-raised and never recorded.
  A cancelled call (LangGraph's ``step_timeout``, an outer ``asyncio.wait_for``, an abort) is
  recorded as a failure judged ``cancelled``, with the latency until the cancellation, and
  the ``CancelledError`` re-raised.
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

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

from toolwise.integrations.langgraph import handled_errors
from toolwise.integrations.langgraph.control_flow import is_recorded
from toolwise.recording.context import CallContext, RecordingDefaults
from toolwise.recording.judge import Reason, Verdict, handled_verdict, judge_output
from toolwise.recording.recorder import PendingCall, Recorder
from toolwise.recording.scope import claim, hand_down, records_itself

if TYPE_CHECKING:
    from langchain_core.messages import ToolMessage
    from langgraph.prebuilt.tool_node import ToolCallRequest
    from langgraph.types import Command

    ToolResult: TypeAlias = ToolMessage | Command[Any]

__all__ = ["ToolCallRecorder", "tool_node_verdict"]

_MAX_TRACKED_CALLS = 4_096

_RAISED = frozenset({Reason.EXCEPTION, Reason.INVALID_ARGUMENTS})


def tool_node_verdict(
    result: Any, defaults: RecordingDefaults, tool: str = ""
) -> tuple[Verdict, bool]:
    """How a ``ToolNode`` call went, and whether the result stands for a raised exception.

    An exception the node caught (noted by
    :mod:`~toolwise.integrations.langgraph.handled_errors`, or read back from ToolNode's
    templates) is judged as if it had been raised: the verdict names its
    class, and the record (like a callback's) keeps no output for it.
    """
    noted = handled_errors.take(result)
    if noted is not None:
        verdict = handled_verdict(noted)
        return verdict, noted.by_node
    verdict = judge_output(result, defaults.judge, tool=tool)
    return verdict, verdict.reason in _RAISED


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
        handled_errors.install()

    def __call__(
        self, request: ToolCallRequest, execute: Callable[[ToolCallRequest], ToolResult]
    ) -> ToolResult:
        """The ``wrap_tool_call`` interceptor: run ``execute(request)`` and record it."""
        with self._recording(request) as pending:
            if pending is None:
                return execute(request)
            handled_errors.forget()
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
            handled_errors.forget()
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
                self.defaults.for_tool(name, tool.metadata),
                source=self.source,
                tool_call_id=call_id,
            )
            yield _Pending(call, (str(metadata.get("checkpoint_ns") or ""), call_id))

    def _failed(self, pending: _Pending, error: BaseException) -> None:
        if not is_recorded(error):
            return  # interrupt() and friends steer the graph; the call will run again
        pending.call.attempt = self._next_attempt(pending.key)
        self.recorder.finish(pending.call, error=error)

    def _finished(self, pending: _Pending, result: Any) -> None:
        pending.call.attempt = self._next_attempt(pending.key)
        verdict, raised = tool_node_verdict(result, pending.call.defaults, pending.call.tool)
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
