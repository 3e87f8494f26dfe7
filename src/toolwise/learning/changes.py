"""Change points: restart a key's record when its tool changes, re-try it, restore it.

Every charge to an aggregate goes through :meth:`ChangeTracker.charge`, which

1. advances the key's recovery if it broke earlier (``recovery``): a re-try's outcome, and
   the CUSUM that restores the old record once the tool is back;
2. runs the fast test on the recent run (``changepoint``), and on its thinning schedule the
   slow GLR scan over the whole record (``scan``);
3. on a change point, restarts the key from the run after it, archiving the old record after
   a downward change and scheduling re-tries; with ``time_buckets="auto"`` it notes where
   the key broke, and switches it to time buckets once its breaks recur in one bucket.

Memory is counted in outcomes and calls, never in time (unless the opt-in half-life or
re-try wait are set). Not thread-safe on its own: the view holds its lock.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from toolwise.learning.buckets import BucketLabels
from toolwise.learning.changepoint import MIN_RUN, can_fire, find_change, screen_of
from toolwise.learning.config import LearningConfig
from toolwise.learning.dip import dip_rate
from toolwise.learning.evidence import Evidence, Part
from toolwise.learning.hold import Hold
from toolwise.learning.recovery import Recovery, RetrySchedule
from toolwise.learning.regime import back_to_former, keep_former, prefer_former
from toolwise.learning.restart import TaskRestarts
from toolwise.learning.shrinkage import Mass
from toolwise.learning.ttl import TtlLedger

__all__ = ["ChangeTracker", "ContextKey"]

ContextKey = tuple[str, str, str, str]
"""(agent, tool, task type, environment)."""

_DAY = 86_400.0
_ZERO: Mass = (0.0, 0.0)


class ChangeTracker:
    """Detects change points per key and runs the recovery of keys that broke.

    Args:
        config: the learning configuration.
        ttl: the TTL ledger (kept charges move to the new segment with their expiry).
        counts: the view's counters (``changes_detected``, ``restored``, ...).
        scope_calls: calls charged so far in a task type (agent, task type, environment).
    """

    def __init__(
        self,
        config: LearningConfig,
        ttl: TtlLedger,
        counts: Counter[str],
        scope_calls: Callable[[str, str, str], int],
    ) -> None:
        self._config = config
        self._rate = config.decay_rate
        self._base: Mass = (config.prior_alpha, config.prior_beta)
        self._mode = config.time_buckets
        self._labels = BucketLabels(config.time_buckets, config.zone)
        self._screen = screen_of(config.change_delta)
        self._schedule = RetrySchedule(
            first_calls=config.retry_after_calls,
            max_calls=config.retry_max_calls,
            first_gap=config.retry_after.total_seconds() if config.retry_after else 0.0,
            patient=config.retry_patience,
        )
        self._restore_at = math.log(config.restore_ratio)
        self.ttl = ttl
        self.counts = counts
        self._scope_calls = scope_calls
        # time_buckets="auto": keys switched to buckets, and where each key broke (by day).
        self.bucketed: set[ContextKey] = set()
        self._breaks: dict[ContextKey, dict[str, tuple[int, int]]] = {}
        # Task-type records by scope (agent, task type, environment), for holds.
        self._scopes: dict[tuple[str, str, str], dict[str, Evidence]] = {}
        # Task types where a change was detected (``change_long_after_change``).
        self._changed: set[tuple[str, str, str]] = set()
        self._restarts = (
            TaskRestarts(config.restart_weight, config.restart_min_calls, self._base)
            if config.restart_on_leader_change
            else None
        )
        self._restart_on_return = config.restart_on == "break_and_return"

    @property
    def schedule(self) -> RetrySchedule:
        """The re-try waits."""
        return self._schedule

    def forget(self, doomed: Callable[[tuple[str, ...]], bool]) -> None:
        """Drop what is kept about the keys ``doomed`` selects."""
        self.bucketed = {k for k in self.bucketed if not doomed(k)}
        for scope, records in self._scopes.items():
            for tool in [t for t in records if doomed((scope[0], t, scope[1], scope[2]))]:
                del records[tool]
        self._breaks = {k: v for k, v in self._breaks.items() if not doomed(k)}
        # A task type's "has changed" goes with its agent only (no tool is named "").
        self._changed = {c for c in self._changed if not doomed((c[0], "", c[1], c[2]))}
        if self._restarts is not None:
            self._restarts.forget(lambda c: doomed((c[0], "", c[1], c[2])))

    def retry(
        self, key: ContextKey, own: Evidence | None, context: Evidence | None, now: float
    ) -> Mass | None:
        """The pre-break Beta of a key whose re-try is due (its own, else its task type's)."""
        calls: int | None = None
        for evidence in (own, context):
            recovery = evidence.recovery if evidence is not None else None
            if evidence is None or recovery is None:
                continue
            if calls is None:
                calls = self._scope_calls(key[0], key[2], key[3])
            if not recovery.due(now, calls):
                continue
            successes, failures = evidence.archived_mass(now, self._rate)
            if successes + failures < self._config.change_min_evidence:
                continue  # the old record has faded: nothing left to go back to
            return self._base[0] + successes, self._base[1] + failures
        return None

    def _note_break(self, key: ContextKey, t: float) -> None:
        """time_buckets="auto": switch a key to buckets once its breaks recur in one bucket."""
        label = self._labels(t)
        marks = self._breaks.setdefault(key, {})
        count, last_day = marks.get(label, (0, -1))
        day = int(t // _DAY)
        if day != last_day:
            count += 1
            marks[label] = (count, day)
        if count >= self._config.auto_bucket_changes and key not in self.bucketed:
            self.bucketed.add(key)
            self.counts["auto_bucketed"] += 1

    def charge(  # noqa: PLR0915, PLR0917  # one flat hot path, positional on purpose: runs for every level of every outcome
        self,
        evidence: Evidence,
        successes: float,
        failures: float,
        t: float,
        slot: int | None,
        key: ContextKey,
        context_level: bool,
    ) -> Part:
        """Charge one aggregate, advance its recovery, look for a change point it completes.

        Args:
            evidence: the aggregate.
            successes: the outcome's success mass.
            failures: its failure mass.
            t: when, POSIX seconds.
            slot: TTL expiry slot, if the outcome has a TTL.
            key: the outcome's context key.
            context_level: ``evidence`` is the task type's record (not the tool's overall
                record or a time bucket's): its breaks may switch the key to time buckets.
        """
        rate = self._rate
        if context_level:
            scope = (key[0], key[2], key[3])
            self._scopes.setdefault(scope, {})[key[1]] = evidence
        held = evidence.held
        if held is not None and held.lifted:
            evidence.release(rate, merge=True)
            self.counts["holds_lifted"] += 1
            held = None
        recovery = evidence.recovery
        live = evidence.mass(t, rate) if recovery is not None else _ZERO
        part = evidence.charge(successes, failures, t, rate)
        if held is not None:
            self._judge_hold(evidence, held, t)
        if evidence.former is not None and back_to_former(
            evidence, t, rate, self._base, restore=self._config.hold_restore
        ):
            self.counts["regimes_restored"] += 1
            recovery = None  # the swap ended it
        if slot is not None:
            self.ttl.attach(part, slot)
        weight = successes + failures
        if weight <= 0.0:
            return part
        if recovery is not None and self._recover(
            evidence, recovery, (successes, failures), t, key, live
        ):
            if context_level and self._restarts is not None and self._restart_on_return:
                self._after_return(self._restarts, evidence, key, t)
            return part
        if failures > 0.0 and context_level and self._config.retry_on_leader_dip > 0.0:
            self._leader_dip(evidence, key, t)
        scope = (key[0], key[2], key[3])
        long = self._config.change_long_window > 0 and (
            not self._config.change_long_after_change or scope in self._changed
        )
        kept = self._fast_change(evidence, successes / weight, t, long=long)
        upward = False
        if kept is not None:
            upward = kept[1]
            kept_parts = list(evidence.window)[-kept[0] :]
            slots = [self.ttl.detach(p) for p in kept_parts]
            former = not upward and self._config.regime_memory and keep_former(evidence)
            evidence.restart(kept[0], t, rate, downward=not upward)
            evidence.former_at_break = former
        else:
            history = evidence.history
            if history is None or evidence.archived is not None or not history.due():
                return part  # no scan while a fast restart's archive awaits its verdict
            count, run_s, run_f, upward = history.scan(
                delta=self._config.change_scan_delta,
                min_evidence=self._config.change_min_evidence,
                prior=self._base,
            )
            if not count:
                return part
            kept_parts = list(evidence.window)[-count:]
            slots = [self.ttl.detach(p) for p in kept_parts]
            former = not upward and self._config.regime_memory and keep_former(evidence)
            evidence.split(count, run_s, run_f, t, rate, downward=not upward)
            evidence.former_at_break = former
            self.counts["changes_scanned"] += 1
        for p, kept_slot in zip(kept_parts, slots, strict=True):
            self.ttl.reattach(p, kept_slot)
        self.counts["changes_detected"] += 1
        self._changed.add(scope)
        if not upward:
            self._after_break(evidence, t, key, context_level=context_level)
        return part

    def _recover(  # noqa: PLR0917  # the hot path's locals, passed as they are
        self,
        evidence: Evidence,
        recovery: Recovery,
        outcome: Mass,
        t: float,
        key: ContextKey,
        live: Mass,
    ) -> bool:
        """Advance a broken key's recovery; True when it restored a record."""
        calls = self._scope_calls(key[0], key[2], key[3])
        if not recovery.update(
            outcome[0], outcome[1], t=t, calls=calls, schedule=self._schedule, live=live
        ):
            return False
        run = (recovery.run_successes, recovery.run_failures)
        if evidence.former is not None and prefer_former(evidence, run, t, self._rate, self._base):
            self.counts["regimes_restored"] += 1
        else:
            evidence.restore(t, self._rate)
            self.counts["restored"] += 1
        return True

    def _judge_hold(self, evidence: Evidence, held: Hold, t: float) -> None:
        """Merge a held record back once the new outcomes agree with it (``hold``)."""
        rate = self._rate
        if held.final:
            return  # set aside for good (``restart``)
        live = evidence.current.at(t, rate)
        if held.restores(live, t, rate, restore=self._config.hold_restore):
            evidence.release(rate, merge=True)
            self.counts["holds_restored"] += 1

    def _fast_change(
        self, evidence: Evidence, quality: float, t: float, *, long: bool
    ) -> tuple[int, bool] | None:
        """``(charges to keep, upward)`` when the recent run is a change point, else None."""
        segment = evidence.current  # just charged at t, so its masses are valued at t already
        mass = (segment.successes, segment.failures)
        alpha0, beta0 = self._base
        reference = (mass[0] + alpha0) / (mass[0] + mass[1] + alpha0 + beta0)
        if quality == reference:
            return None
        upward = quality > reference
        run = evidence.window_successes if upward else evidence.window_failures
        if run < MIN_RUN:  # can_fire's first test, inlined: it settles most outcomes
            return None
        window_mass = (evidence.window_successes, evidence.window_failures)
        if not can_fire(mass, window_mass, upward=upward, screen=self._screen, prior=self._base):
            return None
        keep = find_change(
            evidence.window,
            evidence.current,
            t,
            self._rate,
            upward=upward,
            delta=self._config.change_delta,
            min_evidence=self._config.change_min_evidence,
            prior=self._base,
            lapsed=self.ttl.lapsed,
            short=self._config.change_window,
            long_delta=self._config.change_long_delta if long else None,
        )
        return (keep, upward) if keep else None

    def _after_break(
        self, evidence: Evidence, t: float, key: ContextKey, *, context_level: bool
    ) -> None:
        """Schedule re-tries of a key that just broke; note where it broke (auto buckets)."""
        if self._config.retry_broken:
            p_old = _mean(evidence.archived_mass(t, self._rate), self._base)
            p_new = _mean(evidence.mass(t, self._rate), self._base)
            if p_old > p_new:
                evidence.recovery = Recovery(
                    t,
                    self._scope_calls(key[0], key[2], key[3]),
                    p_old=p_old,
                    schedule=self._schedule,
                    threshold=self._restore_at,
                    prior=self._base,
                )
        if context_level and self._mode == "auto":
            self._note_break(key, t)
        if context_level and (self._config.hold_strength > 0.0 or self._restarts is not None):
            self._hold_others(evidence, key, t)

    def _leader_dip(self, leader: Evidence, key: ContextKey, t: float) -> None:
        """``retry_on_leader_dip``: the leader dipped below a broken tool's old rate (``dip``)."""
        history = leader.history
        if history is None or leader.recovery is not None:
            return
        records = self._scopes.get((key[0], key[2], key[3]), {})
        waiting = [
            (evidence, recovery)
            for tool, evidence in records.items()
            if tool != key[1]
            and (recovery := evidence.recovery) is not None
            and recovery.due_at != math.inf
            and recovery.calls_gap > self._schedule.first_calls
        ]
        if not waiting:
            return
        rate, base = self._rate, self._base
        mine = _mean(leader.mass(t, rate), base)
        if any(
            _mean(e.mass(t, rate), base) > mine for tool, e in records.items() if tool != key[1]
        ):
            return  # not the leader: nobody is kept out by it
        after = dip_rate(
            history,
            threshold=self._config.retry_on_leader_dip,
            min_evidence=self._config.change_min_evidence,
            prior=base,
        )
        if after is None:
            return
        calls = self._scope_calls(key[0], key[2], key[3])
        for evidence, recovery in waiting:
            if _mean(evidence.archived_mass(t, rate), base) > after:
                recovery.due_now(t, calls, self._schedule)
                self.counts["dip_retries"] += 1

    def _hold_others(self, broken: Evidence, key: ContextKey, t: float) -> None:
        """The task type's best tool broke: hold the other tools' records (see ``hold``)."""
        rate, base = self._rate, self._base
        strength = self._config.hold_strength
        before = _mean(broken.archived_mass(t, rate), base)
        others = [
            evidence
            for tool, evidence in self._scopes.get((key[0], key[2], key[3]), {}).items()
            if tool != key[1]
        ]
        if any(_mean(other.mass(t, rate), base) > before for other in others):
            return  # it was not the best tool: the others' world need not have changed
        calls = self._scope_calls(key[0], key[2], key[3])
        for other in others:
            if other.recovery is not None and self._config.retry_on_leader_break:
                other.recovery.due_now(t, calls, self._schedule)
        scope = (key[0], key[2], key[3])
        restarts = self._restarts
        if restarts is not None and restarts.allowed(scope, calls):
            restarts.restart(scope, calls, others, broken, rate)
            self.counts["restarts_on_break"] += 1
            return
        if strength <= 0.0:
            return
        for other in others:
            s, f = other.current.at(t, rate)
            if other.held is None and other.archived is None and s + f > strength:
                other.hold(broken, strength, base)
                self.counts["holds"] += 1

    def _after_return(
        self, restarts: TaskRestarts, back: Evidence, key: ContextKey, t: float
    ) -> None:
        """``restart_on_leader_change``: a broken tool was restored and leads again."""
        rate, base = self._rate, self._base
        scope = (key[0], key[2], key[3])
        others = [e for tool, e in self._scopes.get(scope, {}).items() if tool != key[1]]
        mine = _mean(back.mass(t, rate), base)
        if any(_mean(other.mass(t, rate), base) >= mine for other in others):
            return  # back, but not the leader: the others' world need not have changed
        calls = self._scope_calls(*scope)
        if restarts.allowed(scope, calls):
            restarts.restart(scope, calls, others, None, rate)
            self.counts["restarts_on_return"] += 1


def _mean(mass: Mass, prior: Mass) -> float:
    return (mass[0] + prior[0]) / (mass[0] + mass[1] + prior[0] + prior[1])
