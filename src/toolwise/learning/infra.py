"""Tell an infrastructure outage from a broken tool: several tools failing together.

Per agent and environment the monitor keeps the current *run*: the failures since the last
success of any tool (and, with the opt-in ``infra_window``, within that window), with the
charges they made. An event is declared when the run

1. spans at least ``infra_min_tools`` distinct tools (with a window: more than
   ``infra_share`` of the tools used in it), and
2. is improbable by chance: the product of each failure's probability under its tool's own
   record, ``∏ qᵢ``, is below ``infra_delta``, and
3. stays improbable without its most improbable tool: the other tools' failures alone have
   a chance below ``√infra_delta``. One tool failing a lot is that tool breaking (the
   change detector's job), even if the others it made the agent try failed too: when the
   best of three tools broke, four of its failures and one each of the two also-rans met
   the first test, and the event then absorbed every later failure of the broken tool.

Why this bounds false alarms: for a stationary agent whose records are right, the chance
that the run ending at a given outcome is the first to cross the threshold is at most the
threshold itself (reaching a run whose probability is ``∏ qᵢ`` happens with exactly that
probability), so each outcome completes a false alarm with probability at most
``infra_delta`` (1e-5 by default: one in 100,000 outcomes). The old test raised ``q``, the
agent's pooled failure rate, to the run's length at a level of 0.01 per outcome, and fired
about 11 times per 4,000 decisions among mediocre tools (issue 11). Counting in outcomes,
not minutes, keeps the test the same at one call a minute or one a day.

On declaration the caller reverts the run's charges; later failures are absorbed (never
charged) until a success arrives (or, with a window, a whole window passes without failures),
or one tool has failed ``_LONE_FAILURES`` times in a row inside the event while no other
tool was tried: then the event ends and that tool's failures count again.

Timing follows the outcomes' own timestamps, so a replayed history gives the same events.
Not thread-safe on its own: the view holds its lock.
"""

from __future__ import annotations

import enum
import math
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from toolwise.learning.evidence import Part
from toolwise.learning.models import InfraEvent
from toolwise.models import new_id

__all__ = ["InfraMonitor", "Verdict"]


_LONE_FAILURES = 10  # failures in a row of one tool inside an event that end it


class Verdict(enum.Enum):
    """What to do with an outcome: charge it to the tool, or absorb it into an outage."""

    CHARGE = "charge"
    ABSORB = "absorb"


