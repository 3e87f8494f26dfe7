"""Bring a broken tool back: re-try it on a schedule, restore its record once it works again.

After a downward change the key restarts from the failing run and its old record is archived.
Left to chance, Thompson sampling would almost never draw the reset tool again. So the key
gets a :class:`Recovery`, a circuit breaker in its half-open state:

* **Re-tries.** The first is due after ``retry_after_calls`` (3) calls of the task type; each
  failed re-try doubles the wait, up to ``retry_max_calls`` (24). The wait is counted in calls,
  not time, so a quiet agent and a busy one spend the same share of their calls on a broken
  tool (an opt-in ``retry_after`` adds a wall-clock wait that doubles alongside). A success
  makes the next re-try due at once, so a tool that is back gets a few calls in a row; with a
  ``patient`` schedule a failure backs off only once the restore score (below) is back at
  zero, so a tool back at 50 % is not sent away by its first failed re-try. An
  exploring strategy sees a due re-try as the chance that the tool is its old self again
  (see ``strategies``).
* **Restoring.** Every outcome after the change feeds a one-sided CUSUM of the log-likelihood
  ratio between the old success rate ``p_old`` and the broken one (Page, 1954):
  ``score = max(0, score + log(p_old / p_new))`` on a success and ``+ log((1 - p_old) /
  (1 - p_new))`` on a failure. ``p_new`` is the restarted record's rate *without* the run
  being scored (the outcomes since the score last stood at zero), so a tool that merely
  limps along at 45 % raises its own reference and is not restored by a lucky streak. When
  the score reaches ``log(restore_ratio)`` the run is that many times likelier under the old
  rate: the tool is back and its archived record is merged into the live one. For a 90 %
  tool reset by four failures (``p_new`` = 1/6), three successes in a row do it
  (``(0.9 · 6)³ ≈ 157``). The floor at zero keeps a long broken spell from delaying the
  restore once the tool works again.

O(1) per outcome and allocation-free: it runs on the recording path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Recovery", "RetrySchedule"]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """How long a broken tool waits between re-tries, in calls of its task type (and time).

    Attributes:
        first_calls: calls of the task type before the first re-try.
        max_calls: the call wait's cap.
        first_gap: seconds before the first re-try (0: calls only).
        patient: a failed re-try backs off only once the restore test's score is back at
            zero; while the run since a successful re-try still leans to "back", the next
            re-try is due at once (a tool back at 50 % fails half its re-tries).
    """

    first_calls: int
    max_calls: int
    first_gap: float = 0.0
    patient: bool = False

    @property
    def max_gap(self) -> float:
        """The time wait's cap: it doubles alongside the call wait."""
        return self.first_gap * self.max_calls / self.first_calls


class Recovery:
    """Re-try schedule and restore test of one key after a downward change.

    Args:
        t: when the change was detected, POSIX seconds.
        calls: calls of the key's task type so far (a running count).
        p_old: success rate of the archived record at the change.
        schedule: the waits between re-tries.
        threshold: log of the likelihood ratio that restores the old record.
        prior: base Beta pseudo-counts, smoothing ``p_new``.
    """

    __slots__ = (
        "calls_gap",
        "due_at",
        "due_calls",
        "gap",
        "log_old",
        "log_old_fail",
        "prior",
        "run_failures",
        "run_successes",
        "score",
        "threshold",
    )

    def __init__(
        self,
        t: float,
        calls: int,
        *,
        p_old: float,
        schedule: RetrySchedule,
        threshold: float,
        prior: tuple[float, float],
    ) -> None:
        p_old = min(max(p_old, _EPS), 1.0 - _EPS)
        self.log_old = math.log(p_old)
        self.log_old_fail = math.log(1.0 - p_old)
        self.prior = prior
        self.score = 0.0
        self.run_successes = self.run_failures = 0.0  # the run the score is made of
        self.threshold = threshold
        self.gap = schedule.first_gap
        self.calls_gap = float(schedule.first_calls)
        self.due_at = t + self.gap
        self.due_calls = calls + self.calls_gap

    def update(
        self,
        successes: float,
        failures: float,
        *,
        t: float,
        calls: int,
        schedule: RetrySchedule,
        live: tuple[float, float],
    ) -> bool:
        """Account for one outcome; returns True when the old record should be restored.

        Args:
            successes: the outcome's success mass.
            failures: its failure mass.
            t: when, POSIX seconds.
            calls: calls of the task type so far.
            schedule: the waits between re-tries.
            live: the restarted record's ``(successes, failures)`` before this outcome.
        """
        alpha0, beta0 = self.prior
        before_s = max(live[0] - self.run_successes, 0.0)
        before_f = max(live[1] - self.run_failures, 0.0)
        p_new = (before_s + alpha0) / (before_s + before_f + alpha0 + beta0)
        score = self.score
        if successes:
            score += successes * (self.log_old - math.log(p_new))
        if failures:
            score += failures * (self.log_old_fail - math.log(1.0 - p_new))
        if score > 0.0:
            self.score = score
            self.run_successes += successes
            self.run_failures += failures
        else:
            self.score = 0.0
            self.run_successes = self.run_failures = 0.0
        if self.due_at == math.inf:
            pass  # no more re-tries: only the restore test goes on
        elif failures > successes and not (schedule.patient and self.score > 0.0):
            self._back_off(t, calls, schedule)
        else:
            # Worked: try again at once, and a later failure waits from the first wait
            # again (a tool back at 64 % fails a third of its re-tries; doubling from the
            # capped wait after each would keep it from proving itself for hundreds of calls).
            self.due_at, self.due_calls = t, calls
            self.gap = schedule.first_gap / 2.0
            self.calls_gap = schedule.first_calls / 2.0
        return self.score >= self.threshold

    def postpone(self, t: float, calls: int, schedule: RetrySchedule) -> None:
        """A due re-try failed in an outage: it says nothing of the tool, but wait longer."""
        if self.due(t, calls):
            self._back_off(t, calls, schedule)

    def due_now(self, t: float, calls: int, schedule: RetrySchedule) -> None:
        """Make a re-try due at once, the waits back at their first step.

        Called when the task type's best tool breaks: the world the old verdict was made in
        has changed, so the broken tool may be its old self again.
        """
        if self.due_at == math.inf:
            return
        self.due_at, self.due_calls = t, calls
        self.gap = schedule.first_gap / 2.0
        self.calls_gap = schedule.first_calls / 2.0

    def stop_retrying(self) -> None:
        """No more re-tries (the detector saw the tool recover); the restore test goes on."""
        self.due_at = math.inf

    def due(self, now: float, calls: int) -> bool:
        """Whether a re-try is due at ``now``, with ``calls`` made in the task type so far."""
        return now >= self.due_at and calls >= self.due_calls

    def _back_off(self, t: float, calls: int, schedule: RetrySchedule) -> None:
        self.gap = min(self.gap * 2.0, schedule.max_gap)
        self.calls_gap = min(self.calls_gap * 2.0, schedule.max_calls)
        self.due_at = t + self.gap
        self.due_calls = calls + self.calls_gap
