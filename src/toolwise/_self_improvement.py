"""``tw.lessons()``, ``tw.improve()``, ``tw.audit()`` …: the self-improvement conveniences of
:class:`~toolwise.Toolwise`, apart from recording and ranking so each half reads on its own.

Mixed into :class:`~toolwise.Toolwise`. Each method checks its arguments (naming the bad one)
and calls the runtime's :class:`~toolwise.improve.Improver` (``tw.runtime.improver``), which a
caller can also use directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from toolwise._checks import check_int, check_moment, check_text, check_tool_names
from toolwise._deprecations import warn_renamed
from toolwise.errors import InvalidArgumentError
from toolwise.models import check_agent_id

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from toolwise._runtime import Runtime
    from toolwise.improve import (
        AuditEntry,
        CompositeSpec,
        Demonstration,
        ImprovementReport,
        Improver,
        Lesson,
        RefinementResult,
        Run,
    )
    from toolwise.improve.protocols import ChatModel, Evaluator

__all__ = ["SelfImprovement"]


def _check_query(task: object, k: object, agent_id: str) -> None:
    check_text("task", task)
    check_int("k", k, minimum=1)
    check_agent_id(agent_id)


class SelfImprovement:
    """Lessons, demonstrations, composite tools, prompt refinement and the audit trail, over
    :attr:`runtime`'s improver."""

    @property
    def runtime(self) -> Runtime:
        """The wired parts; the improver is ``runtime.improver``."""
        raise NotImplementedError

    @property
    def improver(self) -> Improver:
        """Lessons, demonstrations, composite tools, prompt refinement and the audit trail."""
        return self.runtime.improver

    def lessons(self, task: str, k: int = 5, *, agent_id: str = "default") -> list[Lesson]:
        """Failure lessons most relevant to ``task`` (learnt by :meth:`improve`)."""
        _check_query(task, k, agent_id)
        return self.improver.lessons(task, k, agent_id=agent_id)

    def demonstrations(
        self, task: str, k: int = 3, *, agent_id: str = "default"
    ) -> list[Demonstration]:
        """The agent's own best runs most similar to ``task`` (argument shapes, no values)."""
        _check_query(task, k, agent_id)
        return self.improver.examples(task, k, agent_id=agent_id)

    def examples(self, task: str, k: int = 3, *, agent_id: str = "default") -> list[Demonstration]:
        """Deprecated name of :meth:`demonstrations`."""
        warn_renamed("examples", "demonstrations")
        return self.demonstrations(task, k, agent_id=agent_id)

    def composites(
        self, agent_id: str = "default", *, include_retired: bool = False
    ) -> list[CompositeSpec]:
        """Composite tools proposed from recurring tool sequences, with permission levels."""
        return self.improver.composites(agent_id, include_retired=include_retired)

    def composite_tools(
        self, tools: Sequence[BaseTool] = (), *, agent_id: str = "default"
    ) -> list[BaseTool]:
        """Runnable composite tools over ``tools`` (sandboxed until promoted)."""
        check_tool_names(tools)
        if any(isinstance(t, str) for t in tools):
            raise InvalidArgumentError("tools", tools, "must be LangChain tools, not names")
        check_agent_id(agent_id)
        self.improver.register_tools(tools)
        return self.improver.composite_tools(agent_id)

    def refine_prompt(
        self,
        current: str,
        runs: Sequence[Run] | None = None,
        validation_tasks: Sequence[Any] = (),
        model: ChatModel | None = None,
        evaluate: Evaluator | None = None,
        *,
        agent_id: str = "default",
    ) -> RefinementResult:
        """Propose a prompt revision; keep it only if it validates at least as well."""
        return self.improver.refine_prompt(
            current, runs, validation_tasks, model, evaluate, agent_id=agent_id
        )

    def rollback_prompt(self, agent_id: str = "default", *, to_original: bool = False) -> str:
        """Return to the previous (or the original) prompt; audited."""
        return self.improver.rollback(agent_id, to_original=to_original)

    def improve(self, agent_id: str | None = None) -> list[ImprovementReport]:
        """One bounded pass: lessons → curation → composites → prompt refinement."""
        return self.improver.improve(agent_id)

    def audit(
        self, agent_id: str | None = None, limit: int = 50, since: datetime | None = None
    ) -> list[AuditEntry]:
        """Every change self-improvement made, with before, after, reason and time."""
        if agent_id is not None:
            check_agent_id(agent_id)
        check_int("limit", limit, minimum=1)
        since = None if since is None else check_moment("since", since)
        return self.improver.audit(agent_id, limit, since)
