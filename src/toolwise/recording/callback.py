"""A LangChain callback handler that records every tool call it sees — one line to add.

Works for direct ``tool.invoke``/``ainvoke``, inside LangGraph's ``ToolNode`` and inside
``create_agent``/``create_react_agent`` (pass it in the run's ``config["callbacks"]``). It is a
*sync* handler marked ``run_inline``: under ``ainvoke`` LangChain then calls it directly on the
event loop instead of in a thread pool (measured: +32 µs instead of +600 µs). Its hooks only
stash a start time and, at the end, build and spool one record — no I/O beyond one append.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from typing_extensions import override

from toolwise.recording.context import CallContext, RecordingDefaults, latest_human_text
from toolwise.recording.recorder import PendingCall, Recorder, is_claimed, is_control_flow

__all__ = ["INSTRUMENTED_KEY", "ToolwiseCallbackHandler"]

INSTRUMENTED_KEY = "toolwise_instrumented"
"""Metadata flag set by :func:`toolwise.Toolwise.instrument` tools, which record themselves."""

_MAX_TRACKED_TASKS = 1_024


class ToolwiseCallbackHandler(BaseCallbackHandler):
    """Records tool calls; learns the task text from the chat model's latest human message.

    Thread-safe: LangGraph runs parallel tool calls in threads. ``raise_error`` stays False, so
    nothing in this handler can fail a run.
    """

    run_inline = True
    raise_error = False

    def __init__(self, recorder: Recorder, defaults: RecordingDefaults) -> None:
        self.recorder = recorder
        self.defaults = defaults
        self._calls: dict[UUID, PendingCall] = {}
        self._tasks: dict[str, str] = {}  # thread/session id -> latest human request
        self._lock = threading.Lock()

    # -- task text from the model's input -------------------------------------------------

    @override
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        text = latest_human_text(messages[0] if messages else [])
        if not text:
            return
        key = _session_key(metadata)
        with self._lock:
            if len(self._tasks) >= _MAX_TRACKED_TASKS:
                self._tasks.pop(next(iter(self._tasks)))
            self._tasks[key] = text

    # -- tool calls -------------------------------------------------------------------------

    @override
    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = str((serialized or {}).get("name") or kwargs.get("name") or "unknown_tool")
        metadata = metadata or {}
        if metadata.get(INSTRUMENTED_KEY) or is_claimed(name):
            return  # an instrumented tool or an enclosing interceptor records this call
        context = CallContext.resolve(self.defaults, metadata, run_id=str(run_id), tags=tags or ())
        with self._lock:
            context = context.with_task(self._tasks.get(_session_key(metadata), ""))
        call = self.recorder.start(
            name,
            inputs if inputs is not None else input_str,
            context,
            self.defaults,
            source="callback",
            tool_call_id=str(kwargs.get("tool_call_id") or ""),
        )
        with self._lock:
            self._calls[run_id] = call

    @override
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            call = self._calls.pop(run_id, None)
        if call is not None:
            self.recorder.finish(call, output=output)

    @override
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            call = self._calls.pop(run_id, None)
        if call is not None and not is_control_flow(error):
            self.recorder.finish(call, error=error)


def _session_key(metadata: dict[str, Any] | None) -> str:
    metadata = metadata or {}
    return str(metadata.get("thread_id") or metadata.get("session_id") or "")
