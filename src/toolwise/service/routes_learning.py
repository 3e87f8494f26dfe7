"""The learning API (seed 002 and pre-selection): observe, priors, recommend, brief."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from toolwise.advice.models import Brief
from toolwise.learning.models import Recommendation, ToolPrior
from toolwise.service.auth import ReadAgent, WriteAgent
from toolwise.service.errors import ERROR_RESPONSES
from toolwise.service.offload import blocking
from toolwise.service.schemas import (
    BriefRequest,
    ObserveRequest,
    PriorsQuery,
    RecommendRequest,
    objective_of,
)
from toolwise.service.state import ServiceState, service_state

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["learning"], responses=ERROR_RESPONSES)
State = Annotated[ServiceState, Depends(service_state)]


@router.post("/agents/{agent}/observe", summary="Record one judged outcome; the new prior")
@blocking
def observe(agent: WriteAgent, state: State, body: ObserveRequest) -> ToolPrior:
    """Seed 002's ``observe``: ``success`` true/false (or a quality in [0, 1]) for a tool in
    a task type, with a weight. Stored like every record, so it survives restarts."""
    return state.backend.observe(
        body.tool,
        body.success,
        agent_id=agent,
        task_type=body.task_type,
        environment=body.environment,
        weight=body.weight,
        latency_ms=body.latency_ms,
        cost=body.cost,
    )


@router.get("/agents/{agent}/priors", summary="Learnt reliability per tool and task type")
@blocking
def priors(
    agent: ReadAgent, state: State, query: Annotated[PriorsQuery, Query()]
) -> list[ToolPrior]:
    """Rate, 90 % credible interval, confidence (low < 5, medium 5–20, high ≥ 20
    observations), latency, cost and a suggestion, per tool, task type and environment."""
    return state.backend.priors(
        agent_id=agent,
        tool=query.tool,
        task_type=query.task_type,
        environment=query.environment,
        limit=query.limit,
    )


@router.post("/agents/{agent}/recommend", summary="Rank tools for a task type")
@blocking
def recommend(agent: ReadAgent, state: State, body: RecommendRequest) -> list[Recommendation]:
    """Best first, each with its score broken down and a reason; untried tools are explored
    (the strategy samples), so two calls may rank differently."""
    return state.backend.recommend(
        body.task_type,
        list(dict.fromkeys(body.tools)),
        agent_id=agent,
        environment=body.environment,
        objective=objective_of(body.objective),
        strategy=body.strategy,
        seed=body.seed,
    )


@router.post("/agents/{agent}/brief", summary="Pre-selection: the brief for one model turn")
@blocking
def brief(agent: ReadAgent, state: State, body: BriefRequest) -> Brief:
    """The brief and decision a Python agent's pre-selection would make for this turn: put
    ``text`` in front of the model, and send ``decision_id`` with the calls that follow."""
    config = state.config
    advisor = state.advisor(
        body.advice_options(config.recall_budget, recall_index=config.recall_index)
    )
    tools = [
        tool if isinstance(tool, str) else {"name": tool.name, "description": tool.description}
        for tool in body.tools
    ]
    labels = {"agent_id": agent, "environment": body.environment, "task_type": body.task_type}
    decision = advisor.advise(
        messages=[{"role": "user", "content": body.task}] if body.task else [],
        state={"toolwise": {k: v for k, v in labels.items() if v}},
        tools=tools,
    )
    state.decisions.remember(decision)
    return decision
