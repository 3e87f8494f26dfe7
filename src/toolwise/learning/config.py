"""The learning layer's knobs, validated once when the config is built (STYLE rule 9).

Every default is explained in ``docs/ranking.md``. A bad value raises
:class:`~toolwise.errors.InvalidArgumentError` naming the field, never a bare pydantic error.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from toolwise.errors import InvalidArgumentError
from toolwise.models import BoundaryModel as _Boundary

__all__ = ["LearningConfig", "TimeBuckets"]

TimeBuckets = Literal["none", "auto", "weekday", "weekday_daypart", "hour"]
"""How outcome timestamps split a context: not at all; weekday × daypart only for keys that
broke twice in the same weekday × daypart (``"auto"``); or always by weekday, weekday × daypart,
or hour."""


class LearningConfig(_Boundary):
    """How the reliability view weighs evidence, borrows it, explores and detects change.

    Memory is counted in outcomes, not days: a tool's record keeps every outcome while its
    behaviour stays consistent, and is restarted from the change point when a change is
    detected, so an agent that calls a tool once a day learns as well as one that calls it
    once a minute (``docs/ranking.md``). Wall-clock forgetting (``half_life``) is opt-in.

    Attributes:
        half_life: opt-in wall-clock forgetting: an outcome this old counts half. ``None``
            (the default) keeps evidence until a change is detected or its TTL lapses.
        prior_alpha: pseudo-successes of the base Beta prior every estimate starts from.
        prior_beta: pseudo-failures of the base Beta prior.
        shrinkage_strength: at most this many pseudo-observations are borrowed from the tool's
            record in the agent's other task types; 0 keeps contexts fully separate.
        adaptive_shrinkage: learn how much to borrow: no more than the spread of the tool's
            success rates across its task types allows (beta-binomial method of moments), and
            less as a key's own evidence disagrees with what it borrows (Bayes factor).
        similarity_threshold: task types whose names are less similar than this lend nothing.
        similarity_strength: at most this many pseudo-observations are borrowed from similar
            task types, each weighted by the learnt probability that the two rank tools
            alike (name similarity is only its prior; see ``task_prior_weight``). Kept below
            the base prior's weight (2), so a tool the namesake rated poorly is still tried
            when its first calls here fail by chance.
        task_prior_weight: how much a name similarity counts before any evidence: the prior
            odds that two task types behave alike are ``task_prior_weight × similarity``
            against 1; their outcomes on shared tools then update it (a Bayes factor).
        max_similar: how many of the most similar task types are consulted per decision.
        peer_prior_strength: cold start: a tool's base prior in a task type is centred on the
            pooled success rate of the *other* tools there, with this strength, and gives way
            to the plain ``Beta(prior_alpha, prior_beta)`` as the tool's own evidence there
            grows to as much, and as its loans from elsewhere grow to a full loan; 0 always
            keeps the plain base. Not used for a tool that just broke.
        bucket_strength: with time buckets, at most this many pseudo-observations a bucket
            inherits from its task type's record (its parent) before its own evidence.
        latency_ceiling_ms: a latency at or above this scores 0 for speed.
        cost_reference: the cost at which the cost score is 0.5 (``1 / (1 + cost / ref)``).
        epsilon: exploration probability of the ``epsilon_greedy`` strategy.
        change_window: how many recent outcomes per key the fast change test looks back over.
        change_delta: false-alarm level of the fast change test: a recent run must have a
            binomial tail probability below this under the older evidence.
        change_long_window: opt-in: the fast test also looks at runs of up to this many
            recent outcomes, each held to ``change_long_delta``: ten failures in a row are
            too few to flag a tool at 42 % (``0.58^10 > change_delta``), which then waited
            for the slow scan (~27 failures). 0 (or at most ``change_window``) disables it.
        change_long_delta: the false-alarm level of the runs longer than ``change_window``
            (stricter than ``change_delta``: more run lengths are tested).
        change_long_after_change: with ``change_long_window``, test the longer runs only in
            task types where a change has been detected: a weak leader of a task type that
            never changed raises no false alarm from them.
        change_scan_delta: false-alarm level of the slow change test, a generalized likelihood
            ratio scan over split points at every scale of the key's record (Besson et al.);
            it finds moderate and gradual changes the fast test cannot.
        change_min_evidence: the detector only fires when the older evidence is worth at least
            this many effective observations.
        retry_broken: after a downward change, re-try the tool on a schedule (exploring
            strategies only) and restore its old record when it is back.
        retry_on_leader_break: when a task type's best tool breaks, make the re-try of every
            tool there that broke earlier due at once (the world its verdict was made in
            has changed; docs/ranking.md §5).
        retry_on_leader_dip: opt-in: when the task type's leader fails and its newest
            outcomes fit a lower rate than its record by this many nats (GLR statistic), a
            backed-off re-try of every tool there whose archived rate beats the lower one is
            made due at once (``dip``): a leader's 15–25 point fall is no confirmed change,
            yet it is what keeps a tool that is back from being re-tried. 0 disables it.
        retry_after_calls: the first re-try is due after this many calls of the task type;
            each failed re-try doubles the wait ...
        retry_max_calls: ... up to this many calls.
        retry_after: opt-in: also wait this long (wall clock) before the first re-try, the
            wait doubling with the call wait. ``None`` counts calls only.
        retry_patience: a failed re-try backs off only once the restore test has given up
            on the run that a successful re-try began: a tool back at a middling rate fails
            many re-tries, and backing off after each kept it away for hundreds of calls
            (``docs/ranking.md`` §5, *patient re-tries*).
        restore_ratio: the old record is restored when the outcomes since the change are this
            many times likelier under the old success rate than under the broken one (CUSUM).
        auto_bucket_changes: with ``time_buckets="auto"``, a key switches to weekday × daypart
            buckets after this many downward changes in the same bucket on different days.
        infra_window: opt-in: failures further apart than this never form one outage.
            ``None`` (the default) lets a run of failures span any time (a run ends at the
            first success of any tool).
        infra_min_tools: how many distinct tools must fail together to declare an outage.
        infra_share: ... and they must be more than this share of the tools used within the
            window (only with ``infra_window``).
        infra_delta: ... and the run of failures must be improbable by chance: the product of
            each failure's probability under its tool's own record must fall below this. It
            bounds the chance that any one outcome completes a false alarm, so a stationary
            agent sees at most ``infra_delta`` false alarms per outcome.
        max_infra_events: how many infrastructure events are kept per agent and environment.
        share_environments: pool environments (staging and production learn together).
        time_buckets: add a time bucket from the outcome's timestamp to the context key;
            ``"auto"`` only for keys whose breaks recur in the same weekday × daypart.
        time_zone: IANA zone the time buckets are read in (a Friday afternoon is local).
        latency_reservoir: how many recent latencies and costs each key keeps: speed and
            cost are scored from them.
        propensity_samples: Monte Carlo draws used to estimate how likely Thompson sampling was
            to pick each tool (logged for offline evaluation); 0 disables the estimate.
        optimistic_unknowns: exploring strategies (``thompson``, ``ucb``) score a tool never
            called in this environment at the best possible speed and cost (1.0), so a new
            tool can outrank a good incumbent and get tried; ``greedy`` and
            ``epsilon_greedy`` keep the neutral 0.5.
        thompson_draws: ``"shared"`` (default): Thompson sampling draws one level per
            decision and reads every tool's posterior at that quantile, leaning optimistic
            (the level is the larger of two uniforms); ``"independent"``: one draw per tool,
            textbook Thompson sampling. See ``strategies``.
        hold_strength: when the task type's best tool breaks, the other tools' records are
            held as a prior worth at most this many observations (shrunk further as their new
            outcomes disagree) until the evidence shows they still apply (``hold``); 0
            disables holds. 3 had the least regret of 0, 1, 2, 3, 5 and 10 over the abrupt,
            drift and periodic families on development seeds (``docs/ranking.md`` §5).
        stale_discount: opt-in: a tool's record in a task type is multiplied by this for
            every call there that went to another tool since its own last call, so the
            record of a tool passed over fades (counted in calls, not time) and it is tried
            again; the tool in use keeps its whole record (``staleness``). 1 disables it.
        stale_after_change: with ``stale_discount``, count only the calls made since the
            first change detected in the task type: one that never changed forgets nothing.
        stale_confirm_delta: with ``stale_after_change``, only a change confirmed by the
            two-sample GLR test at this level opens the gate (``strength``): a chance streak
            or an outage's first failures do not. ``None``: any detected change does.
        stale_steady_calls: with ``stale_after_change``, the gate closes again after this
            many calls of the task type without another change that opens it.
        drift_window: opt-in: a task-type record whose last this many outcomes disagree
            with the rest of it (GLR statistic above ``drift_threshold`` nats) is multiplied by
            ``drift_discount`` at every charge until they agree (``drift``). 0 disables it.
        drift_threshold: see ``drift_window``.
        drift_discount: see ``drift_window``.
        stale_retroactive: with ``stale_after_change``, when the gate opens a passed-over
            record fades by every call since its tool's last one, not only those after the
            opening (its evidence predates the change).
        stale_confirm_tools: with ``stale_confirm_delta``, the gate opens only once changes
            are confirmed in this many tools of the task type: a drift moves every tool, a
            break one (which faded tools that had not changed).
        stale_close_on_undo: with ``stale_confirm_delta``, the gate closes again when fewer
            than ``stale_confirm_tools`` confirmed changes stand, the others restored or
            reverted as an outage.
        probe_after_calls: opt-in: once a change point has been found in a task type, a
            tool there passed over for this many calls is probed (put first once), the wait
            doubling after each failed probe and a success asking for another at once
            (``probe``): a regime swap that makes a long-ignored tool the best is found
            without waiting for the leader to break. 0 disables probes.
        restart_on_leader_change: opt-in: when the task type's leader breaks, or a tool that
            broke is restored and leads again, the other tools' records there are set aside
            for good (``restart``), not held until their new outcomes agree: the whole task
            type is re-learnt, as in GLR-klUCB's global restart. A leader's break that is
            undone (restored, or blamed on an outage) gives them back. Measured worse on
            development seeds (``periodic`` +18 ± 7 regret; ``docs/ranking.md`` §5).
        restart_on: with ``restart_on_leader_change``, which leader changes restart the task
            type: ``"break_and_return"`` (the leader breaks, or a broken tool is restored and
            leads again) or ``"break"`` only (a swap back restarts nothing). Break only
            still costs ``periodic`` +12 ± 6 regret on development seeds
            (``docs/ranking.md`` §5).
        restart_weight: with ``restart_on_leader_change``, at most this many observations a
            restarted record still lends (0: none).
        restart_min_calls: with ``restart_on_leader_change``, calls of the task type between
            two of its restarts (a fresh leader's chance streak, or a false alarm restored
            within a few calls, does not restart it again).
        hold_restore: a held record is merged back when "one rate before and after" is this
            many times likelier than "a rate each" (Bayes factor).
        regime_memory: keep the record a held tool had before its task type's leader broke
            as its *former* record when it breaks in turn, and go back to it when the new
            outcomes fit it (by ``hold_restore``) better than the archive (``regime``): a
            regime that comes back finds its records again.
    """

    half_life: timedelta | None = None
    prior_alpha: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    prior_beta: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    shrinkage_strength: float = Field(default=5.0, ge=0.0, allow_inf_nan=False)
    adaptive_shrinkage: bool = True
    similarity_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    similarity_strength: float = Field(default=1.0, ge=0.0, allow_inf_nan=False)
    task_prior_weight: float = Field(default=1.0, ge=0.0, allow_inf_nan=False)
    max_similar: int = Field(default=10, ge=0)
    peer_prior_strength: float = Field(default=8.0, ge=0.0, allow_inf_nan=False)
    bucket_strength: float = Field(default=200.0, ge=0.0, allow_inf_nan=False)
    latency_ceiling_ms: float = Field(default=60_000.0, gt=0.0, allow_inf_nan=False)
    cost_reference: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    epsilon: float = Field(default=0.1, ge=0.0, le=1.0)
    change_window: int = Field(default=10, ge=2, le=256)
    change_delta: float = Field(default=0.0003, gt=0.0, lt=1.0)
    change_long_window: int = Field(default=0, ge=0, le=256)
    change_long_delta: float = Field(default=3e-5, gt=0.0, lt=1.0)
    change_long_after_change: bool = False
    change_scan_delta: float = Field(default=0.01, gt=0.0, lt=1.0)
    change_min_evidence: float = Field(default=5.0, ge=0.0, allow_inf_nan=False)
    retry_broken: bool = True
    hold_strength: float = Field(default=3.0, ge=0.0, allow_inf_nan=False)
    hold_restore: float = Field(default=10.0, gt=1.0, allow_inf_nan=False)
    regime_memory: bool = False
    retry_on_leader_break: bool = True
    retry_on_leader_dip: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    retry_after_calls: int = Field(default=8, ge=1)
    retry_max_calls: int = Field(default=64, ge=1)
    retry_after: timedelta | None = None
    retry_patience: bool = True
    restore_ratio: float = Field(default=100.0, gt=1.0, allow_inf_nan=False)
    infra_window: timedelta | None = None
    infra_min_tools: int = Field(default=3, ge=2)
    infra_share: float = Field(default=0.5, ge=0.0, lt=1.0)
    infra_delta: float = Field(default=1e-5, gt=0.0, le=1.0)
    max_infra_events: int = Field(default=100, ge=1)
    share_environments: bool = False
    time_buckets: TimeBuckets = "auto"
    auto_bucket_changes: int = Field(default=2, ge=1)
    time_zone: str = "UTC"
    latency_reservoir: int = Field(default=256, ge=1, le=100_000)
    propensity_samples: int = Field(default=256, ge=0, le=100_000)
    optimistic_unknowns: bool = True
    thompson_draws: Literal["shared", "independent"] = "shared"
    stale_discount: float = Field(default=1.0, gt=0.0, le=1.0)
    stale_after_change: bool = False
    stale_confirm_delta: float | None = Field(default=None, gt=0.0, lt=1.0)
    stale_steady_calls: int | None = Field(default=None, ge=1)
    stale_retroactive: bool = False
    stale_confirm_tools: int = Field(default=1, ge=1)
    stale_close_on_undo: bool = False
    drift_window: int = Field(default=0, ge=0, le=10_000)
    drift_threshold: float = Field(default=6.0, gt=0.0, allow_inf_nan=False)
    drift_discount: float = Field(default=0.95, gt=0.0, le=1.0)
    probe_after_calls: int = Field(default=0, ge=0)
    restart_on_leader_change: bool = False
    restart_on: Literal["break", "break_and_return"] = "break_and_return"
    restart_weight: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    restart_min_calls: int = Field(default=50, ge=0)

    @field_validator("half_life", "infra_window", "retry_after")
    @classmethod
    def _positive_span(cls, value: timedelta | None) -> timedelta | None:
        if value is None:
            return None
        seconds = value.total_seconds()
        if not (math.isfinite(seconds) and seconds > 0):
            msg = "must be a positive duration"
            raise ValueError(msg)
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = "must be an IANA time zone name such as 'Europe/Paris'"
            raise ValueError(msg) from exc
        return value

    @model_validator(mode="after")
    def _retry_schedule(self) -> LearningConfig:
        if self.retry_max_calls < self.retry_after_calls:
            reason = f"must not be smaller than retry_after_calls ({self.retry_after_calls})"
            raise InvalidArgumentError("retry_max_calls", self.retry_max_calls, reason)
        return self

    @property
    def decay_rate(self) -> float:
        """Decay constant per second (``exp(-rate * age)``); 0 without a ``half_life``."""
        if self.half_life is None:
            return 0.0
        return math.log(2.0) / self.half_life.total_seconds()

    @property
    def zone(self) -> ZoneInfo:
        """The :class:`~zoneinfo.ZoneInfo` time buckets are computed in."""
        return ZoneInfo(self.time_zone)
