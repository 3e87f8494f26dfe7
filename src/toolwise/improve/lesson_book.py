"""An agent's lessons in the knowledge store: add or merge, curate, find by task, drop.

A pass hands :meth:`LessonBook.absorb` all of its new lessons at once: the stored lessons are
read once, merges are decided in memory, and the changed lessons are written in one store
write (each write costs ~50 ms on persistent Chroma). Every change is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from toolwise.improve.audit import AuditLog
from toolwise.improve.lessons import merge_lessons, mergeable
from toolwise.improve.models import Lesson
from toolwise.improve.store import Item, KnowledgeStore
from toolwise.storage.embeddings import EmbeddingFunction, cosine

__all__ = ["LessonBook", "Verdict"]

Verdict = Literal["added", "merged"]


class LessonBook:
    """An agent's lessons: merged when similar enough, found by similarity to a task.

    Args:
        merge_threshold: a new lesson merges into a stored one about the same tool whose
            embedding is at least this similar (and always into its own cluster's).
    """

    def __init__(
        self,
        store: KnowledgeStore,
        embedding: EmbeddingFunction,
        audit: AuditLog,
        *,
        merge_threshold: float,
    ) -> None:
        self._store = store
        self._embedding = embedding
        self._audit = audit
        self._merge_threshold = merge_threshold

    def _put(self, agent_id: str, lessons: Sequence[Lesson]) -> None:
        if not lessons:
            return
        vectors = self._embedding([lesson.document for lesson in lessons])
        self._store.put(
            "lessons",
            agent_id,
            [
                Item(lesson.id, lesson.model_dump_json(), lesson.last_seen.timestamp(), vector)
                for lesson, vector in zip(lessons, vectors, strict=True)
            ],
        )

    def all(self, agent_id: str) -> list[tuple[Lesson, Sequence[float]]]:
        """Every stored lesson with its vector."""
        found = []
        for item in self._store.load("lessons", agent_id):
            lesson = Lesson.model_validate_json(item.payload)
            vector = item.vector or self._embedding([lesson.document])[0]
            found.append((lesson, vector))
        return found

    def absorb(self, agent_id: str, lessons: Sequence[tuple[Lesson, str]]) -> list[Verdict]:
        """Store each ``(lesson, reason)``: merged into its own cluster's lesson, else into the
        most similar one about the same tool (≥ ``merge_threshold``), else added.

        Lessons earlier in ``lessons`` are candidates for later ones. One store read, one
        write; one audit entry per lesson. Returns each lesson's verdict, in order.
        """
        if not lessons:
            return []
        working = {lesson.id: (lesson, vector) for lesson, vector in self.all(agent_id)}
        changed: dict[str, Lesson] = {}
        verdicts: list[Verdict] = []
        vectors = self._embedding([lesson.document for lesson, _ in lessons])
        for (lesson, reason), vector in zip(lessons, vectors, strict=True):
            target = working.get(lesson.id) or self._similar(working.values(), lesson, vector)
            if target is None:
                working[lesson.id] = (lesson, vector)
                changed[lesson.id] = lesson
                verdicts.append("added")
                self._audit.record(
                    agent_id, "lesson.added", subject=lesson.id, after=lesson.text, reason=reason
                )
                continue
            kept, kept_vector = target
            merged = merge_lessons(kept, lesson)
            working[kept.id] = (merged, kept_vector)
            changed[kept.id] = merged
            verdicts.append("merged")
            self._audit.record(
                agent_id,
                "lesson.merged",
                subject=kept.id,
                before=f"{kept.text} [support {kept.support}]",
                after=f"{merged.text} [support {merged.support}]",
                reason=f"{reason}; merged a similar lesson: {lesson.text}",
            )
        self._put(agent_id, list(changed.values()))
        return verdicts

    def _similar(
        self,
        candidates: Iterable[tuple[Lesson, Sequence[float]]],
        lesson: Lesson,
        vector: Sequence[float],
    ) -> tuple[Lesson, Sequence[float]] | None:
        best: tuple[Lesson, Sequence[float]] | None = None
        best_similarity = self._merge_threshold
        for candidate, candidate_vector in candidates:
            if not mergeable(candidate, lesson):
                continue
            similarity = cosine(vector, candidate_vector)
            if similarity >= best_similarity:
                best, best_similarity = (candidate, candidate_vector), similarity
        return best

    def replace(self, merged: Lesson, absorbed: Sequence[Lesson], *, reason: str) -> None:
        """Curation's merge: ``merged`` takes the place of itself and ``absorbed``."""
        self._put(merged.agent_id, [merged])
        self._store.remove("lessons", merged.agent_id, [a.id for a in absorbed])
        self._audit.record(
            merged.agent_id,
            "lesson.merged",
            subject=merged.id,
            before="\n".join(a.text for a in absorbed),
            after=f"{merged.text} [support {merged.support}]",
            reason=reason,
        )

    def drop(self, agent_id: str, lessons: Sequence[Lesson], *, reason: str) -> None:
        """Remove lessons (one store write), one audit entry each."""
        self._store.remove("lessons", agent_id, [lesson.id for lesson in lessons])
        for lesson in lessons:
            self._audit.record(
                agent_id,
                "lesson.dropped",
                subject=lesson.id,
                before=f"{lesson.text} [support {lesson.support}]",
                reason=reason,
            )

    def find(
        self, agent_id: str, task: str, k: int, *, min_similarity: float = 0.0
    ) -> list[tuple[Lesson, float]]:
        """The ``k`` lessons most similar to ``task`` (with their similarity), best first."""
        vector = self._embedding([task])[0]
        return [
            (Lesson.model_validate_json(item.payload), similarity)
            for item, similarity in self._store.nearest("lessons", agent_id, vector, k)
            if similarity >= min_similarity
        ]