@dataclass(slots=True)
class _Failure:
    t: float
    tool: str
    parts: list[Part]
    chance: float  # its probability under the tool's record before it


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
    lone_tool: str = ""  # the tool failing alone at the end of the event, and how often
    lone: int = 0

    def snapshot(self, now: float | None, window: float | None) -> InfraEvent:
        fresh = window is None or now is None or now - self.ended_at <= window
        active = not self.closed and fresh
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
    log_chance: float = 0.0  # log of the product of the run's failure probabilities
    # the same, per tool
    tool_chance: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    events: deque[_Event] = field(default_factory=deque)

    @property
    def open_event(self) -> _Event | None:
        return self.events[-1] if self.events and not self.events[-1].closed else None

    def extend_run(self, failure: _Failure) -> None:
        self.run.append(failure)
        self.run_tools[failure.tool] += 1
        log = math.log(max(failure.chance, 1e-300))
        self.log_chance += log
        self.tool_chance[failure.tool] += log

    def trim_run(self, horizon: float) -> None:
        """Drop failures older than the window; O(1) per dropped failure."""
        while self.run and self.run[0].t < horizon:
            failure = self.run.popleft()
            log = math.log(max(failure.chance, 1e-300))
            self.log_chance -= log
            self.tool_chance[failure.tool] -= log
            tool = failure.tool
            self.run_tools[tool] -= 1
            if not self.run_tools[tool]:
                del self.run_tools[tool]

    def end_run(self) -> None:
        self.run.clear()
        self.run_tools.clear()
        self.log_chance = 0.0
        self.tool_chance.clear()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class InfraMonitor:
    """Declares, extends and closes infrastructure events per agent and environment.

    Args:
        window: seconds within which failures of different tools count as one outage;
            ``None``: a run lasts until a success, however long it takes.
        min_tools: distinct failing tools needed to declare an event.
        share: with a window, the failing tools must be more than this share of the tools
            used in it.
        delta: the run of failures must have a chance probability below this.
        max_events: events kept per agent and environment (oldest dropped first).
    """

    def __init__(
        self,
        *,
        window: float | None,
        min_tools: int,
        share: float,
        delta: float,
        max_events: int,
    ) -> None:
        self._window = window
        self._min_tools = min_tools
        self._share = share
        self._log_delta = math.log(delta)
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
        chance: float,
    ) -> tuple[Verdict, list[list[Part]]]:
        """Decide whether an outcome is charged, and which past charges an outage reverts.

        Args:
            agent_id: whose outcome.
            environment: where it ran (outages are per environment).
            tool: which tool.
            t: when, POSIX seconds (the outcome's own timestamp).
            failed: whether it counts as a failure.
            chance: the probability of this failure under the tool's own record (ignored
                for a success).

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
        window = self._window
        if event is not None and window is not None and t - event.ended_at > window:
            event.closed = True  # a whole window passed without failures
            event = None
        if not failed:
            scope.end_run()
            if event is not None and t >= event.started_at:
                event.closed = True
                event.ended_at = max(event.ended_at, t)
            return Verdict.CHARGE, []
        if event is not None:
            event.lone = event.lone + 1 if tool == event.lone_tool else 1
            event.lone_tool = tool
            if event.lone > _LONE_FAILURES:
                event.closed = True  # one tool failing alone, again and again: it broke
                scope.end_run()
                return Verdict.CHARGE, []
            event.failures += 1
            event.ended_at = max(event.ended_at, t)
            if tool not in event.tools:
                event.tools.append(tool)
            return Verdict.ABSORB, []
        return self._maybe_declare(scope, agent_id, environment, tool=tool, t=t, chance=chance)

    def remember(
        self,
        agent_id: str,
        environment: str,
        tool: str,
        t: float,
        parts: list[Part],
        *,
        chance: float,
    ) -> None:
        """Keep a charged failure (and its chance) in the run so a later event can revert it."""
        self._scopes[(agent_id, environment)].extend_run(_Failure(t, tool, parts, chance))

    def alert(self, agent_id: str, environment: str, now: float) -> str | None:
        """A sentence for recommendations while an event is active or ended within a window."""
        scope = self._scopes.get((agent_id, environment))
        if scope is None or not scope.events:
            return None
        event = scope.events[-1]
        # A closed event stays worth mentioning for as long as it lasted (or a window).
        fade = self._window if self._window is not None else event.ended_at - event.started_at
        if (event.closed and now - event.ended_at > fade) or now < event.started_at:
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
                scope.log_chance = sum(math.log(max(f.chance, 1e-300)) for f in scope.run)
                scope.tool_chance.pop(tool, None)
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
        chance: float,
    ) -> tuple[Verdict, list[list[Part]]]:
        window = self._window
        horizon = -math.inf if window is None else t - window
        if window is not None:
            scope.trim_run(horizon)
        run = scope.run
        failing = len(scope.run_tools) + (tool not in scope.run_tools)
        if failing < self._min_tools:
            return Verdict.CHARGE, []
        if window is not None:
            recent = sum(1 for used in scope.last_used.values() if used >= horizon)
            if failing <= self._share * recent:
                return Verdict.CHARGE, []
        log = math.log(max(chance, 1e-300))
        if scope.log_chance + log >= self._log_delta:
            return Verdict.CHARGE, []
        per_tool = scope.tool_chance.copy()
        per_tool[tool] += log
        if scope.log_chance + log - min(per_tool.values()) >= self._log_delta / 2.0:
            return Verdict.CHARGE, []  # one tool's failures carry the run: it broke
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
        if window is not None:
            for name in [name for name, used in scope.last_used.items() if used < horizon]:
                del scope.last_used[name]
        return Verdict.ABSORB, reverted
