"""Prompt refinement on demand and by plan: which runs, which model, which evaluator.

:class:`~toolwise.improve.prompts.PromptGate` decides whether a revision is kept;
:class:`PromptRefiner` gathers what it needs — the agent's recent runs (or the caller's), the
model, the validation tasks — and holds the plans under which a pass refines on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from toolwise.errors import InvalidArgumentError
from toolwise.improve.models import RefinementResult, Run
from toolwise.improve.prompts import PromptBook, PromptGate
from toolwise.improve.protocols import ChatModel, Clock, Evaluator
from toolwise.improve.runs import group_runs
from toolwise.models import ToolOutcome

__all__ = ["PromptRefiner", "RefinementPlan"]

MAX_RUNS_FOR_PROMPT = 50


@dataclass(frozen=True)
class RefinementPlan:
    """What a pass needs to refine an agent's prompt on its own.

    Args:
        prompt: the prompt in force when no revision was accepted yet.
        validation_tasks: held-out tasks passed to ``evaluate`` (at least one).
        evaluate: ``evaluate(prompt, task) -> float`` in [0, 1]; raising counts as 0.
        model: the chat model proposing revisions (default: the improver's).
    """

    prompt: str
    validation_tasks: Sequence[Any]
    evaluate: Evaluator
    model: ChatModel | None = None

    def __post_init__(self) -> None:
        if not self.validation_tasks:
            raise InvalidArgumentError(
                "validation_tasks", self.validation_tasks, "the gate needs at least one task"
            )
        if not callable(self.evaluate):
            raise InvalidArgumentError("evaluate", self.evaluate, "must be callable")


class PromptRefiner:
    """Runs the gate with the right inputs; the caller serialises refinements.

    Args:
        gate: decides and records revisions.
        book: the prompt history (what is in force).
        chat_model: the default model (``None``: every call must name one).
        recent_runs: ``recent_runs(agent_id)``: the agent's latest runs, oldest first.
        run_gap: groups raw records given to :meth:`refine` into runs.
        clock: "now" in UTC.
    """

    def __init__(
        self,
        gate: PromptGate,
        book: PromptBook,
        *,
        chat_model: ChatModel | None,
        recent_runs: Callable[[str], list[Run]],
        run_gap: timedelta,
        clock: Clock,
    ) -> None:
        self._gate = gate
        self._book = book
        self._chat_model = chat_model
        self._recent_runs = recent_runs
        self._run_gap = run_gap
        self._clock = clock
        self._plans: dict[str, RefinementPlan] = {}
        self._lock = threading.Lock()

    def configure(self, agent_id: str, plan: RefinementPlan) -> None:
        """Refine ``agent_id``'s prompt in every pass with new records, by ``plan``."""
        if (plan.model or self._chat_model) is None:
            raise InvalidArgumentError("model", None, "prompt refinement needs a chat model")
        with self._lock:
            self._plans[agent_id] = plan

    def refine(
        self,
        agent_id: str,
        current: str,
        *,
        runs: Sequence[Run] | Sequence[ToolOutcome] | None,
        validation_tasks: Sequence[Any],
        model: ChatModel | None,
        evaluate: Evaluator | None,
    ) -> RefinementResult:
        """One refinement; see :meth:`toolwise.improve.Improver.refine_prompt`."""
        chosen = model or self._chat_model
        if chosen is None:
            raise InvalidArgumentError("model", None, "prompt refinement needs a chat model")
        if evaluate is None or not callable(evaluate):
            raise InvalidArgumentError("evaluate", evaluate, "give evaluate(prompt, task)")
        if runs is None:
            run_list = self._recent_runs(agent_id)[-MAX_RUNS_FOR_PROMPT:]
        elif all(isinstance(r, ToolOutcome) for r in runs):
            records = [r for r in runs if isinstance(r, ToolOutcome)]
            run_list = group_runs(records, gap=self._run_gap)
        else:
            run_list = [r for r in runs if isinstance(r, Run)]
        return self._gate.refine(
            agent_id,
            current,
            runs=run_list,
            validation_tasks=tuple(validation_tasks),
            model=chosen,
            evaluate=evaluate,
            now=self._clock(),
        )

    def refine_if_planned(self, agent_id: str) -> RefinementResult | None:
        """Refine by the agent's plan; ``None`` when it has none."""
        with self._lock:
            plan = self._plans.get(agent_id)
        if plan is None:
            return None
        active = self._book.active(agent_id)
        return self.refine(
            agent_id,
            active.text if active is not None else plan.prompt,
            runs=None,
            validation_tasks=plan.validation_tasks,
            model=plan.model,
            evaluate=plan.evaluate,
        )
