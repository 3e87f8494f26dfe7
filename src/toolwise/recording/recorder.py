"""Turning one tool call into one :class:`~toolwise.models.ToolOutcome`, for every entry point.

Each entry point (callback handler, instrumented tool, ToolNode interceptor, agent middleware)
calls :meth:`Recorder.start` when a call begins and :meth:`Recorder.finish` when it ends; the
same inputs give the same record whichever entry point saw the call. :func:`claim` stops two
entry points that are combined from recording the same call twice: the outermost one records.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from toolwise.models import ToolOutcome
from toolwise.recording.context import CallContext, RecordingDefaults
from toolwise.recording.handoff import Handoff
from toolwise.recording.judge import Verdict, judge_error, judge_output
from toolwise.recording.redact import Redactor, to_safe_text

__all__ = [
    "Durability",
    "PendingCall",
    "Recorder",
    "claim",
    "is_claimed",
    "is_control_flow",
]

Durability = Literal["deferred", "immediate"]
"""When a call's record reaches the spool: see :mod:`toolwise.recording.handoff`."""

log = logging.getLogger("toolwise.recorder")

_CLAIMS: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "toolwise_claims", default=frozenset()
)


def is_claimed(tool: str) -> bool:
    """True when an enclosing toolwise entry point is already recording a call to ``tool``."""
    return tool in _CLAIMS.get()


@contextmanager
def claim(tool: str) -> Iterator[bool]:
    """Claim the recording of a call to ``tool`` for this context.

    Yields ``True`` when the caller should record (nobody outside claimed it), ``False`` when
    an outer entry point already records it. Context-local, so parallel calls don't interfere.
    """
    claims = _CLAIMS.get()
    if tool in claims:
        yield False
        return
    token = _CLAIMS.set(claims | {tool})
    try:
        yield True
    finally:
        _CLAIMS.reset(token)


def is_control_flow(error: BaseException) -> bool:
    """Errors that steer a run rather than report a tool's failure: never recorded.

    LangGraph's ``interrupt()`` and ``Command`` routing raise ``GraphBubbleUp`` subclasses;
    cancellation and interpreter exits are not the tool's fault either.
    """
    from langgraph.errors import GraphBubbleUp

    return isinstance(
        error, GraphBubbleUp | asyncio.CancelledError | KeyboardInterrupt | GeneratorExit
    )


@dataclass(slots=True)
class PendingCall:
    """A call that has started: what it was given and when. Raw inputs stay unserialised
    until :meth:`Recorder.finish`, so starting a call costs almost nothing."""

    tool: str
    inputs: Any
    context: CallContext
    defaults: RecordingDefaults
    started: float  # perf_counter seconds
    wall: float  # epoch seconds
    source: str
    tool_call_id: str = ""
    attempt: int = 1


class _FinishedCall(NamedTuple):
    """What the hot path hands over under deferred durability: the raw result, not a record."""

    call: PendingCall
    output: Any
    error: BaseException | None
    verdict: Verdict | None
    latency_ms: float


