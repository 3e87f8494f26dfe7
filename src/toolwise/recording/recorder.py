"""Turning one tool call into one :class:`~toolwise.models.ToolOutcome`, for every entry point.

Each entry point (callback handler, instrumented tool, ToolNode interceptor, agent middleware)
calls :meth:`Recorder.start` when a call begins and :meth:`Recorder.finish` when it ends; the
same inputs give the same record whichever entry point saw the call, because the record is
made by the one :class:`~toolwise.recording.records.RecordBuilder` that also makes the records
of ``record()`` and ``observe()``. Which entry point records a call when several see it is
decided by :mod:`toolwise.recording.scope`: the outermost one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from toolwise._checks import clipped
from toolwise.models import ToolOutcome
from toolwise.recording.context import CallContext, RecordingDefaults
from toolwise.recording.handoff import MAX_DELAY, Handoff
from toolwise.recording.judge import Verdict, judge_error, judge_output
from toolwise.recording.records import RecordBuilder

__all__ = ["Durability", "PendingCall", "Recorder"]

Durability = Literal["deferred", "immediate"]
"""When a call's record reaches the spool: see :mod:`toolwise.recording.handoff`."""

log = logging.getLogger("toolwise.recorder")


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
    """Builds records from calls and hands them to a sink (the runtime's spool path).

    Args:
        records: validates, redacts and bounds each record (the same rules as ``record()``).
        sink: receives each finished record; must not raise (the runtime logs and counts).
        on_invalid: told when a call's record could not be built (invalid labels or costs).
        timer: monotonic seconds for latencies (inject a simulated one for simulations).
        wall_clock: epoch seconds for timestamps.
        durability: ``"deferred"`` (default) builds and sinks records in a background thread
            within ``max_delay`` seconds, leaving the tool call one queue append (the call
            does the work itself when the thread falls behind that bound); ``"immediate"``
            sinks each record before the call returns. Records are identical either way.
        max_delay: under ``"deferred"``, the most seconds a finished call waits unsunk.
    """

    def __init__(
        self,
        records: RecordBuilder,
        sink: Callable[[ToolOutcome], None],
        *,
        on_invalid: Callable[[Exception], None] | None = None,
        timer: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
        durability: Durability = "deferred",
        max_delay: float = MAX_DELAY,
    ) -> None:
        self._records = records
        self._sink = sink
        self._on_invalid = on_invalid
        self._timer = timer
        self._wall = wall_clock
        self._max_delay = max_delay
        self._handoff: Handoff[_FinishedCall] | None = (
            Handoff(self._complete, max_delay=max_delay) if durability == "deferred" else None
        )

    @property
    def durability(self) -> Durability:
        return "immediate" if self._handoff is None else "deferred"

    @property
    def window(self) -> float:
        """Seconds of finished calls a kill of the process can lose (0: none)."""
        return 0.0 if self._handoff is None else self._handoff.max_delay

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
            self._handoff = Handoff(self._complete, max_delay=self._max_delay)

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
            log.warning("toolwise: could not record a call to %s: %s", clipped(call.tool), exc)
            if self._on_invalid is not None:
                self._on_invalid(exc)
            return None
        self._sink(outcome)
        return outcome

    def build(
        self,
        call: PendingCall,
        *,
        output: Any,
        error: BaseException | None,
        verdict: Verdict | None,
        latency_ms: float,
    ) -> ToolOutcome:
        """The record for a finished call (pure: no I/O).

        Raises:
            InvalidArgumentError: invalid labels or costs (from configuration).
        """
        if verdict is None:
            if error is not None:
                verdict = judge_error(error)
            else:
                verdict = judge_output(output, call.defaults.judge, tool=call.tool)
        ctx = call.context
        return self._records.build(
            {
                "agent_id": ctx.agent_id,
                "tool": call.tool,
                "task_type": ctx.task_type,
                "task": ctx.task,
                "environment": ctx.environment,
                "session_id": ctx.session_id,
                "run_id": ctx.run_id,
                "tool_call_id": call.tool_call_id,
                "outcome": verdict.outcome,
                "quality": verdict.quality,
                "latency_ms": latency_ms,
                "cost": call.defaults.cost_of(call.tool),
                "error_type": verdict.error_type,
                "error_message": verdict.error_message,
                "judged_by": verdict.reason,
                "tool_input": call.inputs,
                "tool_output": "" if error is not None else output,
                "timestamp": datetime.fromtimestamp(call.wall, UTC),
                "attempt": call.attempt,
                "tags": ctx.tags,
                "source": call.source,
                "decision_id": ctx.decision_id,
                "recommended_tool": ctx.recommended_tool,
                # Only the first attempt is the decision's; a retry is the tool's, not the policy's.
                "metadata": ctx.logged_propensity(call.tool) if call.attempt == 1 else {},
            }
        )
