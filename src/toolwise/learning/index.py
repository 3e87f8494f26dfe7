"""Where every piece of the view's evidence lives, and the indexes that find it.

Evidence is kept per (agent, tool, task type, environment) — a *context* —, per (agent, tool,
environment) for the tool's overall record, and, with time buckets, per (agent, tool, task
type, environment, bucket); seeded priors per scope. Beside them, indexes answer "which tools
did this agent use for this task type here", "which task types does it know" and "which task
types did this tool serve" without a scan.

Not thread-safe: the view's lock is held around every call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, Final

from toolwise.learning.changes import ContextKey
from toolwise.learning.config import LearningConfig
from toolwise.learning.evidence import Evidence
from toolwise.learning.shrinkage import Mass

__all__ = ["ZERO", "BucketKey", "EvidenceIndex", "OverallKey", "SeedKey", "forgotten"]

OverallKey = tuple[str, str, str]
"""(agent, tool, environment)."""
BucketKey = tuple[str, str, str, str, str]
"""(agent, tool, task type, environment, bucket label)."""
SeedKey = tuple[str, str, str | None, str | None]
"""(agent, tool, task type or any, environment or any)."""
ZERO: Final[Mass] = (0.0, 0.0)


def forgotten(agent_id: str, tool: str | None) -> Callable[[tuple[str | None, ...]], bool]:
    """Whether a key (agent first, tool second) is one ``forget(agent_id, tool)`` drops."""

    def doomed(key: tuple[str | None, ...]) -> bool:
        return key[0] == agent_id and (tool is None or key[1] == tool)

    return doomed


class EvidenceIndex:
    """Every piece of evidence and every seed of one view, and the indexes over them.

    Args:
        config: the learning configuration (change window, latency reservoir, decay).
    """

    def __init__(self, config: LearningConfig) -> None:
        self._config = config
        self._rate = config.decay_rate
        self.contexts: dict[ContextKey, Evidence] = {}
        self.overall: dict[OverallKey, Evidence] = {}
        self.buckets: dict[BucketKey, Evidence] = {}
        self.seeds: dict[SeedKey, Mass] = {}
        self.task_types: dict[str, Counter[str]] = {}
        self.scope_tools: dict[tuple[str, str, str], set[str]] = {}
        self.tool_contexts: dict[OverallKey, list[Evidence]] = {}

    # ------------------------------------------------------------------ creating

    def context(self, key: ContextKey) -> Evidence:
        """A task type's record, created (and indexed) the first time the key is seen."""
        evidence = self.contexts.get(key)
        if evidence is None:
            agent_id, tool, context, env = key
            evidence = self.contexts[key] = self.new_evidence(with_samples=True)
            self.task_types.setdefault(agent_id, Counter())[context] += 1
            self.scope_tools.setdefault((agent_id, context, env), set()).add(tool)
            self.tool_contexts.setdefault((agent_id, tool, env), []).append(evidence)
        return evidence

    def tool_overall(self, key: OverallKey) -> Evidence:
        """A tool's overall record in an environment, created the first time."""
        overall = self.overall.get(key)
        if overall is None:
            overall = self.overall[key] = self.new_evidence(with_samples=True, scan=False)
        return overall

    def new_evidence(self, *, with_samples: bool, scan: bool = True) -> Evidence:
        """An empty record with this configuration's windows."""
        # Time-bucketed keys keep no latency samples: they borrow their context's. The slow
        # scan watches task types and buckets (what is ranked), and only without decay.
        reservoir = self._config.latency_reservoir if with_samples else 0
        window = max(self._config.change_window, self._config.change_long_window)
        return Evidence(window, reservoir, scan=scan and not self._rate)

    def forget(self, agent_id: str, tool: str | None) -> None:
        """Drop the evidence and seeds of an agent, or of one of its tools, and what the
        indexes say about them."""
        doomed = forgotten(agent_id, tool)
        self.contexts = {k: v for k, v in self.contexts.items() if not doomed(k)}
        self.overall = {k: v for k, v in self.overall.items() if not doomed(k)}
        self.buckets = {k: v for k, v in self.buckets.items() if not doomed(k)}
        self.seeds = {k: v for k, v in self.seeds.items() if not doomed(k)}
        self.tool_contexts = {k: v for k, v in self.tool_contexts.items() if not doomed(k)}
        types = Counter(key[2] for key in self.contexts if key[0] == agent_id)
        if types:
            self.task_types[agent_id] = types
        else:
            self.task_types.pop(agent_id, None)
        for scope in [scope for scope in self.scope_tools if scope[0] == agent_id]:
            tools = self.scope_tools[scope]
            tools.difference_update(tools if tool is None else {tool})
            if not tools:
                del self.scope_tools[scope]

    # ------------------------------------------------------------------ finding

    def keys(self, *, bucketed: bool) -> Iterator[tuple[ContextKey, str]]:
        """Every ``(context key, bucket)`` pair with evidence; bucket ``""`` when un-bucketed."""
        if bucketed:
            yield from (((k[0], k[1], k[2], k[3]), k[4]) for k in self.buckets)
        else:
            yield from ((key, "") for key in self.contexts)

    def tools_in(self, agent_id: str, context: str, env: str) -> frozenset[str]:
        """The tools with evidence in a task type and environment."""
        return frozenset(self.scope_tools.get((agent_id, context, env), ()))

    def task_types_of(self, agent_id: str) -> list[str]:
        """The task types the agent has evidence for (``""`` included), unsorted."""
        return list(self.task_types.get(agent_id, ()))

    def environments_of(self, agent_id: str) -> list[str]:
        """The environment key parts the agent has evidence in, sorted."""
        return sorted({env for agent, _, env in self.overall if agent == agent_id})

    def scope_calls(self, agent_id: str, context: str, env: str) -> int:
        """Calls charged in a task type so far, all tools (only asked for keys that broke)."""
        contexts = self.contexts
        return sum(
            contexts[(agent_id, tool, context, env)].charges
            for tool in self.scope_tools.get((agent_id, context, env), ())
        )

    def scope_mass(self, agent_id: str, context: str, env: str, now: float) -> Mass:
        """Summed live evidence of every tool the agent used for a task type in an environment."""
        rate = self._rate
        successes = failures = 0.0
        for tool in self.scope_tools.get((agent_id, context, env), ()):
            evidence = self.contexts.get((agent_id, tool, context, env))
            if evidence is not None:
                s, f = evidence.mass(now, rate)
                successes += s
                failures += f
        return successes, failures

    def seed_for(self, key: ContextKey) -> Mass:
        """The most specific seed of the key's scope (``(0, 0)`` if none)."""
        if not self.seeds:
            return ZERO
        agent_id, tool, context, env = key
        for scope in ((context, env), (context, None), (None, env), (None, None)):
            found = self.seeds.get((agent_id, tool, *scope))
            if found is not None:
                return found
        return ZERO

    def sizes(self) -> dict[str, Any]:
        """How many records of each kind are held."""
        return {
            "agents": len({key[0] for key in self.overall}),
            "contexts": len(self.contexts),
            "overall": len(self.overall),
            "bucketed": len(self.buckets),
            "seeds": len(self.seeds),
        }