class Recorder:
    """Builds records from calls and hands them to a sink (the facade's spool path).

    Args:
        sink: receives each finished record; must not raise (the facade logs and counts).
        redactor: applied to inputs, outputs, errors and task text before storage.
        ttl: how long records live; ``None`` keeps them until forgotten.
        max_payload_chars: inputs/outputs are cut to this with a visible marker.
        max_task_chars: the task text (latest human request) is cut to this.
        timer: monotonic seconds for latencies (inject a simulated one for simulations).
        wall_clock: epoch seconds for timestamps.
        durability: ``"deferred"`` (default) builds and sinks records in a background thread
            within about a second, leaving the tool call one queue append; ``"immediate"``
            sinks each record before the call returns. Records are identical either way.
    """

    def __init__(
        self,
        sink: Callable[[ToolOutcome], None],
        *,
        redactor: Redactor | None,
        ttl: timedelta | None,
        max_payload_chars: int = 2_000,
        max_task_chars: int = 500,
        on_invalid: Callable[[Exception], None] | None = None,
        timer: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
        durability: Durability = "deferred",
    ) -> None:
        self._sink = sink
        self._redactor = redactor
        self._ttl = ttl
        self._max_payload = max_payload_chars
        self._max_task = max_task_chars
        self._on_invalid = on_invalid
        self._timer = timer
        self._wall = wall_clock
        self._last_task: tuple[str, str] = ("", "")
        self._handoff: Handoff[_FinishedCall] | None = (
            Handoff(self._complete) if durability == "deferred" else None
        )

    @property
    def queued(self) -> int:
        """Finished calls whose records are not yet built and sunk (deferred durability)."""
        return 0 if self._handoff is None else self._handoff.queued

    def drain(self) -> int:
        """Build and sink every finished call still queued, in this thread; how many."""
        return 0 if self._handoff is None else self._handoff.drain()

    def after_fork(self) -> None:
        """In a forked child: a hand-off of this process's own (the parent's thread did not
        survive the fork, and the calls it had queued are the parent's to record)."""
        if self._handoff is not None:
            self._handoff = Handoff(self._complete)

    def close(self) -> None:
        """Sink what is queued and stop the background thread."""
        if self._handoff is not None:
            self._handoff.close()

    def start(
        self,
        tool: str,
        inputs: Any,
        context: CallContext,
        defaults: RecordingDefaults,
        *,
        source: str,
        tool_call_id: str = "",
        attempt: int = 1,
    ) -> PendingCall:
        return PendingCall(
            tool=tool,
            inputs=inputs,
            context=context,
            defaults=defaults,
            started=self._timer(),
            wall=self._wall(),
            source=source,
            tool_call_id=tool_call_id,
            attempt=attempt,
        )

    def finish(
        self,
        call: PendingCall,
        *,
        output: Any = None,
        error: BaseException | None = None,
        verdict: Verdict | None = None,
    ) -> ToolOutcome | None:
        """Judge, build and sink the record (or queue that work). Never raises.

        Returns the record when it was built now (immediate durability); None when the work
        was queued or the record was invalid (logged and counted).
        """
        latency_ms = max(0.0, (self._timer() - call.started) * 1000.0)
        finished = _FinishedCall(call, output, error, verdict, latency_ms)
        if self._handoff is not None:
            self._handoff.put(finished)
            return None
        return self._complete(finished)

    def _complete(self, finished: _FinishedCall) -> ToolOutcome | None:
        call = finished.call
        try:
            outcome = self.build(
                call,
                output=finished.output,
                error=finished.error,
                verdict=finished.verdict,
                latency_ms=finished.latency_ms,
            )
        except Exception as exc:  # invalid labels or costs from configuration: log, count
            log.warning("toolwise: could not record a call to %s: %s", call.tool, exc)
            if self._on_invalid is not None:
                self._on_invalid(exc)
            return None
        self._sink(outcome)
        return outcome

    def _safe_task(self, task: str) -> str:
        """The redacted task text; the last one is cached (a run's calls share their task)."""
        if not task:
            return ""
        cached = self._last_task
        if cached[0] == task:
            return cached[1]
        safe = to_safe_text(task, self._redactor, self._max_task)
        self._last_task = (task, safe)
        return safe

    def build(
        self,
        call: PendingCall,
        *,
        output: Any,
        error: BaseException | None,
        verdict: Verdict | None,
        latency_ms: float,
    ) -> ToolOutcome:
        """The record for a finished call (pure: no I/O). Raises on invalid labels."""
        if verdict is None:
            if error is not None:
                verdict = judge_error(error)
            else:
                verdict = judge_output(output, call.defaults.judge, tool=call.tool)
        ctx = call.context
        timestamp = datetime.fromtimestamp(call.wall, UTC)
        return ToolOutcome(  # validated in pydantic-core: ~3 µs, cheaper than model_construct
            agent_id=ctx.agent_id,
            tool=call.tool,
            task_type=ctx.task_type,
            task=self._safe_task(ctx.task),
            environment=ctx.environment,
            session_id=ctx.session_id,
            run_id=ctx.run_id,
            tool_call_id=call.tool_call_id,
            outcome=verdict.outcome,
            quality=verdict.quality,
            latency_ms=latency_ms,
            cost=call.defaults.cost_of(call.tool),
            error_type=verdict.error_type,
            error_message=to_safe_text(verdict.error_message, self._redactor, 500),
            judged_by=verdict.reason,
            tool_input=to_safe_text(call.inputs, self._redactor, self._max_payload),
            tool_output=(
                "" if error is not None else to_safe_text(output, self._redactor, self._max_payload)
            ),
            timestamp=timestamp,
            expires_at=None if self._ttl is None else timestamp + self._ttl,
            attempt=call.attempt,
            tags=ctx.tags,
            source=call.source,
            decision_id=ctx.decision_id,
            recommended_tool=ctx.recommended_tool,
        )
