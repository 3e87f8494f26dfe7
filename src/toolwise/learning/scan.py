"""Find moderate and gradual changes: a GLR scan over a compressed history of a key's record.

The fast test in ``changepoint`` looks at the last ten outcomes: it catches a tool that
collapses (four failures in a row of a 90 % tool) but not one that slides from 75 % to 55 %,
which takes a hundred outcomes to tell from chance. This scan runs the two-sample Bernoulli
GLR test of Besson et al. (2022) over split points at every scale of the record since its
last restart:

``G(s) = n₁ kl(μ₁, μ) + n₂ kl(μ₂, μ)`` against ``β(n) = ln(3 n^{3/2} / δ)``,

with ``μ₁``, ``μ₂`` the success rates before and after the split and ``μ`` the pooled rate.

The history is an exponential histogram (Datar et al., 2002): blocks of 1, 1, 2, 2, 4, 4, …
outcomes, newest smallest, so the split points sit densely near the present and sparsely in
the past — about ``2 log₂ n`` of them. Memory and each scan are O(log n) whatever the record's
size, and the scan runs on a thinning schedule (every ``n / 16`` outcomes), so its cost per
outcome stays about constant while the delay it adds is at most 6 %.

Not thread-safe on its own: the view holds its lock.
"""

from __future__ import annotations

import math

from toolwise.learning.divergence import MIN_RUN, kl_bernoulli

__all__ = ["History", "glr_threshold"]

_THIN = 16  # scan every n / _THIN outcomes


def glr_threshold(n: float, delta: float) -> float:
    """Besson et al.'s threshold ``ln(3 n^{3/2} / δ)`` for a record of ``n`` outcomes."""
    return math.log(3.0 * max(n, 1.0) ** 1.5 / delta)


class History:
    """Success and failure counts since the last restart, in blocks of doubling size.

    Each block is ``[successes, failures, outcomes]``, oldest first; no more than two blocks
    share a size, so a record of ``n`` outcomes has at most ``2 log₂ n + 2`` blocks.
    """

    __slots__ = ("blocks", "since_scan")

    def __init__(self) -> None:
        self.blocks: list[list[float]] = []
        self.since_scan = 0

    def __len__(self) -> int:
        """Outcomes held."""
        return int(sum(block[2] for block in self.blocks))

    def add(self, successes: float, failures: float) -> None:
        """Append one outcome and merge equal-sized blocks where three meet."""
        blocks = self.blocks
        blocks.append([successes, failures, 1.0])
        self.since_scan += 1
        end = len(blocks)
        size = 1.0
        while True:
            start = end
            while start > 0 and blocks[start - 1][2] == size:
                start -= 1
            if end - start < 3:
                return
            first, second = blocks[start], blocks[start + 1]
            blocks[start : start + 2] = [
                [first[0] + second[0], first[1] + second[1], first[2] + second[2]]
            ]
            end = start + 1
            size *= 2.0

    def reset(self, kept: list[tuple[float, float]]) -> None:
        """Start over from ``kept`` outcomes (oldest first): the run after a change point."""
        self.blocks = []
        for successes, failures in kept:
            self.add(successes, failures)
        self.since_scan = 0

    def keep_last(self, count: int) -> None:
        """Drop the oldest blocks until ``count`` outcomes remain (a change point's run)."""
        while self.blocks and len(self) > count:
            self.blocks.pop(0)
        self.since_scan = 0

    def take_back(self, successes: float, failures: float) -> None:
        """Remove one outcome's mass from the newest block holding it (an outage revert)."""
        for block in reversed(self.blocks):
            if block[1] >= failures - 1e-9 and block[0] >= successes - 1e-9 and block[2] >= 1:
                block[0] = max(block[0] - successes, 0.0)
                block[1] = max(block[1] - failures, 0.0)
                block[2] -= 1
                break
        self.blocks = [block for block in self.blocks if block[2] > 0]

    def due(self) -> bool:
        """Whether a scan is due (thinning: every ``n / 16`` outcomes)."""
        return self.since_scan * _THIN >= len(self)

    def scan(
        self, *, delta: float, min_evidence: float, prior: tuple[float, float]
    ) -> tuple[int, float, float, bool]:
        """The strongest change point, if any clears the threshold.

        Args:
            delta: false-alarm level of the test.
            min_evidence: outcomes needed before the split.
            prior: base Beta pseudo-counts (they keep rates off 0 and 1).

        Returns:
            ``(outcomes after the split, their successes, their failures, upward)``, with
            0 outcomes when nothing changed.
        """
        self.since_scan = 0
        blocks = self.blocks
        total_s = sum(block[0] for block in blocks)
        total_f = sum(block[1] for block in blocks)
        total_n = total_s + total_f
        none = (0, 0.0, 0.0, False)
        if total_n < min_evidence + MIN_RUN:
            return none
        alpha0, beta0 = prior
        pooled = (total_s + alpha0) / (total_n + alpha0 + beta0)
        threshold = glr_threshold(total_n, delta)
        best = none
        best_stat = threshold
        after_s = after_f = 0.0
        count = 0.0
        for block in reversed(blocks[1:]):
            after_s += block[0]
            after_f += block[1]
            count += block[2]
            before_s, before_f = total_s - after_s, total_f - after_f
            if before_s + before_f < min_evidence:
                break
            after_n = after_s + after_f
            mean_after = (after_s + alpha0) / (after_n + alpha0 + beta0)
            mean_before = (before_s + alpha0) / (before_s + before_f + alpha0 + beta0)
            upward = mean_after > mean_before
            if (after_s if upward else after_f) < MIN_RUN:
                continue
            stat = (before_s + before_f) * kl_bernoulli(
                before_s / (before_s + before_f), pooled
            ) + after_n * kl_bernoulli(after_s / after_n, pooled)
            if stat > best_stat:
                best, best_stat = (round(count), after_s, after_f, upward), stat
        return best
