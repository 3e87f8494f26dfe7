"""When the leading tool breaks, hold the other tools' records as a prior, not as fact.

A change that breaks a task type's best tool is evidence that the task's world changed, and
the other tools' records describe the world before it: in a regime swap the runner-up may
have become the best at the same moment, and nobody would find out while its old record
(say 7 calls at 30 %) keeps it ranked low. So when a downward change is detected on the tool
with the best record of its task type, every other tool there with a record is *held*:

* its record is set aside, and its posterior reads its new outcomes plus a **loan** of the
  old record of at most ``strength`` pseudo-observations at the old rate, shrunk by the new
  outcomes' agreement with it (``dispersion.agreement``). The old rate still leads the
  estimate, but with the width of a few calls, so Thompson sampling tries the tool again if
  it could now be the best;
* each new outcome updates the Bayes factor "one rate before and after" against "a rate
  each" (``dispersion.log_alike``): above ``restore`` the old record is merged back (the tool
  did not change). A record the new outcomes contradict is *not* dropped: its loan shrinks
  to nothing by itself, and dropping it lost the record an outage must give back (a held
  tool failing in an outage looks exactly like a changed one until the outage is declared);
* when the held tool itself breaks, the held record joins the archive of its own break (the
  outage revert and the recovery test then see the whole record);
* when the tool that broke is restored (a false alarm, or it came back) or its break is
  blamed on an outage, the holds it caused are lifted and the old records merged back.

A *final* hold (``restart``) is never merged back because the new outcomes agree: the record
is set aside for good unless its cause's break is undone (a hold with no cause, never).

This is the correlated-change half of a Bayesian change-point model: a change of one arm
raises the probability that the others changed, and the evidence after it decides, per arm.
O(1) per outcome; reads pay one agreement test per held key.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from toolwise.learning.dispersion import agreement, log_alike
from toolwise.learning.shrinkage import lend

if TYPE_CHECKING:
    from toolwise.learning.evidence import Evidence, Segment

__all__ = ["Hold"]

Mass = tuple[float, float]


class Hold:
    """A record set aside because another tool of its task type broke.

    Args:
        segment: the old record.
        cause: the evidence of the tool whose break caused the hold (``None``: nothing can
            undo it).
        strength: at most this many pseudo-observations are lent from the old record.
        base: the base Beta prior.
        final: never merged back because the new outcomes agree (``restart``).
    """

    __slots__ = ("_lent", "base", "cause", "final", "segment", "strength")

    def __init__(
        self,
        segment: Segment,
        cause: Evidence | None,
        strength: float,
        base: Mass,
        *,
        final: bool = False,
    ) -> None:
        self.segment = segment
        self.cause = cause
        self.strength = strength
        self.base = base
        self.final = final
        # The last loan and the masses it was worked out from: the next read of the key
        # mostly asks with the same ones (3 asks in 4 while an agent learns between
        # decisions, benchmarks/recommend.py's store), and the agreement test is 12 lgammas.
        self._lent: tuple[Mass, Mass, Mass] | None = None

    @property
    def lifted(self) -> bool:
        """The tool whose break caused the hold is no longer held to be broken."""
        return self.cause is not None and self.cause.archived is None

    def loan(self, live: Mass, now: float, rate: float) -> Mass:
        """What the old record lends a key whose new outcomes are ``live``."""
        old = self.segment.at(now, rate)
        last = self._lent
        if last is not None and last[0] == live and last[1] == old:
            return last[2]
        lent = lend(old, self.strength)
        share = agreement(live, lent, self.base)
        loan = share * lent[0], share * lent[1]
        # Zeros are left out: 0.0 == -0.0, and a signed zero could show in a prior's counts.
        if 0.0 not in live and 0.0 not in old:
            self._lent = (live, old, loan)
        return loan

    def restores(self, live: Mass, now: float, rate: float, *, restore: float) -> bool:
        """Whether the new outcomes ``live`` say the old record still holds (merge it back)."""
        return log_alike(live, self.segment.at(now, rate), self.base) >= math.log(restore)
