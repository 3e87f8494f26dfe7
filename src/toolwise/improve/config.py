"""The knobs of self-improvement, validated once when built (a bad value names its field)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator

from toolwise.models import BoundaryModel as _Boundary

__all__ = ["ImproveConfig", "PromotionPolicy"]


class PromotionPolicy(_Boundary):
    """When a composite tool moves ``sandbox`` → ``restricted`` → ``full``, or is retired.

    Only uses recorded *since the composite reached its current level* count, so each step is
    earned at that level. Partial results count as uses that did not succeed; ``refused`` calls
    (a human declined) do not count at all.

    Attributes:
        min_uses: uses needed at the current level before any decision.
        restricted_rate: success rate (over ≥ ``min_uses``) that promotes sandbox → restricted.
        full_rate: success rate (over ≥ ``min_uses``) that promotes restricted → full.
        retire_below: a success rate under this (over ≥ ``min_uses``) retires the composite.
    """

    min_uses: int = Field(default=10, ge=1)
    restricted_rate: float = Field(default=0.95, gt=0.0, le=1.0)
    full_rate: float = Field(default=0.99, gt=0.0, le=1.0)
    retire_below: float = Field(default=0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> PromotionPolicy:
        if self.retire_below >= self.restricted_rate:
            msg = "retire_below must be below restricted_rate"
            raise ValueError(msg)
        return self


class ImproveConfig(_Boundary):
    """How much the improvement loop learns per pass, and the bounds on what it may change.

    Attributes:
        max_lessons: rules kept per agent after curation (merge, then drop the weakest).
        merge_threshold: lessons whose embeddings are at least this similar are one lesson.
        lesson_half_life: curation weighs a lesson's support by recency with this half-life.
        max_records: new records a pass reads per agent at most (the newest): bounded work.
            Passes read only records after the last pass's watermark; a backlog beyond this
            is passed over (logged).
        arrival_margin: a record stored up to this long after its timestamp (another
            process's writer, a spool replay after a short outage) is still read by the next
            pass; each pass re-reads this much before its watermark (ids already read skip).
        max_new_lessons: failure clusters turned into lessons per pass (bounds model calls).
        min_demo_score: runs scoring at least this become demonstrations.
        max_demonstrations: demonstrations kept per agent (the lowest-scored, oldest go first).
        min_occurrences: a tool sequence must recur in this many successful runs to be proposed.
        min_sequence_length / max_sequence_length: lengths of sequences considered.
        max_composites: composites proposed per pass and agent.
        max_replays: recorded inputs replayed to validate a composite.
        validation_timeout: seconds one sandboxed replay (or sandboxed use) may take.
        max_changed_lines: a prompt revision may change at most this many lines.
        drift_threshold: a revision whose embedding similarity to the *original* prompt falls
            below this is rejected.
        improve_after_failures: run the loop automatically after this many new failures of an
            agent (``None``: only on demand).
        run_gap: calls of one session further apart than this belong to different runs.
    """

    max_lessons: int = Field(default=20, ge=1, le=1_000)
    merge_threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    lesson_half_life: timedelta = timedelta(days=14)
    max_records: int = Field(default=100_000, ge=1, le=1_000_000)
    arrival_margin: timedelta = timedelta(minutes=15)
    max_new_lessons: int = Field(default=20, ge=0)
    min_demo_score: float = Field(default=0.8, ge=0.0, le=1.0)
    max_demonstrations: int = Field(default=200, ge=1)
    min_occurrences: int = Field(default=3, ge=2)
    min_sequence_length: int = Field(default=2, ge=2)
    max_sequence_length: int = Field(default=4, ge=2, le=8)
    max_composites: int = Field(default=3, ge=0)
    max_replays: int = Field(default=3, ge=1)
    validation_timeout: float = Field(default=10.0, gt=0.0, allow_inf_nan=False)
    max_changed_lines: int = Field(default=5, ge=1)
    drift_threshold: float = Field(default=0.85, ge=0.0, le=1.0)
    improve_after_failures: int | None = Field(default=None, ge=1)
    run_gap: timedelta = timedelta(minutes=30)

    @model_validator(mode="after")
    def _consistent(self) -> ImproveConfig:
        if self.min_sequence_length > self.max_sequence_length:
            msg = "min_sequence_length must not exceed max_sequence_length"
            raise ValueError(msg)
        if self.lesson_half_life <= timedelta(0) or self.run_gap <= timedelta(0):
            msg = "lesson_half_life and run_gap must be positive"
            raise ValueError(msg)
        if self.arrival_margin < timedelta(0):
            msg = "arrival_margin must not be negative"
            raise ValueError(msg)
        return self
