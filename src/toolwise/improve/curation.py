"""Curation: keep an agent's lessons few and strong — merge near-duplicates, drop the weakest.

Pure planning (no I/O): :func:`plan_curation` says what to merge and drop; the loop applies
the plan through :class:`~toolwise.improve.lessons.LessonBook`, which audits each change.
A lesson's weight is its support discounted by the age of its last failure (half-life), so an
old rule fades unless the failure keeps happening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from toolwise.improve.lessons import merge_lessons, mergeable
from toolwise.improve.models import Lesson
from toolwise.storage.embeddings import cosine

__all__ = ["CurationPlan", "Merge", "lesson_weight", "plan_curation"]


@dataclass(frozen=True, slots=True)
class Merge:
    """``merged`` (stored under the survivor's id) replaces the survivor and ``absorbed``."""

    merged: Lesson
    absorbed: tuple[Lesson, ...]


@dataclass(frozen=True, slots=True)
class CurationPlan:
    """What curation will change; empty when the lessons are already within bounds."""

    merges: tuple[Merge, ...] = ()
    drops: tuple[Lesson, ...] = ()
    kept: tuple[Lesson, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.merges and not self.drops


def lesson_weight(lesson: Lesson, now: datetime, half_life: timedelta) -> float:
    """Support × 0.5^(age of the last failure / half-life)."""
    age = max((now - lesson.last_seen).total_seconds(), 0.0)
    return float(lesson.support * 0.5 ** (age / half_life.total_seconds()))


def plan_curation(
    lessons: Sequence[tuple[Lesson, Sequence[float]]],
    *,
    max_lessons: int,
    merge_threshold: float,
    half_life: timedelta,
    now: datetime,
) -> CurationPlan:
    """Merge lessons about the same tool at least ``merge_threshold`` similar (into the
    heavier), then keep the ``max_lessons`` heaviest.

    Greedy by weight: each lesson joins the first heavier survivor it is similar to, so the
    result does not depend on storage order. Ties break by id.
    """
    ordered = sorted(
        lessons, key=lambda pair: (-lesson_weight(pair[0], now, half_life), pair[0].id)
    )
    survivors: list[tuple[Lesson, Sequence[float], list[Lesson]]] = []
    for lesson, vector in ordered:
        for index, (survivor, survivor_vector, absorbed) in enumerate(survivors):
            if mergeable(survivor, lesson) and cosine(vector, survivor_vector) >= merge_threshold:
                absorbed.append(lesson)
                survivors[index] = (merge_lessons(survivor, lesson), survivor_vector, absorbed)
                break
        else:
            survivors.append((lesson, vector, []))
    merges = tuple(Merge(merged, tuple(absorbed)) for merged, _, absorbed in survivors if absorbed)
    kept = sorted(
        (merged for merged, _, _ in survivors),
        key=lambda lesson: (-lesson_weight(lesson, now, half_life), lesson.id),
    )
    absorbed_by = {merged.id: absorbed for merged, _, absorbed in survivors}
    # A dropped survivor takes the lessons it absorbed with it (they are still stored).
    drops = tuple(
        lesson for weakest in kept[max_lessons:] for lesson in (weakest, *absorbed_by[weakest.id])
    )
    dropped_ids = {lesson.id for lesson in kept[max_lessons:]}
    return CurationPlan(
        merges=tuple(m for m in merges if m.merged.id not in dropped_ids),
        drops=drops,
        kept=tuple(kept[:max_lessons]),
    )
