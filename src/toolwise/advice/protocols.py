"""What an :class:`~toolwise.advice.Advisor` needs from the rest of toolwise, and nothing more.

:class:`toolwise.Runtime` satisfies :class:`AdviceRuntime` (``tw.runtime``); a test or another
host can pass anything with these members.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.recording.recorder import Recorder
from toolwise.storage.embeddings import EmbeddingFunction
from toolwise.storage.protocol import OutcomeStore
from toolwise.storage.task_clusters import TaskClusterStore
from toolwise.storage.unstored import LocalFailures

__all__ = ["AdviceRuntime", "LessonSource", "Rendered"]


class Rendered(Protocol):
    """Something shown in a brief as one line (a demonstration)."""

    def render(self) -> str:
        """The line."""
        ...


class LessonSource(Protocol):
    """What self-improvement learnt, as lines for a brief (``Improver`` satisfies it)."""

    def lessons_for(
        self,
        task_text: str,
        k: int = ...,
        budget_chars: int = ...,
        *,
        agent_id: str = ...,
        min_similarity: float = ...,
    ) -> list[str]:
        """Lesson sentences most similar to ``task_text``, within ``budget_chars``."""
        ...

    def examples_for(
        self, task_text: str, k: int = ..., *, agent_id: str = ...
    ) -> Sequence[Rendered]:
        """The agent's own best runs most similar to ``task_text``."""
        ...


@runtime_checkable
class AdviceRuntime(Protocol):
    """The parts an :class:`~toolwise.advice.Advisor` reads: the learnt view (ranking), the
    store (recalling similar failures, merged with this process's not yet stored), the
    recorder (refused calls), the embedding (matching task types), the learnt task types, the
    clock, and the lessons of self-improvement."""

    @property
    def clock(self) -> Callable[[], datetime]:
        """ "now", UTC."""
        ...

    @property
    def embedding(self) -> EmbeddingFunction:
        """Vectors for task-type matching."""
        ...

    @property
    def store(self) -> OutcomeStore:
        """Where similar past failures are recalled from."""
        ...

    @property
    def task_clusters(self) -> TaskClusterStore:
        """Where task types learnt from requests are kept (per agent)."""
        ...

    @property
    def recorder(self) -> Recorder:
        """Where refused calls are recorded."""
        ...

    @property
    def learning_config(self) -> LearningConfig:
        """The prior a tool with no evidence starts from."""
        ...

    @property
    def improver(self) -> LessonSource:
        """Lessons and demonstrations for the brief (built on first use)."""
        ...

    def view(self) -> ReliabilityView:
        """The learnt view (ranks tools, knows the task types)."""
        ...

    def warm_up(self) -> None:
        """Start building the view in the background."""
        ...

    def local_failures(self, agent_id: str) -> LocalFailures:
        """Failures this process recorded that the store may not answer for yet (merged into
        recall, so the next brief shows them), and how many it has recorded."""
        ...
