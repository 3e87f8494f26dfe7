"""Hierarchical shrinkage: a context starts from what the tool did elsewhere.

A key's posterior is Beta(alpha, beta), assembled level by level:

1. the **base** prior — ``Beta(prior_alpha, prior_beta)``, or the *peer prior*: a Beta
   centred on the other tools' pooled rate in the same task type with ``peer_prior_strength``
   pseudo-observations (see ``Aggregates``), a cold-start prior that gives way linearly to the
   flat base as the tool's own evidence here (4) grows to as much, and as its loans (2 and 3)
   grow to a full loan — plus any seed;
2. a **loan** from the tool's record in the agent's *other* task types (overall minus this
   one), scaled down to at most ``elsewhere_strength`` pseudo-observations;
3. a loan from the records of *similar* task types, each weighted by its similarity, scaled
   to at most ``similarity_strength``;
4. the task type's own decayed evidence, unscaled. That is the task type's posterior;
5. with time buckets, the bucket's posterior is the base plus a loan of the task type's
   posterior (without the bucket's own outcomes), scaled to ``bucket_strength``, plus the
   bucket's own evidence.

With ``adaptive`` on, each loan is multiplied by :func:`~toolwise.learning.dispersion.agreement`
of the borrowing key's own evidence with it, so a context that behaves differently stops
borrowing after a few calls of its own, while one that agrees keeps the full loan.

A record of ``n`` observations lends ``strength · n / (strength + n)`` of them (:func:`lend`):
nearly ``strength`` when it is large (300 calls at 90 % lend 4.4 successes and 0.5 failures at
strength 5), but much less than its own size when it is small — three calls say little about
the tool's usual rate, let alone about this context (in a hierarchical Beta–Bernoulli model
the new context's prior variance is the between-context variance *plus* the uncertainty of
the lender's mean; this is that sum in units of observations).
"""

from __future__ import annotations

from typing import NamedTuple

from toolwise.learning.dispersion import agreement, log_fit

__all__ = ["Levels", "Mass", "Posterior", "cap", "combine", "lend", "minus"]

Mass = tuple[float, float]
"""Decayed ``(successes, failures)``."""

_TINY = 1e-9


def cap(mass: Mass, strength: float) -> Mass:
    """Scale ``mass`` down so it is worth at most ``strength`` observations (never up)."""
    successes, failures = max(mass[0], 0.0), max(mass[1], 0.0)
    total = successes + failures
    if total <= strength or total <= 0.0:
        return successes, failures
    factor = strength / total
    return successes * factor, failures * factor


def lend(mass: Mass, strength: float) -> Mass:
    """What a record lends at ``strength``: ``strength · n / (strength + n)`` observations."""
    successes, failures = max(mass[0], 0.0), max(mass[1], 0.0)
    total = successes + failures
    if total <= 0.0 or strength <= 0.0:
        return 0.0, 0.0
    factor = strength / (strength + total)
    return successes * factor, failures * factor


def minus(whole: Mass, part: Mass) -> Mass:
    """``whole − part``, clamped at zero against rounding."""
    return max(whole[0] - part[0], 0.0), max(whole[1] - part[1], 0.0)


class Posterior(NamedTuple):
    """A key's Beta posterior and the evidence behind it.

    Named tuples, not frozen dataclasses, here and in the reads built from them: a ranking
    makes a few of them per candidate tool, and they are three times cheaper to build.
    """

    alpha: float
    beta: float
    own: Mass
    borrowed: bool

    @property
    def mean(self) -> float:
        """Posterior mean success rate."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def effective(self) -> float:
        """Decayed weight of the key's own evidence."""
        return self.own[0] + self.own[1]


class Levels(NamedTuple):
    """What one key can borrow from, and how much at most (see the module docstring).

    Attributes:
        base: the configured base prior.
        peer: the base prior centred on the other tools' rate in the task type, with its
            strength (``None``: no peers, or disabled).
        seed: pseudo-counts from ``seed_prior`` (never decayed, never scaled).
        elsewhere: the tool's record in the agent's other task types, except the similar ones
            (they lend through ``similar``; counting them twice would double their say).
        elsewhere_strength: cap on the loan from ``elsewhere``.
        similar: the similarity-weighted records of similar task types.
        similarity_strength: cap on the loan from ``similar``.
        context: the task type's own record (including the bucket's outcomes).
        bucket: the time bucket's own record, or ``None`` when the key is not bucketed.
        bucket_strength: cap on what a bucket inherits from its task type.
        adaptive: shrink each loan by the key's agreement with it.
    """

    base: Mass
    peer: Mass | None
    seed: Mass
    elsewhere: Mass
    elsewhere_strength: float
    similar: Mass
    similarity_strength: float
    context: Mass
    bucket: Mass | None = None
    bucket_strength: float = 0.0
    adaptive: bool = True


def combine(levels: Levels) -> Posterior:
    """Assemble a key's posterior from the hierarchy's levels."""
    flat, seed = levels.base, levels.seed
    start = (flat[0] + seed[0], flat[1] + seed[1])
    bucket = levels.bucket
    own = levels.context if bucket is None else minus(levels.context, bucket)
    alpha, beta = own
    lent = 0.0
    fit: float | None = None  # the own evidence's fit under ``start``, the same for both loans
    for mass, strength in (
        (levels.elsewhere, levels.elsewhere_strength),
        (levels.similar, levels.similarity_strength),
    ):
        loan = lend(mass, strength)
        if loan[0] + loan[1] <= _TINY:
            continue
        share = 1.0
        if levels.adaptive:
            if fit is None:
                fit = log_fit(own, start)
            share = agreement(own, loan, start, base_fit=fit)
        alpha += share * loan[0]
        beta += share * loan[1]
        lent += share * (loan[0] + loan[1])
    base = flat
    peer = levels.peer
    if peer is not None:
        # A cold-start prior: it stands in for evidence about the tool itself, so it gives
        # way linearly as the tool's own record here grows (gone at peer_prior_strength
        # observations) and as it borrows from its record elsewhere (gone at a full loan).
        # Kept at full strength it drags a leader with ten calls toward the also-rans, and
        # costs 5-10 % regret over 50 sparse contexts (measured).
        full_loan = max(levels.elsewhere_strength, levels.similarity_strength)
        keep = 1.0 - (own[0] + own[1]) / (peer[0] + peer[1])
        if full_loan > 0.0:
            keep -= lent / full_loan
        keep = max(keep, 0.0)
        base = (keep * peer[0] + (1 - keep) * flat[0], keep * peer[1] + (1 - keep) * flat[1])
    alpha += base[0] + seed[0]
    beta += base[1] + seed[1]
    lent += seed[0] + seed[1]
    if bucket is None:
        return Posterior(alpha, beta, levels.context, lent > _TINY)
    # A bucket inherits its task type's posterior (without its own outcomes), not its parts.
    loan = cap((alpha - base[0], beta - base[1]), levels.bucket_strength)
    share = agreement(bucket, loan, base) if levels.adaptive else 1.0
    alpha = base[0] + share * loan[0] + bucket[0]
    beta = base[1] + share * loan[1] + bucket[1]
    return Posterior(alpha, beta, bucket, share * (loan[0] + loan[1]) > _TINY)
