"""Restart a whole task type when its leader changes (opt-in, ``restart_on_leader_change``).

A hold (``hold``) sets the other tools' records aside when the leader breaks, but merges a
record back as soon as the tool's new outcomes agree with it (a Bayes factor of 10): a tool
whose rate rose a little since its record was made (40 % → 55 %) gets its old record back
after a few calls and is ranked by it again. GLR-klUCB's *global* restart variant (Besson
et al., 2022) forgets every arm on any detected change instead. A restart is that, confined
to confirmed changes of the task type's leader:

* **the leader broke** (a downward change of the tool with the best record): every other
  tool's record is set aside for good — a *final* hold that lends at most ``weight``
  observations and is never merged back because new outcomes agree. It is given back only
  if the leader's break is undone (restored by the recovery test, or blamed on an outage),
  so a false alarm or an outage costs the others nothing once it is recognised;
* **a broken tool came back as the leader** (its recovery restored its record and it now
  leads): the regime it broke in is over, so the records made in that regime are set aside
  the same way, for good (nothing an outage could revert caused it).

``restart_on="break"`` keeps the first trigger only. A task type is restarted at most once
per ``min_calls`` of its calls: a leader learnt from a handful of calls after a restart could
otherwise break on a chance streak and restart it again, and a false alarm restored within
``min_calls`` is not taken for a swap back (one restored later is: the ``outage`` cost). Tools
under a recovery keep their archive and its restore test (``recovery``): they are re-tried,
not restarted. O(tools of the task type), only when a leader changes; nothing per decision.

Measured worse than holds on development seeds (``periodic`` +18 ± 7 regret, +12 ± 6 with
the break trigger alone; ``docs/ranking.md`` §5), so it stays opt-in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from toolwise.learning.evidence import Evidence

__all__ = ["TaskRestarts"]

Scope = tuple[str, str, str]
"""(agent, task type, environment)."""


class TaskRestarts:
    """When each task type was last restarted, and the restart itself.

    Args:
        weight: at most this many observations a restarted record lends (0: none).
        min_calls: calls of a task type between two of its restarts.
        base: the base Beta prior.
    """

    def __init__(self, weight: float, min_calls: int, base: tuple[float, float]) -> None:
        self.weight = weight
        self.min_calls = min_calls
        self.base = base
        self._last: dict[Scope, int] = {}

    def allowed(self, scope: Scope, calls: int) -> bool:
        """Whether ``scope`` may be restarted now, at its ``calls``-th call."""
        last = self._last.get(scope)
        return last is None or calls - last >= self.min_calls

    def restart(
        self,
        scope: Scope,
        calls: int,
        others: Iterable[Evidence],
        cause: Evidence | None,
        rate: float,
    ) -> int:
        """Set aside the records of ``others`` (``cause``: undoing its break gives them back).

        Returns:
            How many records were set aside.
        """
        self._last[scope] = calls
        count = 0
        for other in others:
            if other.archived is not None:
                continue  # broken: its archive awaits the restore test, its re-try is due
            segment, held = other.current, other.held
            if segment.successes + segment.failures <= 0.0 and (held is None or held.lifted):
                continue  # nothing on record
            other.hold(cause, self.weight, self.base, final=True, rate=rate)
            count += 1
        return count

    def forget(self, doomed: Callable[[Scope], bool]) -> None:
        """Drop what is kept about the task types ``doomed`` selects."""
        self._last = {k: v for k, v in self._last.items() if not doomed(k)}
