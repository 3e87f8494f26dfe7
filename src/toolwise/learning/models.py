"""What the learning layer hands back: priors, recommendations, infrastructure events, weights.

Outputs are frozen pydantic models (change by ``model_copy``). :class:`ObjectiveWeights` is the
one input model here: it validates like every boundary model and names the bad field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from toolwise.errors import InvalidArgumentError
from toolwise.models import BoundaryModel as _Boundary
from toolwise.models import InfraEventSummary

__all__ = [
    "Confidence",
    "InfraEvent",
    "Objective",
    "ObjectiveWeights",
    "Recommendation",
    "ScoreBreakdown",
    "Strategy",
    "ToolPrior",
    "resolve_objective",
]

Confidence = Literal["low", "medium", "high"]
"""How much evidence backs an estimate: < 5, 5–20, ≥ 20 effective observations."""

Strategy = Literal["thompson", "ucb", "epsilon_greedy", "greedy"]
"""How a success rate is picked from the posterior before scoring (see ``strategies``)."""

Weight = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class ObjectiveWeights(_Boundary):
    """Relative weights of success, speed and cost in a score; normalised to sum to 1.

    Args:
        success: weight of the (sampled) success rate.
        speed: weight of ``max(0, 1 - p50 latency / ceiling)``.
        cost: weight of ``1 / (1 + mean cost / cost_reference)``.

    Raises:
        InvalidArgumentError: a weight is negative or not finite, or all three are zero.
    """

    success: Weight = 0.0
    speed: Weight = 0.0
    cost: Weight = 0.0

    @model_validator(mode="after")
    def _not_all_zero(self) -> ObjectiveWeights:
        if self.success + self.speed + self.cost <= 0.0:
            msg = "at least one weight must be positive"
            raise ValueError(msg)
        return self

    def normalized(self) -> ObjectiveWeights:
        """The same trade-off with weights summing to 1, so scores stay in [0, 1]."""
        total = self.success + self.speed + self.cost
        return ObjectiveWeights(
            success=self.success / total, speed=self.speed / total, cost=self.cost / total
        )


Objective = Literal["balanced", "latency", "cost"] | ObjectiveWeights | Mapping[str, float]
"""A named trade-off, explicit :class:`ObjectiveWeights`, or a mapping of the same fields."""

PRESETS: dict[str, ObjectiveWeights] = {
    # 0.7 / 0.3 is the memory-server recipe's weighting; the other two shift it as it suggests.
    "balanced": ObjectiveWeights(success=0.7, speed=0.3, cost=0.0),
    "latency": ObjectiveWeights(success=0.4, speed=0.6, cost=0.0),
    "cost": ObjectiveWeights(success=0.5, speed=0.1, cost=0.4),
}


# Normalised once: a recommend resolves its objective every call, and a frozen model can be
# shared.
_NORMALIZED: dict[str, ObjectiveWeights] = {name: w.normalized() for name, w in PRESETS.items()}


def resolve_objective(objective: object) -> ObjectiveWeights:
    """Turn any accepted ``objective`` into normalised weights.

    Raises:
        InvalidArgumentError: naming ``"objective"`` for an unknown name, an unknown key, a
            negative or non-finite weight, or all-zero weights.
    """
    if isinstance(objective, str):
        if objective not in PRESETS:
            reason = f"must be one of {sorted(PRESETS)}, ObjectiveWeights or a mapping"
            raise InvalidArgumentError("objective", objective, reason)
        return _NORMALIZED[objective]
    try:
        if isinstance(objective, ObjectiveWeights):
            return objective.normalized()
        if isinstance(objective, Mapping):
            return ObjectiveWeights(**dict(objective)).normalized()
    except InvalidArgumentError as exc:
        raise InvalidArgumentError("objective", objective, str(exc)) from exc
    except TypeError as exc:  # non-string keys in the mapping
        raise InvalidArgumentError("objective", objective, "keys must be field names") from exc
    reason = "must be 'balanced', 'latency', 'cost', ObjectiveWeights or a mapping"
    raise InvalidArgumentError("objective", objective, reason)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ToolPrior(_Frozen):
    """The learnt reliability of one tool for one agent, context and environment.

    ``rate`` is the posterior mean after shrinkage toward the tool's record elsewhere (the
    same estimate ``recommend`` uses); ``successes``/``failures`` are this key's own decayed
    evidence, ``alpha``/``beta`` the full posterior. ``observations`` counts the raw outcomes
    behind the estimate since the last detected change; ``effective_observations`` is their
    decayed weight, which sets ``confidence``.
    """

    tool: str
    agent_id: str
    context_class: str
    environment: str
    time_bucket: str = ""
    rate: float
    confidence: Confidence
    credible_interval: tuple[float, float]
    observations: int
    effective_observations: float
    successes: float
    failures: float
    alpha: float
    beta: float
    mean_latency_ms: float | None = None
    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    mean_cost: float | None = None
    last_errors: tuple[str, ...] = ()
    suggestion: str
    changes: int = 0
    last_change_at: datetime | None = None
    updated_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """A stable key for this prior: agent, tool, context, environment and time bucket."""
        parts = (self.agent_id, self.tool, self.context_class, self.environment)
        key = "|".join(parts)
        return f"{key}|{self.time_bucket}" if self.time_bucket else key

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        """One line for logs and prompts, e.g. ``kubectl_deploy: 91% (high, 47 calls)``."""
        where = f" for {self.context_class}" if self.context_class else ""
        calls = "call" if self.observations == 1 else "calls"
        return (
            f"{self.tool}{where}: {self.rate:.0%} ({self.confidence}, {self.observations} {calls})"
        )


class ScoreBreakdown(_Frozen):
    """The parts of a score: each in [0, 1], and the normalised weights that combined them."""

    success: float
    speed: float
    cost: float
    weights: ObjectiveWeights


class Recommendation(_Frozen):
    """One tool's place in a ranking, with the evidence and the reason behind it.

    ``score`` is what the ranking sorted by: the weighted sum of ``breakdown``, where the
    success part is ``sampled_success`` (a posterior draw for Thompson sampling, an upper
    quantile for UCB, the mean otherwise). ``propensity`` is the probability the strategy had
    of putting this tool first (a Monte Carlo estimate for Thompson sampling, ``None`` when
    disabled); log it with the decision for offline evaluation. ``environments`` says whose
    evidence the estimate used: the environment asked for, or with none given every
    environment the tool has evidence in (pooled, the anchor first); empty when untried.
    """

    tool: str
    rank: int = Field(ge=1)
    score: float
    breakdown: ScoreBreakdown
    rate: float
    sampled_success: float
    observations: int
    effective_observations: float
    confidence: Confidence
    credible_interval: tuple[float, float]
    p50_latency_ms: float | None = None
    mean_cost: float | None = None
    explored: bool = False
    propensity: float | None = Field(default=None, ge=0.0, le=1.0)
    strategy: Strategy
    reason: str
    infra_alert: str | None = None
    environments: tuple[str, ...] = ()


class InfraEvent(InfraEventSummary):
    """Several tools failed together: blamed on infrastructure, not charged to the tools.

    ``failures`` counts every failure inside the event (both those whose charges were
    reverted when it was declared and those never charged while it was active).
    """

    active: bool = False
