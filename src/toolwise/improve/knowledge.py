"""``KnowledgeReader``: what self-improvement learnt, read for a brief — apart from the loop
that writes it, so reading lessons and demonstrations needs no pass lock and no trigger.

These reads are what :class:`~toolwise.advice.LessonSource` asks of ``runtime.improver``
(``lessons_for``, ``examples_for``) and what a caller inspects (``all_lessons``,
``demonstrations``). :class:`~toolwise.improve.Improver` is a ``KnowledgeReader`` with the
improvement loop added.
"""

from __future__ import annotations

from toolwise.errors import InvalidArgumentError
from toolwise.improve.demonstrations import DemonstrationLibrary
from toolwise.improve.lesson_book import LessonBook
from toolwise.improve.models import Demonstration, Lesson

__all__ = ["KnowledgeReader"]


class KnowledgeReader:
    """Lessons and demonstrations of an agent, by similarity to a task or all of them.

    Args:
        lessons: the lesson book (lessons with their vectors).
        demonstrations: the demonstration library.

    Thread-safe: every read goes to the knowledge store.
    """

    def __init__(self, lessons: LessonBook, demonstrations: DemonstrationLibrary) -> None:
        self._lessons = lessons
        self._demos = demonstrations

    def lessons(
        self, task: str, k: int = 5, *, agent_id: str = "default", min_similarity: float = 0.0
    ) -> list[Lesson]:
        """The ``k`` lessons most similar to ``task``, best first."""
        _check_k(k)
        return [
            lesson
            for lesson, _ in self._lessons.find(agent_id, task, k, min_similarity=min_similarity)
        ]

    def lessons_for(
        self,
        task_text: str,
        k: int = 5,
        budget_chars: int = 600,
        *,
        agent_id: str = "default",
        min_similarity: float = 0.0,
    ) -> list[str]:
        """Lesson sentences for a brief: most similar first, total length ≤ ``budget_chars``.

        A lesson that does not fit is skipped (a shorter, less similar one may still fit).
        """
        if budget_chars < 0:
            raise InvalidArgumentError("budget_chars", budget_chars, "must be >= 0")
        chosen: list[str] = []
        used = 0
        for lesson in self.lessons(task_text, k, agent_id=agent_id, min_similarity=min_similarity):
            if used + len(lesson.text) <= budget_chars:
                chosen.append(lesson.text)
                used += len(lesson.text)
        return chosen

    def examples(self, task: str, k: int = 3, *, agent_id: str = "default") -> list[Demonstration]:
        """The ``k`` demonstrations whose task is most similar to ``task``, best first."""
        _check_k(k)
        return self._demos.find(agent_id, task, k)

    def examples_for(
        self, task_text: str, k: int = 3, *, agent_id: str = "default"
    ) -> list[Demonstration]:
        """Same as :meth:`examples`; the name the brief calls (render with ``.render()``)."""
        return self.examples(task_text, k, agent_id=agent_id)

    def all_lessons(self, agent_id: str = "default") -> list[Lesson]:
        """Every lesson of the agent, strongest support first."""
        return sorted(
            (lesson for lesson, _ in self._lessons.all(agent_id)),
            key=lambda lesson: (-lesson.support, lesson.id),
        )

    def demonstrations(self, agent_id: str = "default") -> list[Demonstration]:
        """Every demonstration of the agent, best score first."""
        return sorted(self._demos.all(agent_id), key=lambda d: (-d.score, d.id))


def _check_k(k: int) -> None:
    if not 1 <= k <= 100:
        raise InvalidArgumentError("k", k, "must be between 1 and 100")
