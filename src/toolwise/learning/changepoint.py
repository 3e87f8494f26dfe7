"""Notice when a tool's recent outcomes no longer fit its long-run record.

After each surprising outcome (a failure of a mostly-reliable tool, or a success of a
mostly-failing one) every recent run ending now is compared with the evidence before it, as
in the Bernoulli GLR test of Besson et al.: the statistic ``n · kl(x, p)`` screens the runs
(``exp(-n·kl)`` bounds the binomial tail, Chernoff), then the best run is confirmed with its
exact binomial tail ``< delta``. The caller then restarts the key from that run.

Pure functions of a window of :class:`~toolwise.learning.evidence.Part`; no scipy, so the hot
path stays cheap: the loop runs only on surprising outcomes and stops early.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from toolwise.learning.divergence import MIN_RUN, kl_bernoulli
from toolwise.learning.evidence import Part, Segment, decay_factor

__all__ = ["MIN_RUN", "binomial_tail", "can_fire", "find_change", "kl_bernoulli", "screen_of"]

_EPS = 1e-12
_SCREEN_SLACK = 1.0  # nats: the Chernoff bound is loose by less than this at n ≤ 10
_EXACT_MAX_N = 200  # beyond this the Chernoff bound itself is used (it is conservative)


def binomial_tail(k: int, n: int, p: float, *, upper: bool) -> float:
    """``P(X >= k)`` if ``upper`` else ``P(X <= k)``, for ``X ~ Binomial(n, p)``.

    Exact for ``n <= 200``; beyond that the Chernoff bound (an over-estimate) is returned.
    """
    if n <= 0:
        return 1.0
    p = min(max(p, _EPS), 1.0 - _EPS)
    if n > _EXACT_MAX_N:
        x = k / n
        if (x > p) != upper:
            return 1.0
        return math.exp(-n * kl_bernoulli(x, p))
    terms = range(max(k, 0), n + 1) if upper else range(min(k, n) + 1)
    return min(1.0, math.fsum(math.comb(n, i) * p**i * (1.0 - p) ** (n - i) for i in terms))


def screen_of(delta: float) -> float:
    """The GLR statistic a run needs before its exact tail is checked against ``delta``."""
    return math.log(1.0 / delta) - _SCREEN_SLACK


def can_fire(
    mass: tuple[float, float],
    window_mass: tuple[float, float],
    *,
    upward: bool,
    screen: float,
    prior: tuple[float, float],
) -> bool:
    """A cheap necessary condition for :func:`find_change` to fire; False skips the scan.

    For a downward run, ``n·kl(x, p) <= f·ln(1/(1-p))`` with ``f`` the run's failures, and
    ``p`` (the rate before the run) is at most what it would be if every failure in the window
    were inside the run. With the window's undecayed failure mass as ``f`` the bound only
    over-estimates, so skipping is safe. Upward runs are the mirror image. Most calls are
    settled without a logarithm, by ``ln(1/q) <= (1 - q)/q``.

    Args:
        mass: decayed ``(successes, failures)`` of the live segment, newest outcome included.
        window_mass: undecayed ``(successes, failures)`` summed over the recent window.
        upward: look for a recovery instead of a break.
        screen: :func:`screen_of` the detector's false-alarm level.
        prior: base Beta pseudo-counts.
    """
    successes, failures = mass
    window_s, window_f = window_mass
    run = window_s if upward else window_f
    if run < MIN_RUN:
        return False
    alpha0, beta0 = prior
    if upward:
        before_s = successes - window_s if successes > window_s else 0.0
        q = (before_s + alpha0) / (before_s + failures + alpha0 + beta0)  # rate before, at most
    else:
        before_f = failures - window_f if failures > window_f else 0.0
        q = (before_f + beta0) / (successes + before_f + alpha0 + beta0)  # failure rate, at most
    q = max(q, _EPS)
    if run * (1.0 - q) / q < screen:
        return False
    return run * -math.log(q) >= screen


def find_change(
    window: Sequence[Part],
    segment: Segment,
    now: float,
    rate: float,
    *,
    upward: bool,
    delta: float,
    min_evidence: float,
    prior: tuple[float, float],
    lapsed: Callable[[Part], bool] = lambda part: False,
    short: int | None = None,
    long_delta: float | None = None,
) -> int:
    """How many of the newest charges form a run improbable under the evidence before it.

    Args:
        window: recent charges, oldest first; the newest is the outcome just observed.
        segment: the live segment those charges belong to (older ones are ignored).
        now: time of the newest charge, POSIX seconds.
        rate: decay constant per second.
        upward: look for a run better than before (a recovery) instead of worse (a break).
        delta: false-alarm level: the run's binomial tail must be below it.
        min_evidence: effective observations needed before the run to judge against.
        prior: base Beta pseudo-counts, keeping the reference rate away from 0 and 1.
        lapsed: whether a charge's TTL has already taken it out; the scan stops there.
        short: runs longer than this are held to ``long_delta`` instead of ``delta`` (a
            second, longer window at a stricter level; ``None``: every run to ``delta``).
        long_delta: the false-alarm level of the runs longer than ``short``; ``None``
            (with ``short``): those runs are not tested.

    Returns:
        The length of the run to restart from, or 0 when nothing changed.
    """
    total_s, total_f = segment.at(now, rate)
    alpha0, beta0 = prior
    screen = math.log(1.0 / delta) - _SCREEN_SLACK
    long_screen = math.inf if long_delta is None else math.log(1.0 / long_delta) - _SCREEN_SLACK
    cut = len(window) if short is None else short
    best: tuple[float, float, float, int] | None = None  # stat, successes, weight, length
    best_p = 0.0
    run_s = run_f = 0.0
    for length, part in enumerate(reversed(window), start=1):
        if part.segment.live() is not segment or lapsed(part):
            break  # charges from before an earlier reset, or already expired
        factor = decay_factor(rate, now - part.t)
        run_s += part.successes * factor
        run_f += part.failures * factor
        before_s, before_f = total_s - run_s, total_f - run_f
        if before_s + before_f < min_evidence:
            break  # shorter history before longer runs: it only gets thinner
        weight = run_s + run_f
        if (run_s if upward else run_f) < MIN_RUN:
            continue
        p = (before_s + alpha0) / (before_s + before_f + alpha0 + beta0)
        x = run_s / weight
        if (x > p) != upward or x == p:
            continue
        stat = weight * kl_bernoulli(x, p)
        if stat >= (screen if length <= cut else long_screen) and (best is None or stat > best[0]):
            best, best_p = (stat, run_s, weight, length), p
    if best is None:
        return 0
    _, run_successes, run_weight, length = best
    n = max(1, round(run_weight))
    k = min(n, round(run_successes))
    level = delta if length <= cut or long_delta is None else long_delta
    return length if binomial_tail(k, n, best_p, upper=upward) < level else 0
