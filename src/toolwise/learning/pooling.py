"""Ranking with no environment given: every environment's evidence, pooled with shrinkage.

A user who records under ``environment="prod"`` and asks ``recommend(...)`` without one means
"what do you know", not "the unnamed environment" (which reads as untried). Each tool is read
in every environment the agent has evidence in; the environment where the tool has the most
evidence anchors it (its posterior, with its hierarchy of loans), and each other environment's
own evidence is added as a loan shrunk by how well it agrees with the anchor's
(:func:`~toolwise.learning.dispersion.agreement`): environments that behave alike pool fully,
one that behaves differently lends little. ``priors(environment=None)`` lists the same
evidence environment by environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from toolwise.learning.dispersion import agreement
from toolwise.learning.reader import Read
from toolwise.learning.shrinkage import Posterior

__all__ = ["PooledRead", "pool"]


class PooledRead(NamedTuple):
    """One tool's read across environments: the pooled read, its raw outcome count, and the
    environments whose evidence it holds (anchor first)."""

    read: Read
    observations: int
    environments: tuple[str, ...]


def pool(reads: Sequence[tuple[str, Read]]) -> PooledRead:
    """Pool one tool's ``(environment, read)`` pairs (at least one; earlier wins ties)."""
    if len(reads) == 1:  # one environment (the usual case): nothing to pool
        environment, read = reads[0]
        named = (environment,) if read.posterior.effective > 0.0 else ()
        return PooledRead(read, read.observations, named)
    anchor_env, anchor = max(reads, key=lambda pair: pair[1].posterior.effective)
    posterior = anchor.posterior
    own_s, own_f = posterior.own
    prior = (posterior.alpha - own_s, posterior.beta - own_f)
    alpha, beta = posterior.alpha, posterior.beta
    pooled_s, pooled_f = own_s, own_f
    used = [anchor_env] if posterior.effective > 0.0 else []
    observations = anchor.observations
    for environment, read in reads:
        if read is anchor or read.posterior.effective <= 0.0:
            continue
        s, f = read.posterior.own
        share = agreement(posterior.own, (s, f), prior)
        alpha, beta = alpha + share * s, beta + share * f
        pooled_s, pooled_f = pooled_s + share * s, pooled_f + share * f
        used.append(environment)
        observations += read.observations
    pooled = Posterior(alpha, beta, (pooled_s, pooled_f), posterior.borrowed)
    read = Read(pooled, anchor.own, anchor.context, anchor.overall, anchor.retry)
    return PooledRead(read, observations, tuple(used))
