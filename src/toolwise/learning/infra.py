"""Tell an infrastructure outage from a broken tool: several tools failing together.

Per agent and environment the monitor keeps the current *run*: the failures since the last
success of any tool, within ``infra_window``, with the charges they made. An event is declared
when the run

1. spans at least ``infra_min_tools`` distinct tools,
2. which are more than ``infra_share`` of the tools used in the window, and
3. is improbable by chance: ``q ** len(run) < infra_delta``, ``q`` being the agent's usual
   failure rate in that environment.

"No success in between" and the chance test keep a set of mediocre tools, which often fail
close together by chance, from being excused as an outage. On declaration the caller reverts
the run's charges; later failures are absorbed (never charged) until a success arrives or a
whole window passes without failures.

Timing follows the outcomes' own timestamps, so a replayed history gives the same events.
Not thread-safe on its own: the view holds its lock.
"""

from __future__ import annotations

import enum
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from toolwise.learning.evidence import Part
from toolwise.learning.models import InfraEvent
from toolwise.models import new_id

__all__ = ["InfraMonitor", "Verdict"]


class Verdict(enum.Enum):
    """What to do with an outcome: charge it to the tool, or absorb it into an outage."""

    CHARGE = "charge"
    ABSORB = "absorb"


@dataclass(slots=True)
class _Failure:
    t: float
    tool: str
    parts: list[Part]


@dataclass(slots=True)
class _Event:
    id: str
    agent_id: str
    environment: str
    started_at: float
    ended_at: float
    tools: list[str]
    failures: int
    closed: bool = False

    def snapshot(self, now: float | None, window: float) -> InfraEvent:
        active = not self.closed and (now is None or now - self.ended_at <= window)
        return InfraEvent(
            id=self.id,
            agent_id=self.agent_id,
            environment=self.environment,
            started_at=_dt(self.started_at),
            ended_at=_dt(self.ended_at),
            tools=tuple(self.tools),
            failures=self.failures,
            active=active,
        )


