"""Fallback pools in the brief: one tool the model can call, its providers on a line under it.

A pooled tool (``tw.pool``) carries its providers' names in ``metadata["toolwise_pool"]``. It
has no record of its own — its attempts are recorded under the providers' names — so the brief
ranks the providers and shows the pool in the place of its best one (the model calls the pool,
which tries that provider first), with every provider's record on the line under it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from toolwise.learning.models import Recommendation

__all__ = ["POOL_METADATA_KEY", "collapse", "expand", "provider_line"]

POOL_METADATA_KEY = "toolwise_pool"


def expand(
    candidates: Sequence[Any], names: Sequence[str]
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """The names to rank (each pool replaced by its providers) and the pools found."""
    pools: dict[str, tuple[str, ...]] = {}
    for tool in candidates:
        metadata = getattr(tool, "metadata", None)
        members = metadata.get(POOL_METADATA_KEY) if isinstance(metadata, Mapping) else None
        name = getattr(tool, "name", None)
        if isinstance(name, str) and isinstance(members, Sequence) and members:
            pools[name] = tuple(str(m) for m in members)
    ranked: list[str] = []
    for name in names:
        ranked.extend(pools.get(name, (name,)))
    return list(dict.fromkeys(ranked)), pools


def collapse(
    ranking: Sequence[Recommendation], pools: Mapping[str, tuple[str, ...]]
) -> tuple[list[Recommendation], dict[str, list[Recommendation]]]:
    """Each pool in the place of its best-ranked provider; the providers' ranking by pool."""
    owner = {m: pool for pool, members in pools.items() for m in members}
    members: dict[str, list[Recommendation]] = {}
    out: list[Recommendation] = []
    for rec in ranking:
        pool = owner.get(rec.tool)
        if pool is None:
            out.append(rec)
            continue
        if pool not in members:
            out.append(rec.model_copy(update={"tool": pool}))
        members.setdefault(pool, []).append(rec)
    return [r.model_copy(update={"rank": i}) for i, r in enumerate(out, start=1)], members


def provider_line(providers: Sequence[Recommendation]) -> str:
    """``   pool of: ghcr 96% (30 calls), dockerhub 61% (28 calls)`` (in the order tried)."""

    def fact(rec: Recommendation) -> str:
        if rec.observations == 0:
            return f"{rec.tool} untried"
        rate = f"{rec.rate:.0%}" if math.isfinite(rec.rate) else "?"
        return f"{rec.tool} {rate} ({rec.observations} calls)"

    return "   pool of: " + ", ".join(fact(r) for r in providers)
