"""The brief's options as typed keywords, and what a task resolver is given.

Apart from :mod:`toolwise.advice.models` because ``Toolwise``'s own signatures need these at
import time, while building ``AdviceOptions`` (a pydantic model) is needed only when a brief
is asked for: a cold start need not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from toolwise.learning.models import Objective, Strategy

__all__ = [
    "SERVER_RECALL_BUDGET",
    "AdviceFields",
    "BriefOptions",
    "Mode",
    "TaskQuery",
    "TaskResolver",
]

SERVER_RECALL_BUDGET = 0.05
"""Seconds a brief of ``toolwise serve`` waits for the store's recall answer by default
(``recall_budget``; a Python agent's brief waits for it): measured in docs/http.md."""

Mode = Literal["advise", "filter", "route"]
"""``advise`` injects the brief only; ``filter`` also hides tools that are clearly unreliable;
``route`` also forces the strategy's sampled top tool through ``tool_choice`` — never one that
needs approval, nor an untried one unless ``route_untried`` (:mod:`toolwise.advice.modes`)."""


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """What a task resolver is given to name the task type of one model turn.

    Attributes:
        text: the latest human message ("" if none).
        messages: the conversation as the model will see it (without the brief).
        state: the graph state (``{}`` outside graphs).
        metadata: the run's config metadata.
    """

    text: str
    messages: Sequence[Any] = ()
    state: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)


TaskResolver = Callable[[TaskQuery], "str | None"]
"""Names the task type of a turn, or returns ``None``/``""`` to let toolwise infer it."""


class BriefOptions(TypedDict, total=False):
    """The brief's options as typed keyword arguments (``tw.middleware(mode="filter",
    top_k=3)``): the fields of :class:`AdviceOptions` other than the labels. A misspelt option
    fails in the type checker; at run time :class:`AdviceOptions` still names it."""

    task_resolver: Callable[[TaskQuery], Any] | None
    mode: Mode
    tools: Sequence[Any]
    top_k: int
    recall_ttl: float
    recall_budget: float | None
    recall_index: bool
    lessons: int
    demonstrations: int
    budget: int
    strategy: Strategy
    objective: Objective
    seed: int | None
    filter_threshold: float
    similarity_threshold: float
    route_untried: bool
    learn_task_types: bool
    requires_confirmation: Collection[str]
    destructive: str | None


class AdviceFields(BriefOptions, total=False):
    """Every field of :class:`AdviceOptions` as typed keyword arguments (``Advisor(runtime,
    agent_id=..., tools=[...])``, ``tw.advisor(...)``, ``tw.preselect_node(...)``)."""

    agent_id: str
    environment: str
    task_type: str
