"""The learning layer's knobs, validated once when the config is built (STYLE rule 9).

Every default is explained in ``docs/ranking.md``. A bad value raises
:class:`~toolwise.errors.InvalidArgumentError` naming the field, never a bare pydantic error.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from toolwise.models import _Boundary

__all__ = ["LearningConfig", "TimeBuckets"]

TimeBuckets = Literal["none", "weekday", "weekday_daypart", "hour"]
"""How outcome timestamps split a context: not at all, by weekday, weekday × daypart, or hour."""


class LearningConfig(_Boundary):
    """How the reliability view weighs evidence, borrows it, explores and detects change.

    Attributes:
        half_life: age at which an outcome counts half; stale evidence fades toward the prior,
            so a tool that broke long ago is tried again.
        prior_alpha: pseudo-successes of the base Beta prior every estimate starts from.
        prior_beta: pseudo-failures of the base Beta prior.
        shrinkage_strength: at most this many pseudo-observations are borrowed from the tool's
            record in the agent's other task types (and, with time buckets, from the same task
            type's other buckets); 0 keeps contexts fully separate.
        similarity_threshold: similar task types below this similarity lend nothing.
        similarity_strength: at most this many pseudo-observations are borrowed from similar
            task types (weighted by similarity).
        max_similar: how many of the most similar task types are consulted per decision.
        latency_ceiling_ms: a p50 latency at or above this scores 0 for speed.
        cost_reference: the cost at which the cost score is 0.5 (``1 / (1 + cost / ref)``).
        epsilon: exploration probability of the ``epsilon_greedy`` strategy.
        change_window: how many recent outcomes per key the change detector looks back over.
        change_delta: false-alarm level of the change detector: the recent run must have a
            binomial tail probability below this under the older evidence.
        change_min_evidence: the detector only fires when the older evidence is worth at least
            this many effective observations.
        infra_window: failures of several tools within this window may be one outage.
        infra_min_tools: how many distinct tools must fail together to declare an outage.
        infra_share: ... and they must be more than this share of the tools used recently.
        infra_delta: ... and the run of failures (no success in between) must be improbable
            by chance: ``q ** failures`` below this, ``q`` the agent's usual failure rate in
            that environment.
        max_infra_events: how many infrastructure events are kept per agent and environment.
        share_environments: pool environments (staging and production learn together).
        time_buckets: add a time bucket from the outcome's timestamp to the context key.
        time_zone: IANA zone the time buckets are read in (a Friday afternoon is local).
        latency_reservoir: how many recent latencies and costs each key keeps for percentiles.
        propensity_samples: Monte Carlo draws used to estimate how likely Thompson sampling was
            to pick each tool (logged for offline evaluation); 0 disables the estimate.
    """

    half_life: timedelta = timedelta(days=14)
    prior_alpha: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    prior_beta: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    shrinkage_strength: float = Field(default=5.0, ge=0.0, allow_inf_nan=False)
    similarity_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    similarity_strength: float = Field(default=5.0, ge=0.0, allow_inf_nan=False)
    max_similar: int = Field(default=10, ge=0)
    latency_ceiling_ms: float = Field(default=60_000.0, gt=0.0, allow_inf_nan=False)
    cost_reference: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    epsilon: float = Field(default=0.1, ge=0.0, le=1.0)
    change_window: int = Field(default=10, ge=2, le=256)
    change_delta: float = Field(default=0.0003, gt=0.0, lt=1.0)
    change_min_evidence: float = Field(default=5.0, ge=0.0, allow_inf_nan=False)
    infra_window: timedelta = timedelta(minutes=30)
    infra_min_tools: int = Field(default=3, ge=2)
    infra_share: float = Field(default=0.5, ge=0.0, lt=1.0)
    infra_delta: float = Field(default=0.01, gt=0.0, le=1.0)
    max_infra_events: int = Field(default=100, ge=1)
    share_environments: bool = False
    time_buckets: TimeBuckets = "none"
    time_zone: str = "UTC"
    latency_reservoir: int = Field(default=256, ge=1, le=100_000)
    propensity_samples: int = Field(default=256, ge=0, le=100_000)

    @field_validator("half_life", "infra_window")
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

    @property
    def decay_rate(self) -> float:
        """Decay constant per second: evidence is multiplied by ``exp(-rate * age)``."""
        return math.log(2.0) / self.half_life.total_seconds()

    @property
    def zone(self) -> ZoneInfo:
        """The :class:`~zoneinfo.ZoneInfo` time buckets are computed in."""
        return ZoneInfo(self.time_zone)
