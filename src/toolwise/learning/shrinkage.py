"""Hierarchical shrinkage: a context starts from what the tool did elsewhere.

A key's posterior is Beta(alpha, beta) with, added to the base prior and any seeded prior:

* the tool's record in the agent's *other* task types (overall minus this one), scaled down
  to at most ``shrinkage_strength`` pseudo-observations;
* the records of *similar* task types, each weighted by its similarity, scaled to at most
  ``similarity_strength`` pseudo-observations;
* with time buckets, the same task type's other buckets, scaled to ``shrinkage_strength``;
* and finally the key's own decayed evidence, unscaled.

Borrowed evidence is a prior, not data: with a fixed strength a context needs only a handful
of its own outcomes to outweigh it, yet a brand-new task type gets a sensible first ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Mass", "Posterior", "cap", "combine"]

Mass = tuple[float, float]
"""Decayed ``(successes, failures)``."""


def cap(mass: Mass, strength: float) -> Mass:
    """Scale ``mass`` down so it is worth at most ``strength`` observations (never up)."""
    successes, failures = max(mass[0], 0.0), max(mass[1], 0.0)
    total = successes + failures
    if total <= strength or total <= 0.0:
        return successes, failures
    factor = strength / total
    return successes * factor, failures * factor


def _minus(whole: Mass, part: Mass) -> Mass:
    return max(whole[0] - part[0], 0.0), max(whole[1] - part[1], 0.0)


@dataclass(frozen=True, slots=True)
class Posterior:
    """A key's Beta posterior and the evidence behind it."""

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


def combine(
    *,
    base: Mass,
    seed: Mass,
    overall: Mass,
    context: Mass,
    similar: Mass,
    bucket: Mass | None,
    shrinkage_strength: float,
    similarity_strength: float,
) -> Posterior:
    """Assemble a posterior from the hierarchy's levels (see the module docstring).

    Args:
        base: the configured Beta prior.
        seed: pseudo-counts from ``seed_prior`` (not decayed).
        overall: the tool's record across the agent's task types (includes ``context``).
        context: the task type's record (includes ``bucket``).
        similar: the similarity-weighted records of similar task types.
        bucket: the time bucket's record, or ``None`` without time buckets.
        shrinkage_strength: cap on pseudo-observations borrowed from the parent level.
        similarity_strength: cap on pseudo-observations borrowed from similar task types.
    """
    parts = [base, seed, cap(_minus(overall, context), shrinkage_strength)]
    parts.append(cap(similar, similarity_strength))
    if bucket is None:
        own = context
    else:
        parts.append(cap(_minus(context, bucket), shrinkage_strength))
        own = bucket
    alpha = sum(part[0] for part in parts)
    beta = sum(part[1] for part in parts)
    borrowed = alpha + beta > base[0] + base[1] + 1e-9
    return Posterior(alpha + own[0], beta + own[1], own, borrowed)
