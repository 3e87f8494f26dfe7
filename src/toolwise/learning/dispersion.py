"""How much a key should borrow: learnt from the data, not fixed by hand (empirical Bayes).

Two questions decide how many pseudo-observations a level of the hierarchy lends a key:

* **How alike are the tool's contexts?** :func:`concentration` estimates, by the beta-binomial
  method of moments, the concentration ``M = α + β`` of the Beta distribution the tool's
  per-task-type success rates look drawn from. Contexts that agree give a large ``M`` (borrow
  freely); contexts that disagree — a tool that works for chart deploys and fails elsewhere —
  give a small one (borrow little). Lending ``M`` pseudo-observations is what a hierarchical
  Beta–Bernoulli model would do with that estimate plugged in.
* **Does this key look like what it borrows?** :func:`agreement` compares the key's own
  evidence under the borrowed prior with its evidence under the flat base prior (a Bayes
  factor of two beta-binomial likelihoods). While the key's evidence is compatible, the level
  lends in full; as its evidence becomes likelier without the borrowed prior, the loan shrinks
  in proportion — so borrowed pseudo-counts fade exactly where the key disagrees.

Pure functions, no scipy; they run on the read path (``recommend``, ``priors``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["PRIOR_ODDS", "agreement", "concentration", "log_alike", "log_fit"]

PRIOR_ODDS = 3.0
"""Prior odds that a key follows the level it borrows from: the loan starts shrinking only when
the key's evidence is more than three times likelier under the flat prior than under the loan
(a single failure of a 90 % tool is not enough; three in a row are)."""

Mass = tuple[float, float]

_LOG_PRIOR_ODDS = math.log(PRIOR_ODDS)

_MIN_CONTEXTS = 2
_NOISE_SDS = 2.0
_MIN_TOTAL = 10.0


def concentration(masses: Iterable[Mass]) -> float | None:
    """Beta concentration ``α + β`` of a tool's success rates across its contexts.

    The method of moments for the beta-binomial with unequal sizes (Kleinman, 1973): with
    ``n_c`` each context's (decayed) evidence, ``p_c`` its rate and ``p`` the pooled rate,
    ``S = Σ n_c (p_c − p)²`` has expectation ``p(1−p) [(C − 1) + ρ (N − Σ n_c² / N)]``, where
    ``ρ = 1 / (M + 1)`` is the intra-class correlation. Solving for ``ρ`` gives ``M``; the
    noise term is over-counted by two of its standard deviations, so ``M`` errs large (borrow
    more) unless the contexts clearly differ.

    Args:
        masses: decayed ``(successes, failures)`` of each context of one tool.

    Returns:
        The estimated concentration; ``inf`` when the contexts vary no more than sampling
        noise explains; ``None`` with fewer than two contexts or ten observations in all.
    """
    sizes: list[float] = []
    rates: list[float] = []
    for successes, failures in masses:
        n = successes + failures
        if n > 0.0:
            sizes.append(n)
            rates.append(successes / n)
    total = math.fsum(sizes)
    if len(sizes) < _MIN_CONTEXTS or total < _MIN_TOTAL:
        return None
    pooled = math.fsum(n * r for n, r in zip(sizes, rates, strict=True)) / total
    spread = pooled * (1.0 - pooled)
    if spread <= 0.0:
        return math.inf  # every context always succeeds (or always fails): they agree
    between = math.fsum(n * (r - pooled) ** 2 for n, r in zip(sizes, rates, strict=True))
    effective = total - math.fsum(n * n for n in sizes) / total
    if effective <= 0.0:
        return None
    # The excess over what sampling noise explains, less two standard deviations of that
    # noise (the statistic is about chi-square with C - 1 degrees of freedom): a few calls in
    # a few contexts always look dispersed, and cutting loans on noise costs more than it saves.
    dof = len(sizes) - 1
    excess = between / spread - dof - _NOISE_SDS * math.sqrt(2.0 * dof)
    rho = excess / effective
    if rho <= 0.0:
        return math.inf
    return max(1.0 / min(rho, 1.0) - 1.0, 0.0)


def agreement(own: Mass, loan: Mass, base: Mass, *, base_fit: float | None = None) -> float:
    """Share of a loan a key keeps, in [0, 1]: ``min(1, PRIOR_ODDS × Bayes factor)``.

    The Bayes factor compares the beta-binomial likelihood of the key's own evidence under
    ``base + loan`` with that under ``base`` alone (fractional, decayed counts are fine).

    Args:
        own: the key's decayed ``(successes, failures)``.
        loan: the pseudo-counts the level would lend.
        base: the prior the key has without the loan.
        base_fit: :func:`log_fit` of ``own`` under ``base`` when the caller has it already
            (a key's loans all share it).
    """
    successes, failures = own
    if successes + failures <= 0.0 or loan[0] + loan[1] <= 0.0:
        return 1.0
    a0, b0 = base
    a1, b1 = a0 + loan[0], b0 + loan[1]
    if base_fit is None:
        base_fit = _log_evidence(a0, b0, successes, failures)
    log_factor = _log_evidence(a1, b1, successes, failures) - base_fit
    log_factor += _LOG_PRIOR_ODDS
    return 1.0 if log_factor >= 0.0 else math.exp(log_factor)


def log_fit(own: Mass, base: Mass) -> float:
    """Log-likelihood of the evidence ``own`` under the Beta prior ``base`` (beta-binomial)."""
    return _log_evidence(base[0], base[1], own[0], own[1])


def _log_evidence(a: float, b: float, successes: float, failures: float) -> float:
    """``log B(a + s, b + f) − log B(a, b)``: log-likelihood of the evidence under Beta(a, b)."""
    lgamma = math.lgamma
    return (
        lgamma(a + successes)
        + lgamma(b + failures)
        - lgamma(a + b + successes + failures)
        - lgamma(a)
        - lgamma(b)
        + lgamma(a + b)
    )


def log_alike(first: Mass, second: Mass, base: Mass) -> float:
    """Log Bayes factor: two records share one success rate, against a rate each.

    Both beta-binomial likelihoods start from ``base``: under "alike" the pooled evidence
    updates one Beta, under "apart" each record its own. Evidence that agrees favours "alike"
    only slowly (the shared model is simpler); clearly different rates favour "apart" fast.

    Args:
        first: one task type's ``(successes, failures)`` with a tool.
        second: the other task type's, with the same tool.
        base: the base Beta prior.
    """
    a, b = base
    s1, f1 = first
    s2, f2 = second
    together = _log_evidence(a, b, s1 + s2, f1 + f2)
    apart = _log_evidence(a, b, s1, f1) + _log_evidence(a, b, s2, f2)
    return together - apart
