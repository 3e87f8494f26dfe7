"""Evidence that fades while a tool is passed over: forgetting counted in decisions, not days.

In a slow drift the tool that becomes the best is usually one the learner stopped choosing:
its record was made when it was worse, it gets too few calls for a change test to confirm a
rise, and its old evidence keeps it ranked low (``docs/ranking.md`` §5). With
``stale_discount`` γ < 1, a tool's record in a task type is multiplied by γ for every call
of that task type that went to *another* tool since the tool's own last call. The tool being
chosen keeps its record whole (its evidence is fresh: nothing is forgotten while it is in
use), and a passed-over tool's posterior widens around the same mean until Thompson sampling
tries it again — the discounted Thompson sampling of Raj & Kalyani (2017), restricted to the
arms it helps.

Counting in calls, not time, keeps the learner the same at every traffic rate. The clock is
not part of snapshots: after a restart every record counts as fresh.

Not thread-safe: the view's lock is held around every call.
"""

from __future__ import annotations

from toolwise.learning.evidence import Evidence

__all__ = ["StaleClock"]

Scope = tuple[str, str, str]
"""(agent, task type, environment)."""
Key = tuple[str, str, str, str]
"""(agent, tool, task type, environment)."""


class StaleClock:
    """Counts each task type's calls and when each tool there was last called.

    Args:
        discount: γ, the factor a record is multiplied by per call of another tool; 1
            disables the clock (every method is then a no-op returning 1).
        after_change: count only calls made since the first change detected in the task
            type (:meth:`changed`): a task type that never changed forgets nothing.
    """

    def __init__(self, discount: float, *, after_change: bool = False) -> None:
        self.discount = discount
        self._after_change = after_change
        self._calls: dict[Scope, int] = {}
        self._last: dict[Key, int] = {}
        self._since: dict[Scope, int] = {}  # the scope's call count at its first change

    def passed_over(self, key: Key) -> int:
        """Calls of the key's task type made to other tools since the key's tool was last called."""
        last = self._last.get(key)
        if last is None:
            return 0
        scope = (key[0], key[2], key[3])
        if self._after_change:
            since = self._since.get(scope)
            if since is None:
                return 0
            last = max(last, since)
        return self._calls.get(scope, 0) - last

    def changed(self, key: Key) -> None:
        """A change was detected in the key's task type: from now on, passed-over calls count."""
        scope = (key[0], key[2], key[3])
        if self.discount < 1.0 and scope not in self._since:
            self._since[scope] = self._calls.get(scope, 0)

    def factor(self, key: Key) -> float:
        """What the key's record is worth now: γ to the number of calls it was passed over."""
        if self.discount >= 1.0:
            return 1.0
        skipped = self.passed_over(key)
        return self.discount**skipped if skipped else 1.0

    def call(self, key: Key, evidence: Evidence) -> None:
        """Before charging a call of the key's tool: fade its record by the calls it missed."""
        if self.discount >= 1.0:
            return
        factor = self.factor(key)
        if factor < 1.0:
            segment = evidence.current
            segment.successes *= factor
            segment.failures *= factor
        scope = (key[0], key[2], key[3])
        calls = self._calls.get(scope, 0) + 1
        self._calls[scope] = calls
        self._last[key] = calls

    def forget(self, agent_id: str, tool: str | None) -> None:
        """Drop the clock of an agent, or of one of its tools."""
        self._last = {
            k: v for k, v in self._last.items() if not (k[0] == agent_id and tool in (None, k[1]))
        }
        if tool is None:
            self._calls = {k: v for k, v in self._calls.items() if k[0] != agent_id}
            self._since = {k: v for k, v in self._since.items() if k[0] != agent_id}
