"""Liveness and readiness, for load balancers and orchestrators (no key needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from toolwise.service.backend import BreakerState
from toolwise.service.state import ServiceState, service_state

__all__ = ["router"]

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    """``ready`` when the store answered; recording still works when it does not (calls wait
    in the spool), so a not-ready server is degraded, not down."""

    ready: bool
    store: str
    breaker: BreakerState
    pending: int
    detail: str = ""


@router.get("/healthz", summary="The process is up")
async def healthz() -> Alive:
    return Alive()


@router.get(
    "/readyz",
    summary="The store is reachable",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The store is not reachable"}},
)
def readyz(state: Annotated[ServiceState, Depends(service_state)]) -> JSONResponse:
    health = state.backend.health()
    body = Readiness(
        ready=health.reachable,
        store="reachable" if health.reachable else "unreachable",
        breaker=health.breaker,
        pending=health.pending,
        detail=health.detail,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if health.reachable else 503)