@dataclass(slots=True)
class _Scope:
    last_used: dict[str, float] = field(default_factory=dict)
    run: deque[_Failure] = field(default_factory=deque)
    run_tools: Counter[str] = field(default_factory=Counter)  # failures per tool in the run
    events: deque[_Event] = field(default_factory=deque)

    @property
    def open_event(self) -> _Event | None:
        return self.events[-1] if self.events and not self.events[-1].closed else None

    def extend_run(self, failure: _Failure) -> None:
        self.run.append(failure)
        self.run_tools[failure.tool] += 1

    def trim_run(self, horizon: float) -> None:
        """Drop failures older than the window; O(1) per dropped failure."""
        while self.run and self.run[0].t < horizon:
            tool = self.run.popleft().tool
            self.run_tools[tool] -= 1
            if not self.run_tools[tool]:
                del self.run_tools[tool]

    def end_run(self) -> None:
        self.run.clear()
        self.run_tools.clear()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class InfraMonitor:
    """Declares, extends and closes infrastructure events per agent and environment.

    Args:
        window: seconds within which failures of different tools count as one outage.
        min_tools: distinct failing tools needed to declare an event.
        share: the failing tools must be more than this share of the tools used recently.
        delta: the run of failures must have a chance probability below this.
        max_events: events kept per agent and environment (oldest dropped first).
    """

    def __init__(
        self, *, window: float, min_tools: int, share: float, delta: float, max_events: int
    ) -> None:
        self._window = window
        self._min_tools = min_tools
        self._share = share
        self._delta = delta
        self._max_events = max_events
        self._scopes: dict[tuple[str, str], _Scope] = {}

    def judge(
        self,
        agent_id: str,
        environment: str,
        tool: str,
        t: float,
        *,
        failed: bool,
        failure_rate: Callable[[], float],
    ) -> tuple[Verdict, list[list[Part]]]:
        """Decide whether an outcome is charged, and which past charges an outage reverts.

        Args:
            agent_id: whose outcome.
            environment: where it ran (outages are per environment).
            tool: which tool.
            t: when, POSIX seconds (the outcome's own timestamp).
            failed: whether it counts as a failure.
            failure_rate: the agent's usual failure rate there; called only when the cheap
                conditions for an event already hold.

        Returns:
            The verdict for this outcome and, when it completes a new event, the charges of
            the earlier failures inside it (the caller reverts them).
        """
        scope = self._scopes.get((agent_id, environment))
        if scope is None:
            scope = self._scopes[(agent_id, environment)] = _Scope()
        if t > scope.last_used.get(tool, -1.0):
            scope.last_used[tool] = t
        event = scope.open_event
        if event is not None and t - event.ended_at > self._window:
            event.closed = True  # a whole window passed without failures
            event = None
        if not failed:
            scope.end_run()
            if event is not None and t >= event.started_at:
                event.closed = True
                event.ended_at = max(event.ended_at, t)
            return Verdict.CHARGE, []
        if event is not None:
            event.failures += 1
            event.ended_at = max(event.ended_at, t)
            if tool not in event.tools:
                event.tools.append(tool)
            return Verdict.ABSORB, []
        return self._maybe_declare(scope, agent_id, environment, tool=tool, t=t, rate=failure_rate)

    def remember(
        self, agent_id: str, environment: str, tool: str, t: float, parts: list[Part]
    ) -> None:
        """Keep a charged failure in the run so a later event can revert it."""
        self._scopes[(agent_id, environment)].extend_run(_Failure(t, tool, parts))

    def alert(self, agent_id: str, environment: str, now: float) -> str | None:
        """A sentence for recommendations while an event is active or ended within a window."""
        scope = self._scopes.get((agent_id, environment))
        if scope is None or not scope.events:
            return None
        event = scope.events[-1]
        if now - event.ended_at > self._window or now < event.started_at:
            return None
        tools = ", ".join(event.tools)
        since = _dt(event.started_at).strftime("%Y-%m-%d %H:%M UTC")
        where = f" in {environment}" if environment else ""
        state = "recently ended" if event.closed else "ongoing"
        return (
            f"possible infrastructure outage{where} ({state}) since {since}: "
            f"{event.failures} failures across {tools}; not charged to the tools"
        )

    def events(self, agent_id: str | None, now: float | None) -> list[InfraEvent]:
        """Snapshots of the kept events, oldest first (all agents when ``agent_id`` is None)."""
        found = [
            event.snapshot(now, self._window)
            for (agent, _), scope in self._scopes.items()
            if agent_id is None or agent == agent_id
            for event in scope.events
        ]
        return sorted(found, key=lambda event: event.started_at)

    def forget(self, agent_id: str, tool: str | None) -> None:
        """Drop what is kept about an agent (or one of its tools)."""
        for key in [key for key in self._scopes if key[0] == agent_id]:
            if tool is None:
                del self._scopes[key]
            else:
                scope = self._scopes[key]
                scope.run = deque(f for f in scope.run if f.tool != tool)
                scope.run_tools.pop(tool, None)
                scope.last_used.pop(tool, None)

    def __len__(self) -> int:
        """Number of kept events, for ``stats()``."""
        return sum(len(scope.events) for scope in self._scopes.values())

    def _maybe_declare(
        self,
        scope: _Scope,
        agent_id: str,
        environment: str,
        *,
        tool: str,
        t: float,
        rate: Callable[[], float],
    ) -> tuple[Verdict, list[list[Part]]]:
        horizon = t - self._window
        scope.trim_run(horizon)
        run = scope.run
        failing = len(scope.run_tools) + (tool not in scope.run_tools)
        if failing < self._min_tools:
            return Verdict.CHARGE, []
        recent = sum(1 for used in scope.last_used.values() if used >= horizon)
        if failing <= self._share * recent:
            return Verdict.CHARGE, []
        if rate() ** (len(run) + 1) >= self._delta:
            return Verdict.CHARGE, []
        tools = list(dict.fromkeys([*(failure.tool for failure in run), tool]))
        scope.events.append(
            _Event(
                id=new_id(),
                agent_id=agent_id,
                environment=environment,
                started_at=run[0].t if run else t,
                ended_at=t,
                tools=tools,
                failures=len(run) + 1,
            )
        )
        while len(scope.events) > self._max_events:
            scope.events.popleft()
        reverted = [failure.parts for failure in run]
        scope.end_run()
        for name in [name for name, used in scope.last_used.items() if used < horizon]:
            del scope.last_used[name]
        return Verdict.ABSORB, reverted
