"""A dip of the leader: re-try a broken tool that its recent rate no longer keeps out.

In a regime swap back (``docs/ranking.md`` §5, *where periodic's regret lies*) the tool that
broke in the last regime is back, while the tool that took the lead falls 15–25 points from
a long record. No change test confirms such a fall within a regime (the slow scan needs about
200 outcomes), so neither holds nor ``retry_on_leader_break`` fire, and the broken tool is
left to its backed-off re-tries: one every 64 calls, and three that fail by chance keep it
out for the whole regime.

A *dip* is a much weaker signal than a change: the leader's newest outcomes fit a lower rate
better than its record by ``threshold`` nats (the two-sample GLR statistic of the slow scan,
at a fixed level rather than Besson et al.'s ``ln(3 n^{3/2} / δ)``). It restarts nothing; it
only makes due the re-try of a tool whose archived rate beats the leader's rate since the
dip, so the cost of a chance dip is one re-try, and a tool that is back gets the run of calls
its restore test needs.
"""

from __future__ import annotations

from toolwise.learning.divergence import MIN_RUN, split_statistic
from toolwise.learning.scan import History

__all__ = ["dip_rate"]


def dip_rate(
    history: History, *, threshold: float, min_evidence: float, prior: tuple[float, float]
) -> float | None:
    """The leader's rate since its strongest downward split above ``threshold``, else None.

    Args:
        history: the leader's record since its last restart (``scan``).
        threshold: GLR statistic, in nats, the split must exceed.
        min_evidence: outcomes needed before the split.
        prior: base Beta pseudo-counts (the rate since the split is its posterior mean).
    """
    total_s, total_f = history.successes, history.failures
    total_n = total_s + total_f
    if total_n < min_evidence + MIN_RUN:
        return None
    pooled = total_s / total_n
    alpha0, beta0 = prior
    best, best_stat = None, threshold
    for _, before_s, before_n, after_s, after_n in history.splits(min_evidence):
        if after_n - after_s < MIN_RUN or after_s / after_n >= before_s / before_n:
            continue
        stat = split_statistic(before_s, before_n, after_s, after_n, pooled)
        if stat > best_stat:
            best, best_stat = (after_s + alpha0) / (after_n + alpha0 + beta0), stat
    return best
