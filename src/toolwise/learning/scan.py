"""Find moderate and gradual changes: a GLR scan over the recent record of a key.

The fast test in ``changepoint`` looks at the last ten outcomes: it catches a tool that
collapses (four failures in a row of a 90 % tool) but not one that slides from 75 % to 55 %,
which takes dozens of outcomes to tell from chance. This scan runs the two-sample Bernoulli
GLR test of Besson et al. (2022) on the record since its last restart, with the newest
``ℓ`` outcomes as the run after a candidate change point:

``G(ℓ) = n₁ kl(μ₁, μ) + ℓ kl(μ₂, μ)`` against ``β(n) = ln(3 n^{3/2} / δ)``,

with ``μ₁`` the success rate of the ``n₁ = n − ℓ`` outcomes before the split, ``μ₂`` that of
the run and ``μ`` the pooled rate.

**Split points slide with the present.** The runs tested have lengths on a geometric grid
(2, 3, 4, 5, 6, 8, 10, … about 25 % apart), always counted back from the newest outcome, so
whenever a change happened ``m`` outcomes ago some tested run is pure post-change data at
least ``0.8 m`` long. (An earlier version kept an exponential histogram whose old blocks
merged across the change point: a drop from 61 % to 21 % after 90 outcomes was still not
found 250 outcomes later, because every split point mixed the two rates.) The record keeps
the cumulative success mass of its last ``CAP`` outcomes — exact, O(1) per outcome — and the
totals of everything since the restart, so older outcomes still count on the "before" side.

A scan costs about 2 log₁.₂₅ n divergences; it runs on every outcome while the run is
short and every ``n / 64`` outcomes (at most every 8) once the record is long, so its cost
per outcome stays small and the delay it adds is at most 8 outcomes.

Not thread-safe on its own: the view holds its lock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from toolwise.learning.divergence import MIN_RUN, split_statistic

__all__ = ["CAP", "GRID", "History", "glr_threshold"]

CAP = 4_096  # outcomes whose order is kept (older ones count only in the totals)
_EVERY = 64  # a long record is scanned every n / _EVERY outcomes ...
_MAX_GAP = 8  # ... but at least every _MAX_GAP outcomes


def _grid(limit: int) -> tuple[int, ...]:
    lengths = {2}
    x = 2.0
    while x < limit:
        x *= 1.25
        lengths.add(min(round(x), limit))
    return tuple(sorted(lengths))


GRID = _grid(CAP)
"""Run lengths tested, shortest first."""


def glr_threshold(n: float, delta: float) -> float:
    """Besson et al.'s threshold ``ln(3 n^{3/2} / δ)`` for a record of ``n`` outcomes."""
    return math.log(3.0 * max(n, 1.0) ** 1.5 / delta)


