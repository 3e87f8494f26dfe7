"""Recent briefs by decision id, so a call that names one is labelled like a Python agent's.

In a Python agent the decision travels in graph state to the recorder; an HTTP client only
sends the ``decision_id`` back with its calls. The service remembers each decision it made
(bounded, newest kept) and fills in the recommended tool — and the task type and environment
when the call has none — so ``summary().advice`` measures adherence for any language.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from toolwise.advice.models import Brief
from toolwise.service.schemas import CallIn

__all__ = ["DecisionLog"]


@dataclass(frozen=True, slots=True)
class _Decision:
    agent_id: str
    recommended_tool: str
    task_type: str
    environment: str


class DecisionLog:
    """The last ``capacity`` decisions (≈ 200 bytes each). Thread-safe."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._decisions: OrderedDict[str, _Decision] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, brief: Brief) -> None:
        decision = _Decision(
            brief.agent_id, brief.recommended_tool or "", brief.task_type, brief.environment
        )
        with self._lock:
            self._decisions[brief.decision_id] = decision
            while len(self._decisions) > self._capacity:
                self._decisions.popitem(last=False)

    def complete(self, agent_id: str, call: CallIn) -> CallIn:
        """``call`` with the labels of the decision it names (its own values win)."""
        if not call.decision_id:
            return call
        with self._lock:
            decision = self._decisions.get(call.decision_id)
        if decision is None or decision.agent_id != agent_id:
            return call
        update = {
            name: value
            for name, value in (
                ("recommended_tool", decision.recommended_tool),
                ("task_type", decision.task_type),
                ("environment", decision.environment),
            )
            if value and not getattr(call, name)
        }
        return call.model_copy(update=update) if update else call
