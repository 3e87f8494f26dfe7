"""Fallback pools: one tool in front of interchangeable providers, tried in the learnt order.

A :class:`Pool` ranks its members with the learnt view for each call's task type and
environment, calls the best, falls through to the next on a failure (as judged), hedges a slow
member with the next one when asked, and records every attempt under the member's name. The
LangChain tool a model sees is :class:`toolwise.integrations.langchain.PooledTool`, built by
``tw.pool(name, [tool, ...])``. See ``docs/pools.md``.
"""

from toolwise.pools.call import Adapter, Member
from toolwise.pools.errors import FailedAttempt, PoolExhaustedError
from toolwise.pools.options import PoolOptions
from toolwise.pools.plan import Plan
from toolwise.pools.pool import Pool, PoolStats
from toolwise.pools.protocols import PoolRuntime, Ranking

__all__ = [
    "Adapter",
    "FailedAttempt",
    "Member",
    "Plan",
    "Pool",
    "PoolExhaustedError",
    "PoolOptions",
    "PoolRuntime",
    "PoolStats",
    "Ranking",
]
