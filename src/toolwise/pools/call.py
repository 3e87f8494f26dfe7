"""One call through a pool: its plan, its attempts, their records — the core both drivers share.

The sync driver (threads) and the async driver (tasks) only decide *when* things happen; what
happens is here: which member goes next, how an attempt is judged and recorded, when the next
hedge or the deadline is due, and the error when nothing worked.

Every attempt is recorded through the runtime's :class:`~toolwise.recording.recorder.Recorder`
(the one record path), under the member's own name, with the pool's name in its tags
(``pool:<name>``, and ``hedge`` for an attempt started by a hedge). An attempt is settled
exactly once, under a lock: by its result, by its error, by the deadline (a ``TimeoutError``
failure), or when another member wins while it still runs:

* a loser that started *before* the winner is **given up**: recorded as a ``TimeoutError``
  failure (it was passed its hedge delay and a later member answered first — the evidence that
  lets the pool learn that a member hangs, which a hedge that always rescues it would hide);
* a loser that started *after* the winner (a hedge the first member beat) is **cancelled**
  and not recorded: it had no fair chance, so it has no outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from toolwise._summary import POOL_TAG
from toolwise.pools.errors import FailedAttempt, PoolExhaustedError
from toolwise.pools.plan import Plan
from toolwise.recording.context import CallContext, RecordingDefaults
from toolwise.recording.judge import Verdict, judge_output
from toolwise.recording.recorder import PendingCall, Recorder

__all__ = ["NOT_WON", "Attempt", "Member", "PoolCall"]

NOT_WON = frozenset({"failure", "refused", "invalid_arguments"})
"""Verdicts after which the pool tries the next member (the next may take the arguments)."""

Adapter = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""Turns the pool's arguments into one member's (``{"q": ...}`` -> ``{"query": ...}``)."""


@dataclass(frozen=True, slots=True)
class Member:
    """One interchangeable provider: a name (its records' tool name) and how to call it."""

    name: str
    call: Callable[[Mapping[str, Any]], Any]
    acall: Callable[[Mapping[str, Any]], Awaitable[Any]]
    adapt: Adapter | None = None
    metadata: Mapping[str, Any] | None = None
    """The tool's metadata: where it may declare its own judge (``declare_judge``)."""

    def arguments(self, args: Mapping[str, Any]) -> Mapping[str, Any]:
        return args if self.adapt is None else self.adapt(args)


@dataclass(slots=True)
class Attempt:
    """A member's attempt within one call."""

    member: Member
    number: int
    args: Mapping[str, Any]  # the pool's; the member's adapter runs inside the attempt
    hedged: bool
    started: float
    pending: PendingCall | None
    open: bool = True


@dataclass(slots=True)
class _Tally:
    failures: list[FailedAttempt] = field(default_factory=list)
    cancelled: int = 0
    given_up: int = 0
    hedges: int = 0


