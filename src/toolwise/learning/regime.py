"""Regimes that come back: keep a tool's record from before a swap, and return to it.

In a world that alternates between two regimes (a failover pair, a nightly batch window), the
runner-up of one regime leads the other. Without memory, when the leader breaks the runner-up's
record is held (``hold``); when the runner-up breaks in turn at the swap back, the held record
joins its archive, and the recovery test later restores a mix of both regimes' rates — too
high for the regime it is in, so the tool keeps being chosen after the swap back (measured on
the ``periodic`` family, ``docs/ranking.md`` §5). With ``regime_memory`` a key keeps the
record of the other regime as its *former* record:

* when a held tool breaks, its held record becomes the former one instead of joining the
  archive of the break (:func:`keep_former`);
* after every outcome, the Bayes factor "the outcomes since the last restart share the former
  record's rate" against "a rate each" (``dispersion.log_alike``) is read beside the same
  factor for the record the key would otherwise go back to (its archive or held record); when
  the former one fits by ``restore`` and better, it becomes the live record and the one it
  displaced becomes the former one, so the next swap back finds it (:func:`back_to_former`);
* when the recovery test (``recovery``) would restore the archive but the former record fits
  the new outcomes better, the former one is restored instead (:func:`prefer_former`).

O(1) per outcome: one or two Bayes factors for keys that have a former record, nothing else.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from toolwise.learning.dispersion import log_alike

if TYPE_CHECKING:
    from toolwise.learning.evidence import Evidence
    from toolwise.learning.segment import Segment

__all__ = ["back_to_former", "keep_former", "prefer_former"]

Mass = tuple[float, float]


def keep_former(evidence: Evidence) -> bool:
    """A held key breaks: keep its held record as the former regime's, out of the archive.

    Returns whether it did; the caller then marks the former record as set aside by the
    break (``Evidence.former_at_break``) once the break's restart is done.
    """
    held = evidence.held
    if held is None or held.lifted:
        return False
    evidence.former = held.segment
    evidence.held = None
    return True


def _rival(evidence: Evidence) -> Segment | None:
    """The record the key would go back to without the former one."""
    if evidence.archived is not None:
        return evidence.archived
    held = evidence.held
    return held.segment if held is not None and not held.lifted else None


def _fits(
    evidence: Evidence, live: Mass, now: float, rate: float, base: Mass
) -> tuple[float, float]:
    """``(former's log Bayes factor, its rival's)`` against the outcomes ``live``."""
    former = evidence.former
    if former is None:
        return -math.inf, math.inf
    fit = log_alike(live, former.at(now, rate), base)
    rival = _rival(evidence)
    rival_fit = -math.inf if rival is None else log_alike(live, rival.at(now, rate), base)
    return fit, rival_fit


def _swap(evidence: Evidence, now: float, rate: float) -> None:
    former = evidence.former
    assert former is not None  # callers checked
    displaced = _rival(evidence)
    evidence.held = None
    evidence.archived = None
    evidence.trigger = set()
    evidence.recovery = None
    evidence.current.absorb(former, rate)
    evidence.former = displaced
    evidence.former_at_break = False
    evidence.restored_at = now
    evidence.restored_charges = evidence.charges
    evidence.changed_from = None


def back_to_former(
    evidence: Evidence, now: float, rate: float, base: Mass, *, restore: float
) -> bool:
    """Make the former record live when the new outcomes fit it, ``restore`` times better.

    Better than the record the key would otherwise go back to, when it has one (and the
    outcomes must lean to "alike", factor ≥ 1); else better than "a rate each".
    """
    fit, rival_fit = _fits(evidence, evidence.current.at(now, rate), now, rate, base)
    if fit < (0.0 if rival_fit > -math.inf else math.log(restore)):
        return False
    if fit - rival_fit < math.log(restore):
        return False
    _swap(evidence, now, rate)
    return True


def prefer_former(evidence: Evidence, run: Mass, now: float, rate: float, base: Mass) -> bool:
    """The archive is about to be restored: restore the former record if it fits better.

    ``run`` is the run of outcomes that made the recovery test restore (the tool is back
    *now*); the outcomes before it may belong to the regime the tool just left.
    """
    fit, rival_fit = _fits(evidence, run, now, rate, base)
    if fit <= rival_fit:
        return False
    _swap(evidence, now, rate)
    return True
