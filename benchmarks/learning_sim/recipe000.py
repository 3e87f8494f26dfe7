"""The memory-server recipe (seed 000), exactly as written, as a policy.

* Every outcome is stored as a memory record with importance 0.88 (success), 0.65 (partial)
  or 0.42 (failure) and a 30-day TTL (``ttl_seconds=2_592_000``).
* Before each decision, ``recall(top_k=10, min_importance=0.3)`` for the task type. The
  recipe recalls semantically; with one query per task type every record matches equally, so
  recall here is the 10 most recent live records of that task type (importance ≥ 0.3).
* Per available tool: success rate and mean latency over its recalled records;
  ``score = 0.7 · success_rate + 0.3 · max(0, 1 - mean_latency / 60 000)``; tools with no
  recalled record are skipped ("let model decide"); the first strictly highest score wins,
  starting from ``available_tools[0]``.
* Cold start ("Edge cases"): with fewer than 3 recalled outcomes, choose uniformly at random.
* ``select_tool_with_exploration``: with probability 0.1, a random tool other than the best.

The one extension: under a non-balanced objective the score uses that objective's weights,
with the same ``1 / (1 + mean_cost)`` cost score the benchmark and toolwise use — the recipe
itself tells readers to "adjust your score calculation" per objective. Under ``balanced`` it
is the recipe's 0.7 / 0.3 to the letter.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from learning_sim.decisions import Decision, Result
from learning_sim.reward import BALANCED, Objective, cost_score, speed_of

__all__ = ["IMPORTANCE", "Memory", "Recipe000", "score_tools"]

IMPORTANCE = {"success": 0.88, "partial": 0.65, "failure": 0.42}
TOP_K = 10
MIN_IMPORTANCE = 0.3
TTL = timedelta(seconds=2_592_000)
EXPLORATION_RATE = 0.1
COLD_START = 3
MISSING_LATENCY_MS = 5_000  # the recipe's default when a record has no latency


@dataclass(frozen=True, slots=True)
class Memory:
    """One stored outcome record, as the recipe writes it."""

    tool: str
    task_type: str
    outcome: str
    latency_ms: float | None
    importance: float
    stored_at: datetime
    expires_at: datetime
    cost: float = 0.0


def score_tools(
    memories: Sequence[Memory], tools: Sequence[str], objective: Objective = BALANCED
) -> dict[str, float]:
    """The recipe's score per available tool with at least one recalled record."""
    stats: dict[str, list[float]] = {tool: [0, 0, 0.0, 0.0] for tool in tools}
    for memory in memories:
        entry = stats.get(memory.tool)
        if entry is None:
            continue
        entry[1] += 1
        if memory.outcome == "success":
            entry[0] += 1
        entry[2] += MISSING_LATENCY_MS if memory.latency_ms is None else memory.latency_ms
        entry[3] += memory.cost
    scores = {}
    for tool, (successes, total, total_latency, total_cost) in stats.items():
        if total == 0:
            continue  # no history: let the model decide
        success_rate = successes / total
        speed = speed_of(total_latency / total)
        score = objective.success * success_rate + objective.speed * speed
        if objective.cost:
            score += objective.cost * cost_score(total_cost / total)
        scores[tool] = score
    return scores


class Recipe000:
    """The recipe's memory, recall, scoring and 10 % exploration.

    Args:
        rng: drives the cold-start and exploration draws.
        objective: weights of the score (the recipe's 0.7 / 0.3 by default).
    """

    def __init__(self, rng: random.Random, objective: Objective = BALANCED) -> None:
        self._rng = rng
        self._objective = objective
        self.memories: list[Memory] = []
        self._by_type: dict[str, list[Memory]] = {}  # an index over ``memories``, for speed

    def record(
        self,
        tool: str,
        task_type: str,
        outcome: str,
        latency_ms: float | None,
        *,
        now: datetime,
        cost: float = 0.0,
    ) -> Memory:
        """``record_tool_outcome``: store one outcome with its importance and TTL."""
        memory = Memory(
            tool=tool,
            task_type=task_type,
            outcome=outcome,
            latency_ms=latency_ms,
            importance=IMPORTANCE.get(outcome, 0.6),
            stored_at=now,
            expires_at=now + TTL,
            cost=cost,
        )
        self.memories.append(memory)
        self._by_type.setdefault(task_type, []).append(memory)
        return memory

    def recall(self, task_type: str, now: datetime) -> list[Memory]:
        """The ``TOP_K`` most recent live records of the task type with enough importance."""
        found = []
        for memory in reversed(self._by_type.get(task_type, ())):
            if memory.expires_at <= now or memory.importance < MIN_IMPORTANCE:
                continue
            found.append(memory)
            if len(found) == TOP_K:
                break
        return found

    def best_tool(self, task_type: str, tools: Sequence[str], now: datetime) -> str:
        """``get_best_tool`` with the cold-start rule in front."""
        memories = self.recall(task_type, now)
        if len(memories) < COLD_START:
            return self._rng.choice(list(tools))
        best_tool, best_score = tools[0], -1.0
        for tool, score in score_tools(memories, tools, self._objective).items():
            if score > best_score:
                best_tool, best_score = tool, score
        return best_tool

    def select(self, task_type: str, tools: Sequence[str], now: datetime) -> str:
        """``select_tool_with_exploration``: 10 % of the time, any tool but the best."""
        if self._rng.random() < EXPLORATION_RATE:
            best = self.best_tool(task_type, tools, now)
            others = [tool for tool in tools if tool != best]
            return self._rng.choice(others) if others else best
        return self.best_tool(task_type, tools, now)

    # the Policy protocol

    def choose(self, decision: Decision) -> str:
        return self.select(decision.context, decision.tools, decision.time)

    def learn(self, decision: Decision, tool: str, result: Result) -> None:
        outcome = "success" if result.success else "failure"
        self.record(
            tool, decision.context, outcome, result.latency_ms, now=decision.time, cost=result.cost
        )