class History:
    """The record since the last restart: totals, and cumulative masses in order.

    ``cumulative[i]`` and ``weights[i]`` are the success mass and the total mass of the
    first ``offset + i`` outcomes; only the last ``CAP`` outcomes (plus one origin) are
    kept. An outcome usually weighs one (a quality ``q`` is ``q`` successes and ``1 − q``
    failures), but a weighted observation may weigh more or less.
    """

    __slots__ = ("cumulative", "failures", "since_scan", "successes", "weights")

    def __init__(self) -> None:
        self.cumulative: list[float] = [0.0]
        self.weights: list[float] = [0.0]
        self.successes = 0.0
        self.failures = 0.0
        self.since_scan = 0

    def __len__(self) -> int:
        """Outcome mass held (in the totals)."""
        return round(self.successes + self.failures)

    def add(self, successes: float, failures: float) -> None:
        """Append one outcome."""
        cumulative, weights = self.cumulative, self.weights
        cumulative.append(cumulative[-1] + successes)
        weights.append(weights[-1] + successes + failures)
        if len(cumulative) > 2 * CAP:  # amortised O(1): drop the oldest CAP at once
            del cumulative[: len(cumulative) - CAP - 1]
            del weights[: len(weights) - CAP - 1]
        self.successes += successes
        self.failures += failures
        self.since_scan += 1

    def reset(self, kept: list[tuple[float, float]]) -> None:
        """Start over from ``kept`` outcomes (oldest first): the run after a change point."""
        self.cumulative = [0.0]
        self.weights = [0.0]
        self.successes = self.failures = 0.0
        for successes, failures in kept:
            self.add(successes, failures)
        self.since_scan = 0

    def keep_last(self, count: int) -> None:
        """Keep only the newest ``count`` outcomes (a change point's run)."""
        cumulative, weights = self.cumulative, self.weights
        count = min(count, len(cumulative) - 1)
        origin_s, origin_n = cumulative[-1 - count], weights[-1 - count]
        self.cumulative = [value - origin_s for value in cumulative[-1 - count :]]
        self.weights = [value - origin_n for value in weights[-1 - count :]]
        self.successes = self.cumulative[-1]
        self.failures = max(self.weights[-1] - self.successes, 0.0)
        self.since_scan = 0

    def split_off(self, count: int) -> History:
        """Keep only the newest ``count`` outcomes (a change point's run); return the older.

        The older part is what :meth:`rejoin` puts back if the change point is undone.
        """
        older = History()
        cut = len(self.cumulative) - 1 - min(count, len(self.cumulative) - 1)
        older.cumulative = self.cumulative[: cut + 1]
        older.weights = self.weights[: cut + 1]
        run_s = self.cumulative[-1] - self.cumulative[cut]
        run_n = self.weights[-1] - self.weights[cut]
        older.successes = max(self.successes - run_s, 0.0)
        older.failures = max(self.failures - (run_n - run_s), 0.0)
        self.keep_last(count)
        return older

    def rejoin(self, older: History) -> None:
        """Put ``older`` (from :meth:`split_off`) back before these outcomes: the change
        point was undone (its failures were an outage), so the record is one again."""
        shift_s = older.cumulative[-1] - self.cumulative[0]
        shift_n = older.weights[-1] - self.weights[0]
        self.cumulative = older.cumulative + [v + shift_s for v in self.cumulative[1:]]
        self.weights = older.weights + [v + shift_n for v in self.weights[1:]]
        if len(self.cumulative) > 2 * CAP:
            del self.cumulative[: len(self.cumulative) - CAP - 1]
            del self.weights[: len(self.weights) - CAP - 1]
        self.successes += older.successes
        self.failures += older.failures

    def take_back(self, successes: float, failures: float) -> None:
        """Remove one outcome's mass (an outage revert): from the totals and the newest entry.

        The order of the older outcomes is approximate afterwards (the reverted failure is
        taken as the newest one); reverts are rare and concern the last few outcomes.
        """
        if len(self.cumulative) > 1:
            self.cumulative.pop()
            self.weights.pop()
        self.successes = max(self.successes - successes, 0.0)
        self.failures = max(self.failures - failures, 0.0)

    def due(self) -> bool:
        """Whether a scan is due: every outcome for a short record, sparser for a long one."""
        n = len(self.cumulative) - 1
        return self.since_scan >= min(max(1.0, n / _EVERY), _MAX_GAP)

    def splits(self, min_evidence: float) -> Iterator[tuple[int, float, float, float, float]]:
        """The record's candidate splits, newest first: ``(length, before_s, before_n,
        after_s, after_n)`` for each ``GRID`` length kept, while at least ``min_evidence``
        outcomes (and some) are before the split; splits with nothing after are skipped."""
        cumulative, weights = self.cumulative, self.weights
        total_s, total_n = self.successes, self.successes + self.failures
        newest_s, newest_n = cumulative[-1], weights[-1]
        for length in GRID:
            if length > len(cumulative) - 1:
                return
            after_n = newest_n - weights[-1 - length]
            before_n = total_n - after_n
            if before_n < min_evidence or before_n <= 0.0:
                return
            if after_n <= 0.0:
                continue
            after_s = min(max(newest_s - cumulative[-1 - length], 0.0), after_n)
            before_s = min(max(total_s - after_s, 0.0), before_n)
            yield length, before_s, before_n, after_s, after_n

    def scan(
        self, *, delta: float, min_evidence: float, prior: tuple[float, float]
    ) -> tuple[int, float, float, bool]:
        """The strongest change point, if any clears the threshold.

        Args:
            delta: false-alarm level of the test.
            min_evidence: outcomes needed before the split.
            prior: base Beta pseudo-counts (they decide which side of a split is better).

        Returns:
            ``(outcomes after the split, their successes, their failures, upward)``, with
            0 outcomes when nothing changed.
        """
        self.since_scan = 0
        total_s, total_f = self.successes, self.failures
        total_n = total_s + total_f
        none = (0, 0.0, 0.0, False)
        if total_n < min_evidence + MIN_RUN:
            return none
        pooled = total_s / total_n
        threshold = glr_threshold(total_n, delta)
        alpha0, beta0 = prior
        best = none
        best_stat = threshold
        for length, before_s, before_n, after_s, after_n in self.splits(min_evidence):
            after_f = after_n - after_s
            mean_after = (after_s + alpha0) / (after_n + alpha0 + beta0)
            mean_before = (before_s + alpha0) / (before_n + alpha0 + beta0)
            upward = mean_after > mean_before
            if (after_s if upward else after_f) < MIN_RUN:
                continue
            stat = split_statistic(before_s, before_n, after_s, after_n, pooled)
            if stat > best_stat:
                best, best_stat = (length, after_s, after_f, upward), stat
        return best
