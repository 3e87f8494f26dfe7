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

    Attributes:
        half_life: age at which an outcome counts half; stale evidence fades toward the prior,
            so a tool that broke long ago is tried again.
        prior_alpha: pseudo-successes of the base Beta prior every estimate starts from.
        prior_beta: pseudo-failures of the base Beta prior.
        shrinkage_strength: at most this many pseudo-observations are borrowed from the tool's
            record in the agent's other task types; 0 keeps contexts fully separate.
        adaptive_shrinkage: learn how much to borrow: no more than the spread of the tool's
            success rates across its task types allows (beta-binomial method of moments), and
            less as a key's own evidence disagrees with what it borrows (Bayes factor).
        similarity_threshold: similar task types below this similarity lend nothing.
        similarity_strength: at most this many pseudo-observations are borrowed from similar
            task types (weighted by similarity).
        max_similar: how many of the most similar task types are consulted per decision.
        peer_prior_strength: cold start: a tool's base prior in a task type is centred on the
            pooled success rate of the *other* tools there, with this strength, and gives way
            to the plain ``Beta(prior_alpha, prior_beta)`` as the tool's own evidence there
            grows to as much, and as its loans from elsewhere grow to a full loan; 0 always
            keeps the plain base. Not used for a tool that just broke.
        bucket_strength: with time buckets, at most this many pseudo-observations a bucket
            inherits from its task type's record (its parent) before its own evidence.
        latency_ceiling_ms: a p50 latency at or above this scores 0 for speed.
        cost_reference: the cost at which the cost score is 0.5 (``1 / (1 + cost / ref)``).
        epsilon: exploration probability of the ``epsilon_greedy`` strategy.
        change_window: how many recent outcomes per key the change detector looks back over.
        change_delta: false-alarm level of the change detector: the recent run must have a
            binomial tail probability below this under the older evidence.
        change_min_evidence: the detector only fires when the older evidence is worth at least
            this many effective observations.
        retry_broken: after a downward change, re-try the tool on a schedule (exploring
            strategies only) and restore its old record when it is back.
        retry_after: the first re-try is due this long after the change ...
        retry_after_calls: ... and after this many calls of the task type; each failed
            re-try doubles both waits ...
        retry_max_interval: ... up to this (and the call wait up to as many times
            ``retry_after_calls`` as this is times ``retry_after``).
        restore_ratio: the old record is restored when the outcomes since the change are this
            many times likelier under the old success rate than under the broken one (CUSUM).
        auto_bucket_changes: with ``time_buckets="auto"``, a key switches to weekday × daypart
            buckets after this many downward changes in the same bucket on different days.
        infra_window: failures of several tools within this window may be one outage.
        infra_min_tools: how many distinct tools must fail together to declare an outage.
        infra_share: ... and they must be more than this share of the tools used recently.
        infra_delta: ... and the run of failures (no success in between) must be improbable
            by chance: ``q ** failures`` below this, ``q`` the agent's usual failure rate in
            that environment.
        max_infra_events: how many infrastructure events are kept per agent and environment.
        share_environments: pool environments (staging and production learn together).
        time_buckets: add a time bucket from the outcome's timestamp to the context key;
            ``"auto"`` only for keys whose breaks recur in the same weekday × daypart.
        time_zone: IANA zone the time buckets are read in (a Friday afternoon is local).
        latency_reservoir: how many recent latencies and costs each key keeps for percentiles.
        propensity_samples: Monte Carlo draws used to estimate how likely Thompson sampling was
            to pick each tool (logged for offline evaluation); 0 disables the estimate.
        optimistic_unknowns: exploring strategies (``thompson``, ``ucb``) score a tool never
            called in this environment at the best possible speed and cost (1.0), so a new
            tool can outrank a good incumbent and get tried; ``greedy`` and
            ``epsilon_greedy`` keep the neutral 0.5.
    """

    half_life: timedelta = timedelta(days=14)
    prior_alpha: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    prior_beta: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    shrinkage_strength: float = Field(default=5.0, ge=0.0, allow_inf_nan=False)
    adaptive_shrinkage: bool = True
    similarity_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    similarity_strength: float = Field(default=5.0, ge=0.0, allow_inf_nan=False)
    max_similar: int = Field(default=10, ge=0)
    peer_prior_strength: float = Field(default=8.0, ge=0.0, allow_inf_nan=False)
    bucket_strength: float = Field(default=200.0, ge=0.0, allow_inf_nan=False)
    latency_ceiling_ms: float = Field(default=60_000.0, gt=0.0, allow_inf_nan=False)
    cost_reference: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    epsilon: float = Field(default=0.1, ge=0.0, le=1.0)
    change_window: int = Field(default=10, ge=2, le=256)
    change_delta: float = Field(default=0.0003, gt=0.0, lt=1.0)
    change_min_evidence: float = Field(default=5.0, ge=0.0, allow_inf_nan=False)
    retry_broken: bool = True
    retry_after: timedelta = timedelta(minutes=15)
    retry_after_calls: int = Field(default=3, ge=1)
    retry_max_interval: timedelta = timedelta(hours=2)
    restore_ratio: float = Field(default=100.0, gt=1.0, allow_inf_nan=False)
    infra_window: timedelta = timedelta(minutes=30)
    infra_min_tools: int = Field(default=3, ge=2)
    infra_share: float = Field(default=0.5, ge=0.0, lt=1.0)
    infra_delta: float = Field(default=0.01, gt=0.0, le=1.0)
    max_infra_events: int = Field(default=100, ge=1)
    share_environments: bool = False
    time_buckets: TimeBuckets = "auto"
    auto_bucket_changes: int = Field(default=2, ge=1)
    time_zone: str = "UTC"
    latency_reservoir: int = Field(default=256, ge=1, le=100_000)
    propensity_samples: int = Field(default=256, ge=0, le=100_000)
    optimistic_unknowns: bool = True

    @field_validator("half_life", "infra_window", "retry_after", "retry_max_interval")
    @classmethod
    def _positive_span(cls, value: timedelta) -> timedelta:
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
        if self.retry_max_interval < self.retry_after:
            reason = f"must not be shorter than retry_after ({self.retry_after})"
            raise InvalidArgumentError("retry_max_interval", self.retry_max_interval, reason)
        return self

    @property
    def decay_rate(self) -> float:
        """Decay constant per second: evidence is multiplied by ``exp(-rate * age)``."""
        return math.log(2.0) / self.half_life.total_seconds()

    @property
    def zone(self) -> ZoneInfo:
        """The :class:`~zoneinfo.ZoneInfo` time buckets are computed in."""
        return ZoneInfo(self.time_zone)
