"""What a pool needs from the runtime: a recorder and the learnt view — nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from toolwise.learning.config import LearningConfig
from toolwise.learning.models import Objective, Recommendation, Strategy, ToolPrior
from toolwise.recording.recorder import Recorder

__all__ = ["PoolRuntime", "Ranking"]


class Ranking(Protocol):
    """The reads a pool makes of the learnt view (``ReliabilityView`` satisfies it): rankings,
    priors, and the configuration whose latency ceiling scales a member's speed."""

    @property
    def config(self) -> LearningConfig: ...

    def recommend(
        self,
        *,
        task_type: str,
        tools: Sequence[str],
        agent_id: str = ...,
        environment: str = ...,
        objective: Objective = ...,
        strategy: Strategy = ...,
    ) -> list[Recommendation]: ...

    def priors(
        self,
        *,
        agent_id: str | None = ...,
        tool: str | None = ...,
        context_class: str | None = ...,
        environment: str | None = ...,
    ) -> list[ToolPrior]: ...


class PoolRuntime(Protocol):
    """A :class:`~toolwise.Runtime`, as far as a pool is concerned.

    ``recorder`` is the one record path of tool calls; ``view()`` is the learnt ranking (it
    may raise when the store is down and the view was never built: the pool then keeps its
    members' declared order).
    """

    @property
    def recorder(self) -> Recorder: ...

    def view(self) -> Ranking: ...
