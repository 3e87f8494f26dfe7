"""The contract between the runner and a policy: a decision in, a tool out, a result back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["Decision", "Policy", "Result"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What a policy knows when it chooses: when, for which task type, among which tools."""

    index: int
    time: datetime
    context: str
    tools: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Result:
    """How the chosen call went."""

    success: bool
    latency_ms: float
    cost: float


class Policy(Protocol):
    """Chooses a tool, then learns from what happened. One instance per run."""

    def choose(self, decision: Decision) -> str:
        """The tool to call; must be one of ``decision.tools``."""
        ...

    def learn(self, decision: Decision, tool: str, result: Result) -> None:
        """Feedback for the call just made."""
        ...
