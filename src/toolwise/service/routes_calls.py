"""The tracking API (seed 001): record calls, list them, read one, forget, summarise."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Depends, Path, Query, Request, status
from fastapi.responses import Response

from toolwise.errors import InvalidArgumentError
from toolwise.models import ToolOutcome, UsageSummary
from toolwise.service.auth import Principal, ReadAgent, WriteAgent, current_principal
from toolwise.service.errors import ERROR_RESPONSES, ApiError
from toolwise.service.offload import blocking
from toolwise.service.overview import Overview, build_overview
from toolwise.service.paging import page_of_calls
from toolwise.service.schemas import (
    AcceptedCalls,
    AgentList,
    CallIn,
    CallPage,
    CallQuery,
    CallsBody,
    Deleted,
    ForgetOneQuery,
    ForgetQuery,
    SummaryQuery,
)
from toolwise.service.state import ServiceState, service_state, state_of
from toolwise.storage.protocol import CallFilter

__all__ = [
    "RecordFields",
    "accepted_response",
    "fields_of",
    "is_small",
    "router",
    "store_calls",
]

router = APIRouter(prefix="/v1", tags=["calls"], responses=ERROR_RESPONSES)
State = Annotated[ServiceState, Depends(service_state)]
CallId = Annotated[str, Path(min_length=1, max_length=128, description="The call's id.")]


@router.get("/agents", summary="The agents this key may see")
@blocking
def list_agents(
    state: State, principal: Annotated[Principal, Depends(current_principal)]
) -> AgentList:
    if principal.key is not None and not principal.key.admin:
        return AgentList(agents=sorted(principal.key.agents))
    return AgentList(agents=sorted(state.backend.agents()))


@router.post(
    "/agents/{agent}/calls",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Record one call or a batch",
    response_model=AcceptedCalls,
)
async def record_calls(
    agent: WriteAgent, request: Request, body: Annotated[CallsBody, Body()]
) -> Response:
    """Accepted once every call is spooled durably on the server; it reaches the store
    shortly after. Send a call's ``id`` to make a retry idempotent. A batch is all or
    nothing: one invalid call refuses the whole batch (``422`` naming it, e.g. ``[3].tool``).
    """
    # The hot path: the state is read off the request (not a dependency), and the answer is
    # encoded here (FastAPI would validate it against the model again first). Well-formed
    # calls usually do not get here: ``short_path.ShortPath`` answers them with these same
    # helpers before routing.
    state = state_of(request)
    if is_small(body):
        accepted = store_calls(state, fields_of(state, agent, body))
    else:
        accepted = await anyio.to_thread.run_sync(functools.partial(_record, state, agent, body))
    return accepted_response(accepted)


# Recording a call costs ~0.2 ms of CPU and a write to the spool file (page cache): cheaper
# on the event loop than the hand-off to a worker thread, which on a busy machine waits for
# a core (measured: ~9 ms per request under load). Big batches go to a thread.
_INLINE_CALLS = 20


def is_small(body: CallIn | list[CallIn]) -> bool:
    """Whether a body is recorded on the event loop (one call, or a batch of up to 20)."""
    return not isinstance(body, list) or len(body) <= _INLINE_CALLS


RecordFields = dict[str, Any]
"""The fields of one record, as :meth:`CallIn.record_fields` gives them."""


def fields_of(
    state: ServiceState, agent: str, body: CallIn | list[CallIn]
) -> RecordFields | list[RecordFields]:
    """The record fields a body gives, labelled by the decisions they name; nothing is
    built or written yet (one call's, or a batch's list).

    Raises:
        InvalidArgumentError: ``success`` contradicts ``outcome`` (``[3].success`` in a batch).
    """
    if not isinstance(body, list):
        return state.decisions.complete(agent, body).record_fields(agent)
    return [
        state.decisions.complete(agent, call).record_fields(agent, where=f"[{i}].")
        for i, call in enumerate(body)
    ]


def store_calls(state: ServiceState, fields: RecordFields | list[RecordFields]) -> AcceptedCalls:
    """Build each record once (validated, redacted, bounded) and spool them durably, all or
    nothing; what ``202`` reports.

    Raises:
        InvalidArgumentError: naming the field (``[3].cost`` in a batch); nothing recorded.
    """
    if isinstance(fields, list):
        stored = state.backend.record_many(fields)
    else:
        stored = [state.backend.record(fields)]
    return AcceptedCalls(accepted=len(stored), ids=[o.id for o in stored])


def accepted_response(accepted: AcceptedCalls) -> Response:
    """The ``202`` answer, encoded once."""
    return Response(
        accepted.model_dump_json(),
        status_code=status.HTTP_202_ACCEPTED,
        media_type="application/json",
    )


def _record(state: ServiceState, agent: str, body: CallIn | list[CallIn]) -> AcceptedCalls:
    return store_calls(state, fields_of(state, agent, body))


@router.get("/agents/{agent}/calls", summary="List calls, newest first")
@blocking
def list_calls(agent: ReadAgent, state: State, query: Annotated[CallQuery, Query()]) -> CallPage:
    """Filter by tool, session, task type, environment, outcome and time (``since``
    inclusive, ``until`` exclusive); page with ``limit``/``offset`` or ``cursor``."""
    if query.cursor is not None and query.offset:
        raise InvalidArgumentError("offset", query.offset, "give offset or cursor, not both")
    call_filter = CallFilter(
        tool=query.tool,
        session_id=query.session_id,
        task_type=query.task_type,
        environment=query.environment,
        outcome=query.outcome,
        since=query.since,
        until=query.until,
    )
    calls, cursor = page_of_calls(
        state.backend,
        agent,
        call_filter,
        limit=query.limit,
        offset=query.offset,
        cursor=query.cursor,
    )
    return CallPage(calls=calls, next_cursor=cursor)


@router.get("/agents/{agent}/calls/{call_id}", summary="One call")
@blocking
def get_call(agent: ReadAgent, call_id: CallId, state: State) -> ToolOutcome:
    found = state.backend.get_call(call_id, agent_id=agent)
    if found is None:
        raise ApiError(404, "not_found", f"no call {call_id!r} for agent {agent!r}")
    return found


@router.delete("/agents/{agent}/calls", summary="Forget calls: a tool's, some ids, or all")
@blocking
def forget_calls(
    agent: WriteAgent, state: State, query: Annotated[ForgetQuery, Query()]
) -> Deleted:
    """Exactly one of ``tool`` (retire a tool), ``ids`` (repeat the parameter), or
    ``everything=true``; an empty selection is refused, never read as "all"."""
    chosen = [
        name
        for name, given in (
            ("tool", query.tool is not None),
            ("ids", query.ids is not None),
            ("everything", query.everything),
        )
        if given
    ]
    if len(chosen) != 1:
        raise ApiError(
            422,
            "invalid_argument",
            "give exactly one of tool, ids or everything=true",
            field=chosen[-1] if chosen else "tool",
            location="query",
        )
    if query.ids is not None:
        ids = [i.strip() for i in query.ids if i.strip()]
        if not ids:
            raise ApiError(
                422,
                "invalid_argument",
                "ids: must name at least one id",
                field="ids",
                location="query",
            )
        return Deleted(deleted=state.backend.forget(agent, ids=ids, timeout=query.timeout))
    return Deleted(deleted=state.backend.forget(agent, tool=query.tool, timeout=query.timeout))


@router.delete("/agents/{agent}/calls/{call_id}", summary="Forget one call")
@blocking
def forget_call(
    agent: WriteAgent, call_id: CallId, state: State, query: Annotated[ForgetOneQuery, Query()]
) -> Deleted:
    if not call_id.strip():
        raise ApiError(422, "invalid_argument", "call_id: must not be blank", field="call_id")
    deleted = state.backend.forget(agent, ids=[call_id], timeout=query.timeout)
    if not deleted:
        raise ApiError(404, "not_found", f"no call {call_id!r} for agent {agent!r}")
    return Deleted(deleted=deleted)


@router.get("/agents/{agent}/summary", summary="Usage per tool")
@blocking
def summary(
    agent: ReadAgent, state: State, query: Annotated[SummaryQuery, Query()]
) -> UsageSummary:
    """Total calls and success rate; per tool: calls, success rate, latency mean/p50/p95,
    cost and the last error; outages; how often advice was followed and how it fared."""
    return state.backend.summary(agent, since=query.since)


@router.get("/agents/{agent}/overview", summary="What the dashboard shows for one agent")
@blocking
def overview(agent: ReadAgent, state: State) -> Overview:
    """Per tool: success rate with its 90 % interval, p50/p95 latency, cost; recent
    failures; the success rate over time (the learning curve). Reused for a few seconds."""
    return state.overviews.get(
        agent, lambda: build_overview(agent, state.backend.iter_calls(agent))
    )