class PoolCall:
    """The state of one call: created per call, shared by the driver and its workers."""

    def __init__(
        self,
        name: str,
        plan: Plan,
        members: Mapping[str, Member],
        args: Mapping[str, Any],
        *,
        recorder: Recorder | None,
        defaults: RecordingDefaults,
        context: CallContext,
        tool_call_id: str,
        max_attempts: int,
        deadline: float | None,
        timer: Callable[[], float],
    ) -> None:
        self.name = name
        self.plan = plan
        self._queue = [members[m] for m in plan.order]
        self._args = args
        self._recorder = recorder
        self._defaults = defaults
        self._context = context._replace(tags=(*context.tags, f"{POOL_TAG}{name}"))
        self._tool_call_id = tool_call_id
        self._max_attempts = max_attempts
        self._timer = timer
        self._started = timer()
        self._deadline = None if deadline is None else self._started + deadline
        self._lock = threading.Lock()
        self._tally = _Tally()
        self.running: list[Attempt] = []
        self.attempts = 0
        self.winner: Attempt | None = None

    # -- starting ----------------------------------------------------------------------------

    def start_next(self, *, hedged: bool = False) -> Attempt | None:
        """The next member's attempt, started now (or None: no member or budget is left)."""
        if not self._queue or self.attempts >= self._max_attempts or self.expired():
            return None
        member = self._queue.pop(0)
        self.attempts += 1
        context = self._context._replace(tags=(*self._context.tags, "hedge")) if hedged else None
        pending = None
        if self._recorder is not None:
            pending = self._recorder.start(
                member.name,
                self._args,
                context or self._context,
                self._defaults.for_tool(member.name, member.metadata),
                source="pool",
                tool_call_id=self._tool_call_id,
                attempt=self.attempts,
            )
        attempt = Attempt(member, self.attempts, self._args, hedged, self._timer(), pending)
        if hedged:
            self._tally.hedges += 1
        self.running.append(attempt)
        return attempt

    def can_start(self) -> bool:
        return bool(self._queue) and self.attempts < self._max_attempts and not self.expired()

    # -- timing ------------------------------------------------------------------------------

    def expired(self) -> bool:
        return self._deadline is not None and self._timer() >= self._deadline

    def wake_in(self) -> float | None:
        """Seconds until the next hedge or the deadline, whichever is first (None: neither)."""
        due = []
        if self._deadline is not None:
            due.append(self._deadline)
        if self.plan.hedge_after and self.running and self.can_start():
            latest = self.running[-1]
            due.append(latest.started + self.plan.hedge_after.get(latest.member.name, 0.0))
        if not due:
            return None
        return max(0.0, min(due) - self._timer())

    def hedge_due(self) -> bool:
        if not (self.plan.hedge_after and self.running and self.can_start()):
            return False
        latest = self.running[-1]
        return self._timer() >= latest.started + self.plan.hedge_after.get(latest.member.name, 0.0)

    # -- settling (any thread) ---------------------------------------------------------------

    def _close(self, attempt: Attempt) -> bool:
        with self._lock:
            if not attempt.open:
                return False
            attempt.open = False
            return True

    def settle_result(self, attempt: Attempt, output: Any) -> Verdict:
        """Judge and record a result; the verdict decides whether the pool goes on."""
        member = attempt.member
        judge = self._defaults.for_tool(member.name, member.metadata).judge
        verdict = judge_output(output, judge, tool=member.name)
        if self._close(attempt):
            if self._recorder is not None and attempt.pending is not None:
                self._recorder.finish(attempt.pending, output=output, verdict=verdict)
            if verdict.outcome in NOT_WON:
                self._failed(attempt, verdict.error_type or "Failure", verdict.error_message)
        return verdict

    def settle_error(self, attempt: Attempt, error: BaseException) -> None:
        """Record a raised attempt as a failure."""
        if self._close(attempt):
            if self._recorder is not None and attempt.pending is not None:
                self._recorder.finish(attempt.pending, error=error)
            self._failed(attempt, type(error).__name__, str(error))

    def settle_cancelled(self, attempt: Attempt) -> None:
        """Another member won: this attempt has no outcome and is not recorded."""
        if self._close(attempt):
            with self._lock:
                self._tally.cancelled += 1

    def time_out_running(self) -> None:
        """The deadline passed: every attempt still running is a ``TimeoutError`` failure."""
        self.fail_running(TimeoutError(f"pool {self.name!r}: no answer before the deadline"))

    def fail_running(self, error: BaseException) -> None:
        """Every attempt still running failed with ``error``: the deadline's, or the caller's
        cancellation (recorded as a failure judged ``cancelled``)."""
        for attempt in list(self.running):
            self.settle_error(attempt, error)

    def _failed(self, attempt: Attempt, error_type: str, message: str) -> None:
        with self._lock:
            self._tally.failures.append(
                FailedAttempt(attempt.member.name, attempt.number, error_type, message)
            )

    # -- the driver's bookkeeping ------------------------------------------------------------

    def done(self, attempt: Attempt) -> None:
        if attempt in self.running:
            self.running.remove(attempt)

    def won(self, attempt: Attempt) -> None:
        """``attempt`` answered first: every other running attempt is given up or cancelled."""
        self.done(attempt)
        self.winner = attempt
        for loser in list(self.running):
            if loser.started <= attempt.started and self._close(loser):
                error = TimeoutError(
                    f"pool {self.name!r}: given up, {attempt.member.name!r} answered first"
                )
                if self._recorder is not None and loser.pending is not None:
                    self._recorder.finish(loser.pending, error=error)
                with self._lock:
                    self._tally.given_up += 1
            else:
                self.settle_cancelled(loser)

    @property
    def cancelled(self) -> int:
        with self._lock:
            return self._tally.cancelled

    @property
    def given_up(self) -> int:
        with self._lock:
            return self._tally.given_up

    @property
    def hedges(self) -> int:
        return self._tally.hedges

    def exhausted(self) -> PoolExhaustedError:
        """The error to raise when no attempt succeeded."""
        if self.expired():
            reason = "deadline"
        elif self._queue and self.attempts >= self._max_attempts:
            reason = "attempts"
        else:
            reason = "all failed"
        with self._lock:
            failures = tuple(self._tally.failures)
        return PoolExhaustedError(self.name, failures, reason)
