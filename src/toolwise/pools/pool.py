"""``Pool``: one name in front of interchangeable members, tried in the learnt order.

Framework-neutral: members are plain callables (the LangChain tool in
:mod:`toolwise.integrations.langchain.pool` builds them from ``BaseTool`` providers). A pool
takes a :class:`~toolwise.pools.protocols.PoolRuntime` (a ``Runtime`` satisfies it): the
recorder every attempt is recorded through, and the learnt view it ranks members with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from toolwise.errors import InvalidArgumentError
from toolwise.pools.call import Member, PoolCall
from toolwise.pools.drivers import ControlFlow, arun, run
from toolwise.pools.options import PoolOptions
from toolwise.pools.plan import Plan, Planner
from toolwise.pools.protocols import PoolRuntime
from toolwise.recording.context import CallContext, RecordingDefaults

__all__ = ["Pool", "PoolStats"]

log = logging.getLogger("toolwise.pools")


def _interpreter_exits(error: BaseException) -> bool:
    """Without a framework: only what is not an ``Exception`` steers the caller."""
    return not isinstance(error, Exception)


@dataclass(frozen=True, slots=True)
class PoolStats:
    """What a pool did since it was built (counts of calls and attempts)."""

    calls: int = 0
    succeeded: int = 0
    exhausted: int = 0
    attempts: int = 0
    fallbacks: int = 0  # calls answered by a member other than the first in their plan
    hedges: int = 0  # attempts started by a hedge
    hedge_wins: int = 0  # calls answered by a hedged attempt
    given_up: int = 0  # losers that started before the winner: recorded as TimeoutError
    cancelled: int = 0  # losers that started after the winner: not recorded
    long_shots: int = 0  # calls that started with a member evidence says is worse
    demoted: int = 0  # long shots over the exploration budget, reordered by mean
    unranked: int = 0  # calls planned without the learnt view (store down)


class Pool:
    """Interchangeable members behind one name: rank, call, fall through, hedge, record.

    Args:
        name: the pool's name (the tool name a model sees); tagged ``pool:<name>`` on records.
        members: at least one; names must be distinct (each member's records carry its name).
        runtime: the recorder and learnt view (``tw.runtime``).
        defaults: labels, judge and costs of the records (``tw.defaults(...)``).
        options: budgets, hedging and exploration, see :class:`PoolOptions`.
        control_flow: exceptions to re-raise untouched and never record (interrupts).
        timer: monotonic seconds for hedges and the deadline (inject one in simulations).

    Raises:
        InvalidArgumentError: naming ``members`` (none, or a duplicate name) or ``name``.

    Thread- and task-safe: calls share only the planner's exploration budget and the counts.
    """

    def __init__(
        self,
        name: str,
        members: Sequence[Member],
        *,
        runtime: PoolRuntime,
        defaults: RecordingDefaults,
        options: PoolOptions | None = None,
        control_flow: ControlFlow = _interpreter_exits,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError("name", name, "must be a non-empty string")
        if not members:
            raise InvalidArgumentError("members", members, "a pool needs at least one member")
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise InvalidArgumentError("members", names, "member names must be distinct")
        if name in names:
            raise InvalidArgumentError("name", name, "must differ from every member's name")
        self.name = name
        self.options = options or PoolOptions()
        self._members = {m.name: m for m in members}
        self._runtime = runtime
        self._defaults = defaults
        self._planner = Planner(names, runtime, self.options)
        self._control_flow = control_flow
        self._timer = timer
        self._lock = threading.Lock()
        self._stats: dict[str, int] = dict.fromkeys(PoolStats.__slots__, 0)

    @property
    def members(self) -> tuple[str, ...]:
        """The members' names, in declared order (the order when nothing is learnt)."""
        return tuple(self._members)

    @property
    def defaults(self) -> RecordingDefaults:
        return self._defaults

    @property
    def stats(self) -> PoolStats:
        counts = self._planner.counts
        with self._lock:
            stats = dict(self._stats)
        stats.update(long_shots=counts.long_shots, demoted=counts.demoted, unranked=counts.unranked)
        return PoolStats(**stats)

    def plan(self, context: CallContext | None = None) -> Plan:
        """The order and hedge delays a call in ``context`` would get now (never raises)."""
        return self._planner.plan(context or self._context())

    def call(
        self,
        args: Mapping[str, Any],
        context: CallContext | None = None,
        *,
        tool_call_id: str = "",
        record: bool = True,
    ) -> Any:
        """Call the best member with ``args``; fall through (and hedge) until one succeeds.

        Returns the first successful member's result, untouched.

        Raises:
            PoolExhaustedError: every attempt failed, or the deadline or attempt budget ran
                out; ``.attempts`` lists each failure.
        """
        pool_call = self._start(args, context, tool_call_id, record)
        try:
            result = run(pool_call, self._control_flow, concurrent=self._concurrent)
        except BaseException:
            self._count(pool_call, won=False)
            raise
        self._count(pool_call, won=True)
        return result

    async def acall(
        self,
        args: Mapping[str, Any],
        context: CallContext | None = None,
        *,
        tool_call_id: str = "",
        record: bool = True,
    ) -> Any:
        """Async twin of :meth:`call`: hedged losers are cancelled rather than left running."""
        pool_call = self._start(args, context, tool_call_id, record)
        try:
            result = await arun(pool_call, self._control_flow, concurrent=self._concurrent)
        except BaseException:
            self._count(pool_call, won=False)
            raise
        self._count(pool_call, won=True)
        return result

    # -- shared --------------------------------------------------------------------------------

    @property
    def _concurrent(self) -> bool:
        return self.options.hedge or self.options.deadline is not None

    def _context(self) -> CallContext:
        d = self._defaults
        return CallContext(d.agent_id, d.task_type, d.environment, tags=d.tags)

    def _start(
        self, args: Mapping[str, Any], context: CallContext | None, tool_call_id: str, record: bool
    ) -> PoolCall:
        context = context or self._context()
        options = self.options
        return PoolCall(
            self.name,
            self._planner.plan(context),
            self._members,
            args,
            recorder=self._runtime.recorder if record else None,
            defaults=self._defaults,
            context=context,
            tool_call_id=tool_call_id,
            max_attempts=options.max_attempts or len(self._members),
            deadline=options.deadline,
            timer=self._timer,
        )

    def _count(self, call: PoolCall, *, won: bool) -> None:
        winner = call.winner
        with self._lock:
            stats = self._stats
            stats["calls"] += 1
            stats["succeeded" if won else "exhausted"] += 1
            stats["attempts"] += call.attempts
            stats["hedges"] += call.hedges
            stats["cancelled"] += call.cancelled
            stats["given_up"] += call.given_up
            if winner is not None and winner.member.name != call.plan.order[0]:
                stats["fallbacks"] += 1
            if winner is not None and winner.hedged:
                stats["hedge_wins"] += 1
