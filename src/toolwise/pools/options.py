"""How a pool tries its members: budgets, hedging, exploration — validated when built."""

from __future__ import annotations

from typing import Self

from pydantic import Field, StrictBool, field_validator, model_validator

from toolwise.errors import InvalidArgumentError
from toolwise.learning.models import Objective, Strategy, resolve_objective
from toolwise.models import BoundaryModel

__all__ = ["PoolOptions"]


class PoolOptions(BoundaryModel):
    """The knobs of one pool; a bad value raises ``InvalidArgumentError`` naming the field.

    Attributes:
        max_attempts: attempts per call, hedges included (``None``: each member once).
        deadline: seconds a whole call may take; then running attempts are given up (recorded
            as ``TimeoutError``) and :class:`~toolwise.pools.PoolExhaustedError` is raised.
        hedge: when the running member has not answered by its learnt p95 latency, start the
            next one too and take the first success (the loser is cancelled where it can be).
        hedge_delay: seconds to wait before hedging a member whose latency is not learnt yet.
        min_hedge_delay: never hedge sooner than this (a p95 of a few ms would double traffic).
        min_latency_observations: a member's p95 is trusted once it rests on this many calls.
        max_exploration_share: at most this share of calls goes first to a long shot: a member
            whose effort per success, even at its upper credible bound of success, is worse
            than the best member's at its mean; more are ordered by posterior means.
        idempotent: the members may safely run twice for one call; hedging needs it.
        requires_confirmation: the members change the world only after a human approves;
            such a pool is never hedged.
        objective: the speed and cost weights of an attempt's effort; members are ranked by
            expected effort per success (see :mod:`toolwise.pools.ordering`).
        strategy: the ranking strategy (``"thompson"`` explores; ``"greedy"`` does not).
    """

    max_attempts: int | None = Field(default=None, ge=1)
    deadline: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)
    # Strict: lax parsing reads "yes", "on" and 1 as True, and hedging runs members twice.
    hedge: StrictBool = False
    hedge_delay: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    min_hedge_delay: float = Field(default=0.005, ge=0.0, allow_inf_nan=False)
    min_latency_observations: int = Field(default=5, ge=1)
    max_exploration_share: float = Field(default=0.1, ge=0.0, le=1.0)
    idempotent: StrictBool = True
    requires_confirmation: StrictBool = False
    objective: Objective = "balanced"
    strategy: Strategy = "thompson"

    @model_validator(mode="after")
    def _hedge_only_when_safe(self) -> Self:
        if self.hedge and not self.idempotent:
            reason = "cannot hedge a non-idempotent pool (a member could run twice)"
            raise InvalidArgumentError("hedge", self.hedge, reason)
        if self.hedge and self.requires_confirmation:
            reason = "cannot hedge a pool that requires confirmation (one approval, one call)"
            raise InvalidArgumentError("hedge", self.hedge, reason)
        return self

    @field_validator("objective")
    @classmethod
    def _known_objective(cls, objective: Objective) -> Objective:
        resolve_objective(objective)  # raises InvalidArgumentError naming "objective"
        return objective
