"""Liveness and readiness, for load balancers and orchestrators (no key needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from toolwise.service.backend import BreakerState
from toolwise.service.state import ServiceState, service_state

__all__ = ["router"]

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    """``ready`` when the store's circuit breaker is closed and the store answered a cheap
    question; recording still works when it is not (calls wait in the spool), so a not-ready
    server is degraded, not down. While the breaker is open the answer comes from it alone,
    at once: no store call is made that could hang."""

    ready: bool
    store: Literal["reachable", "unreachable"]
    breaker: BreakerState = Field(
        description="The store's circuit breaker: `open` fails store calls fast until a "
        "background probe succeeds; `unknown` for a store without one."
    )
    breaker_since: datetime | None = Field(description="When the breaker last opened or closed.")
    seconds_since_failure: float | None = Field(
        description="How long ago a store call or probe last failed; null if none has."
    )
    pending: int = Field(description="Records spooled on this server, not yet in the store.")
    slow_calls: int = Field(
        default=0,
        description="Store calls that missed their deadline while the store still answered a "
        "heartbeat, since the server started: a busy store, not a down one (they open no "
        "breaker).",
    )
    detail: str = Field(default="", description="Why the store is not reachable.")


@router.get("/healthz", summary="The process is up")
async def healthz() -> Alive:
    return Alive()


@router.get(
    "/readyz",
    summary="The store is reachable and its circuit breaker closed",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The store is not reachable"}},
)
def readyz(state: Annotated[ServiceState, Depends(service_state)]) -> JSONResponse:
    health = state.backend.health()
    failed = None
    if health.failed_at is not None:
        failed = max(0.0, round((datetime.now(UTC) - health.failed_at).total_seconds(), 3))
    body = Readiness(
        ready=health.reachable,
        store="reachable" if health.reachable else "unreachable",
        breaker=health.breaker,
        breaker_since=health.breaker_since,
        seconds_since_failure=failed,
        pending=health.pending,
        slow_calls=health.slow_calls,
        detail=health.detail,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if health.reachable else 503)
