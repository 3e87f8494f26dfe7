"""Probes: re-try a tool passed over for long, once its task type is known to change.

In a regime swap the tool that becomes the best is often one whose record, made in the other
regime, is short and poor (``docs/ranking.md`` §5: development ``periodic`` seed 2, eight
calls at 6 %). While the leader stays steady nothing breaks, so no re-try or hold ever sends
the learner back to it, and Thompson sampling almost never draws it again. GLR-klUCB finds
it through forced exploration (Besson et al., 2022); a probe is the same idea, spent only
where it can pay:

* **Only in a task type that has changed.** Probes start at the first change point detected
  there: a task type that never changed never pays for them.
* **Only for a tool passed over for long.** A tool's probe is due once ``first`` calls of its
  task type went to other tools since its own last call; each failed probe doubles that wait
  (up to ``16 × first``). A change point in the task type sets every wait back to ``first``:
  the world the verdicts were made in has moved.
* **A success asks for more.** A successful probe makes the next one due at once (at most
  ``chain`` in a row), so a tool that has become good gets the run of calls its change test
  needs to confirm the rise, and a poor one costs about one call per round.

Counted in calls, never in time, so it is the same at every traffic rate. The schedule is not
part of snapshots: after a restart probes start again at the next change.

Not thread-safe: the view's lock is held around every call.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Probes"]

Scope = tuple[str, str, str]
"""(agent, task type, environment)."""
Key = tuple[str, str, str, str]
"""(agent, tool, task type, environment)."""

_MAX_DOUBLINGS = 4  # the wait stops doubling at 16 × first: a swap back is still found


@dataclass(slots=True)
class _Schedule:
    """One tool's probe schedule in one task type."""

    last: int  # the task type's call count at the tool's last call
    wait: int  # calls to other tools before the next probe is due
    chained: int = 0  # successful probes in a row (0: the next waits its turn)


class Probes:
    """When each tool's next probe is due, per task type.

    Args:
        first: calls to other tools before a passed-over tool is first probed; 0 disables
            probes (every method is then a no-op and nothing is ever due).
        chain: at most this many probes in a row while they succeed.
    """

    def __init__(self, first: int, *, chain: int = 8) -> None:
        self.first = first
        self.chain = chain
        self._calls: dict[Scope, int] = {}
        self._open: set[Scope] = set()
        self._tools: dict[Scope, dict[str, _Schedule]] = {}

    def due(self, key: Key) -> bool:
        """Whether the key's tool should be probed at the next decision of its task type."""
        if not self.first:
            return False
        scope = (key[0], key[2], key[3])
        if scope not in self._open:
            return False
        schedule = self._tools.get(scope, {}).get(key[1])
        if schedule is None:
            return False  # never called here: optimistic scoring of unknowns tries it
        if schedule.chained:
            return True
        return self._calls.get(scope, 0) - schedule.last >= schedule.wait

    def call(self, key: Key, *, success: bool) -> None:
        """Before a call of the key's tool is charged: advance its schedule.

        A call made while the probe was due counts as the probe, whichever strategy chose
        the tool: its outcome is what the schedule needs.
        """
        if not self.first:
            return
        probed = self.due(key)
        scope = (key[0], key[2], key[3])
        calls = self._calls.get(scope, 0) + 1
        self._calls[scope] = calls
        tools = self._tools.setdefault(scope, {})
        schedule = tools.get(key[1])
        if schedule is None:
            tools[key[1]] = _Schedule(last=calls, wait=self.first)
            return
        schedule.last = calls
        if not probed:
            return
        if success and schedule.chained < self.chain:
            schedule.chained += 1
            return
        schedule.chained = 0
        if not success:
            schedule.wait = min(schedule.wait * 2, self.first << _MAX_DOUBLINGS)

    def changed(self, key: Key) -> None:
        """A change point was found in the key's task type: probes start, waits reset."""
        if not self.first:
            return
        scope = (key[0], key[2], key[3])
        self._open.add(scope)
        for schedule in self._tools.get(scope, {}).values():
            schedule.wait = self.first

    def forget(self, agent_id: str, tool: str | None) -> None:
        """Drop the schedules of an agent, or of one of its tools."""
        for scope in [s for s in self._tools if s[0] == agent_id]:
            if tool is None:
                del self._tools[scope]
            else:
                self._tools[scope].pop(tool, None)
        if tool is None:
            self._calls = {k: v for k, v in self._calls.items() if k[0] != agent_id}
            self._open = {k for k in self._open if k[0] != agent_id}
