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

**The gate.** Where nothing changes, fading only costs: every also-ran is tried again as its
record fades. So fading may be confined to task types that changed: from the first detected
change (``after_change``), or only from a change *confirmed* by the two-sample GLR test at a
strict level (``confirm_delta``, see ``strength``) — a chance streak or an outage's first
failures do not clear it — and only until the task type has been steady for ``steady_calls``
calls. Only calls made while the gate is open count as passed over.

Counting in calls, not time, keeps the learner the same at every traffic rate. The clock is
not part of snapshots: after a restart every record counts as fresh.

Not thread-safe: the view's lock is held around every call.
"""

from __future__ import annotations

from toolwise.learning.evidence import Evidence
from toolwise.learning.strength import Mass, confirms

__all__ = ["StaleClock", "record_mass"]

_ZERO: Mass = (0.0, 0.0)

Scope = tuple[str, str, str]
"""(agent, task type, environment)."""
Key = tuple[str, str, str, str]
"""(agent, tool, task type, environment)."""


class _Candidate:
    """A detected change awaiting confirmation: the record before it, the run since."""

    __slots__ = ("before", "changes", "evidence", "restored", "run")

    def __init__(self, evidence: Evidence, before: Mass, run: Mass) -> None:
        self.evidence = evidence
        self.before = before
        self.run = run
        self.changes = evidence.changes
        self.restored = evidence.restored_charges

    def undone(self) -> bool:
        """Restored by the recovery test, reverted as an outage, or superseded."""
        evidence = self.evidence
        return evidence.changes != self.changes or evidence.restored_charges != self.restored

    def taken_back(self) -> bool:
        """Restored by the recovery test or reverted as an outage (a later change is not)."""
        evidence = self.evidence
        return evidence.changes < self.changes or evidence.restored_charges != self.restored

    def add(self, successes: float, failures: float) -> None:
        self.run = (self.run[0] + successes, self.run[1] + failures)


class StaleClock:
    """Counts each task type's calls made while fading is on, and each tool's last call.

    Args:
        discount: γ, the factor a record is multiplied by per call of another tool; 1
            disables the clock (every method is then a no-op returning 1).
        after_change: fade only once a change was detected in the task type (the gate).
        confirm_delta: with the gate, only a change whose record before and run after
            disagree at this GLR level opens it (``strength``); ``None``: any change does.
        steady_calls: with the gate, it closes again after this many calls of the task type
            without another change that opens it; ``None``: it stays open.
        rate: the records' decay constant per second (0 without a half-life).
        retroactive: when the gate opens, a tool's record fades by every call since its last
            one, not only by those after the opening: what it was made of predates the change.
        confirm_tools: with ``confirm_delta``, the gate opens only once changes are confirmed
            in this many tools of the task type (a break moves one tool, a drift all).
        close_on_undo: with ``confirm_delta``, the gate closes when fewer than
            ``confirm_tools`` confirmed changes stand (the others restored or reverted).
    """

    def __init__(
        self,
        discount: float,
        *,
        after_change: bool = False,
        confirm_delta: float | None = None,
        steady_calls: int | None = None,
        rate: float = 0.0,
        retroactive: bool = False,
        confirm_tools: int = 1,
        close_on_undo: bool = False,
    ) -> None:
        self.discount = discount
        self._tools = confirm_tools
        self._close_on_undo = close_on_undo
        self._confirmed: dict[Scope, dict[str, _Candidate]] = {}  # standing confirmed changes
        self._retroactive = retroactive
        self._rate = rate
        self._gated = after_change
        self._confirm_delta = confirm_delta
        self._steady = steady_calls
        self._calls: dict[Scope, int] = {}  # every call of the scope
        self._open: dict[Scope, int] = {}  # calls of the scope made while fading was on
        self._last: dict[Key, int] = {}  # the scope's open-call count at the key's last call
        self._opened: dict[Scope, int] = {}  # the scope's call count at its last opening
        self._candidates: dict[Key, _Candidate] = {}  # changes awaiting their confirmation
        self._last_call: dict[Key, int] = {}  # the scope's call count at the key's last call

    @property
    def gated(self) -> bool:
        """Whether fading waits for a change (and a confirmation needs the masses)."""
        return self.discount < 1.0 and self._gated

    def passed_over(self, key: Key) -> int:
        """Calls of the key's task type to other tools, while fading was on, since its last call."""
        last = self._last.get(key)
        if last is None:
            return 0
        return self._open.get((key[0], key[2], key[3]), 0) - last

    def is_open(self, scope: Scope) -> bool:
        """Whether calls of the task type now count as passed over for the other tools."""
        if not self._gated:
            return True
        opened = self._opened.get(scope)
        if opened is None:
            return False
        if (
            self._close_on_undo
            and self._confirm_delta is not None
            and self._standing(scope) < self._tools
        ):
            del self._opened[scope]
            return False
        return self._steady is None or self._calls.get(scope, 0) - opened <= self._steady

    def changed(self, key: Key, evidence: Evidence, before: Mass, after: Mass) -> None:
        """A change was detected in the key's task type, splitting its record there.

        Without ``confirm_delta`` it opens the gate at once. With it, the change is only a
        candidate: the outcomes from the change point on are tested against the record
        before it at every later charge (:meth:`charged`) until they disagree at that level
        (the gate opens) or the change is undone — restored, or reverted as an outage.

        Args:
            key: the key that changed.
            evidence: its record (to see whether the change is undone later).
            before: its record before the change point (successes, failures).
            after: the run after it.
        """
        if not self.gated:
            return
        if self._confirm_delta is None:
            self._open_gate(key)
            return
        candidate = self._candidates[key] = _Candidate(evidence, before, after)
        self._judge(key, candidate)

    def charged(
        self,
        key: Key,
        evidence: Evidence,
        before: Mass,
        outcome: Mass,
        t: float,
        *,
        changed: bool,
    ) -> None:
        """After a charge of the key's record: a change it completed, or a confirmation.

        Args:
            key: the key charged.
            evidence: its task-type record.
            before: what :meth:`call` returned (the record before the charge).
            outcome: the charge (successes, failures).
            t: when.
            changed: the charge completed a change point.
        """
        if not self.gated:
            return
        if changed:
            run = evidence.current.at(t, self._rate)
            old = (before[0] + outcome[0] - run[0], before[1] + outcome[1] - run[1])
            self.changed(key, evidence, (max(old[0], 0.0), max(old[1], 0.0)), run)
            return
        candidate = self._candidates.get(key)
        if candidate is not None:
            candidate.add(*outcome)
            self._judge(key, candidate)

    def _judge(self, key: Key, candidate: _Candidate) -> None:
        delta = self._confirm_delta
        if candidate.undone():
            del self._candidates[key]
        elif delta is not None and confirms(candidate.before, candidate.run, delta):
            del self._candidates[key]
            scope = (key[0], key[2], key[3])
            self._confirmed.setdefault(scope, {})[key[1]] = candidate
            if self._standing(scope) >= self._tools:
                self._open_gate(key)

    def _standing(self, scope: Scope) -> int:
        """How many tools of the task type have a confirmed change not taken back."""
        confirmed = self._confirmed.get(scope)
        if not confirmed:
            return 0
        for tool in [t for t, c in confirmed.items() if c.taken_back()]:
            del confirmed[tool]
        return len(confirmed)

    def _open_gate(self, key: Key) -> None:
        scope = (key[0], key[2], key[3])
        calls = self._calls.get(scope, 0)
        if self._retroactive and not self.is_open(scope):
            # Records made before the change are stale: every call since a tool's last one
            # counts, not only those after the opening.
            opened = self._open.get(scope, 0)
            for other, last_call in self._last_call.items():
                if (other[0], other[2], other[3]) == scope:
                    self._last[other] = opened - (calls - last_call)
        self._opened[scope] = calls

    def factor(self, key: Key) -> float:
        """What the key's record is worth now: γ to the number of calls it was passed over."""
        if self.discount >= 1.0:
            return 1.0
        skipped = self.passed_over(key)
        return self.discount**skipped if skipped else 1.0

    def call(self, key: Key, evidence: Evidence, t: float) -> Mass:
        """Before charging a call of the key's tool: fade its record by the calls it missed.

        Returns:
            The record's mass, for :meth:`charged` (``(0, 0)`` unless the gate needs it).
        """
        if self.discount >= 1.0:
            return _ZERO
        factor = self.factor(key)
        if factor < 1.0:
            segment = evidence.current
            segment.successes *= factor
            segment.failures *= factor
        scope = (key[0], key[2], key[3])
        self._calls[scope] = self._calls.get(scope, 0) + 1
        if self.is_open(scope):
            self._open[scope] = self._open.get(scope, 0) + 1
        self._last[key] = self._open.get(scope, 0)
        self._last_call[key] = self._calls[scope]
        return record_mass(evidence, t, self._rate) if self._gated else _ZERO

    def forget(self, agent_id: str, tool: str | None) -> None:
        """Drop the clock of an agent, or of one of its tools."""
        self._last = {
            k: v for k, v in self._last.items() if not (k[0] == agent_id and tool in (None, k[1]))
        }
        self._last_call = {
            k: v
            for k, v in self._last_call.items()
            if not (k[0] == agent_id and tool in (None, k[1]))
        }
        if tool is None:
            self._calls = {k: v for k, v in self._calls.items() if k[0] != agent_id}
            self._open = {k: v for k, v in self._open.items() if k[0] != agent_id}
            self._opened = {k: v for k, v in self._opened.items() if k[0] != agent_id}
        self._candidates = {
            k: v
            for k, v in self._candidates.items()
            if not (k[0] == agent_id and tool in (None, k[1]))
        }
        for scope, confirmed in self._confirmed.items():
            if scope[0] == agent_id:
                for name in [t for t in confirmed if tool in (None, t)]:
                    del confirmed[name]


def record_mass(evidence: Evidence, t: float, rate: float) -> Mass:
    """A record's whole mass at ``t``: the live segment plus a held one (``hold``).

    Read before a charge, it is what a change point found by that charge splits.
    """
    s, f = evidence.current.at(t, rate)
    held = evidence.held
    if held is not None:
        hs, hf = held.segment.at(t, rate)
        s, f = s + hs, f + hf
    return s, f
