"""The JSON bodies and query strings of the HTTP API, and how a body becomes a record.

Request models declare the wire format (and so the OpenAPI schema); the authority on what a
record may hold stays the record builder (:mod:`toolwise.recording.records`) and
:class:`~toolwise.models.ToolOutcome`: every call's fields are built into one, so anything they
refuse is refused here too, as a ``422`` naming the field. Responses reuse the
Python API's models (``ToolOutcome``, ``UsageSummary``, ``ToolPrior``, ``Recommendation``,
``Brief``) unchanged.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    model_validator,
)

from toolwise._calls import FORGET_FLUSH_TIMEOUT
from toolwise.advice.models import MAX_TOP_K, MIN_BUDGET, AdviceOptions, Mode
from toolwise.errors import InvalidArgumentError
from toolwise.learning.models import Strategy
from toolwise.models import MetadataValue, Outcome, ToolOutcome
from toolwise.recording.records import MAX_COST, MAX_LATENCY_MS

__all__ = [
    "MAX_BATCH",
    "AcceptedCalls",
    "AgentList",
    "BriefRequest",
    "CallIn",
    "CallPage",
    "CallQuery",
    "CallsBody",
    "Deleted",
    "ErrorBody",
    "ForgetQuery",
    "ObserveRequest",
    "PriorsQuery",
    "RecommendRequest",
    "SummaryQuery",
    "ToolSpec",
]

MAX_BATCH = 1_000
MAX_FORGET_TIMEOUT = 120.0
"""Longest a ``DELETE`` may wait for the calls recorded before it (it holds a worker)."""
"""Calls per ``POST .../calls``; larger batches are split by the client."""

_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # expiry is timestamp + TTL: must not overflow
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

Latency = Annotated[float, Field(ge=0.0, le=MAX_LATENCY_MS, allow_inf_nan=False)]
Cost = Annotated[float, Field(ge=0.0, le=MAX_COST, allow_inf_nan=False)]
Label = Annotated[str, Field(max_length=256)]
Name = Annotated[str, Field(min_length=1, max_length=256)]


def _iso_text(value: Any) -> Any:
    """Times arrive as ISO 8601 text; a bare number is refused, not read as epoch seconds."""
    if not isinstance(value, str | datetime) or _NUMBER.fullmatch(str(value).strip()):
        msg = "must be an ISO 8601 date or time, e.g. 2026-03-02T09:00:00Z"
        raise ValueError(msg)
    return value


def _in_range(value: datetime) -> datetime:
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not _EARLIEST <= moment < _LATEST:
        msg = "must be between 1970 and 9000"
        raise ValueError(msg)
    return moment


Moment = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_range),
    Field(strict=False, json_schema_extra={"format": "date-time"}),
]
"""A point in time in UTC (naive is read as UTC)."""


class _Body(BaseModel):
    """Request bodies: unknown fields are refused (a typo must not pass silently), and JSON
    types are taken as they are (``"yes"`` is not a boolean, ``"5"`` not a number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CallIn(_Body):
    """One tool call, as a non-Python agent reports it (the fields of ``ToolOutcome``).

    ``id`` makes a retry idempotent: send the same id again and the record is replaced, never
    counted twice. ``tool_input``/``tool_output`` take any JSON; they are redacted and stored
    as text, cut to the server's payload limit. ``success: false`` is shorthand for
    ``outcome: "failure"``. Carry the ``decision_id`` of the brief that preceded the call: the
    server fills in the tool it recommended, so adherence is measured.
    """

    id: str | None = Field(default=None, min_length=1, max_length=128)
    tool: Name
    outcome: Outcome | None = None
    success: bool | None = None
    quality: float | None = Field(default=None, ge=0.0, le=1.0, allow_inf_nan=False)
    latency_ms: Latency = 0.0
    cost: Cost = 0.0
    error_type: str = ""
    error_message: str = ""
    judged_by: Label = ""
    tool_input: JsonValue = None
    tool_output: JsonValue = None
    task_type: Label = ""
    task: str = ""
    environment: Label = ""
    session_id: Label = ""
    run_id: Label = ""
    tool_call_id: Label = ""
    timestamp: Moment | None = None
    attempt: int = Field(default=1, ge=1, le=1_000)
    tags: list[Label] = Field(default_factory=list, max_length=50)
    metadata: dict[str, MetadataValue] = Field(default_factory=dict, max_length=50)
    decision_id: Label = ""
    recommended_tool: Label = ""

    def record_fields(self, agent_id: str, *, where: str = "") -> dict[str, Any]:
        """The fields of the record this call becomes, for the record builder (which
        validates, redacts and bounds them once, as it does every record's).

        Raises:
            InvalidArgumentError: ``success`` contradicts ``outcome`` (the field prefixed
                with ``where`` in a batch).
        """
        outcome = self.outcome
        if self.success is not None:
            implied: Outcome = "success" if self.success else "failure"
            if outcome is not None and outcome != implied:
                raise InvalidArgumentError(
                    f"{where}success", self.success, f"contradicts outcome {outcome!r}"
                )
            outcome = implied
        # The model's own values, not a model_dump's copies: the builder copies what it keeps.
        fields = {name: value for name, value in self.__dict__.items() if name not in _WIRE_ONLY}
        fields.update(
            agent_id=agent_id,
            outcome=outcome or "success",
            tool_input=_as_text(self.tool_input),
            tool_output=_as_text(self.tool_output),
            source="http",
        )
        if self.id is not None:
            fields["id"] = self.id
        if self.timestamp is not None:
            fields["timestamp"] = self.timestamp
        return fields


_WIRE_ONLY = frozenset({"id", "outcome", "success", "timestamp", "tool_input", "tool_output"})
"""``CallIn`` fields that :meth:`CallIn.record_fields` turns into record fields itself."""


def _as_text(value: JsonValue) -> str:
    """JSON text of a structured value (the record builder redacts and cuts it)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _batch_or_one(value: Any) -> str:
    return "batch" if isinstance(value, list) else "one"


CallsBody = Annotated[
    Annotated[CallIn, Tag("one")]
    | Annotated[list[CallIn], Tag("batch"), Field(min_length=1, max_length=MAX_BATCH)],
    Discriminator(_batch_or_one),
]
"""``POST .../calls`` takes one call or a JSON array of up to 1,000."""


class AcceptedCalls(BaseModel):
    """What ``POST .../calls`` answers with ``202``: the records are spooled durably and will
    reach the store shortly (reads flush first, so a following ``GET`` sees them)."""

    accepted: int
    ids: list[str]


class CallPage(BaseModel):
    """A page of calls, newest first. Pass ``next_cursor`` as ``cursor`` for the next page
    (stable while new calls arrive); ``null`` when this page is the last."""

    calls: list[ToolOutcome]
    next_cursor: str | None = None


class AgentList(BaseModel):
    """The agent ids a key may see (every agent with records, for an admin key)."""

    agents: list[str]


class Deleted(BaseModel):
    """How many records ``DELETE`` removed."""

    deleted: int


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallQuery(_Query):
    """Filters and paging of ``GET .../calls``: ``limit`` with ``offset``, or ``cursor``."""

    tool: Label | None = None
    session_id: Label | None = None
    task_type: Label | None = None
    environment: Label | None = None
    outcome: Outcome | None = None
    since: Moment | None = None
    until: Moment | None = None
    limit: int = Field(default=50, ge=1, le=1_000)
    offset: int = Field(default=0, ge=0, le=1_000_000)
    cursor: str | None = Field(default=None, max_length=512)


class ForgetOneQuery(_Query):
    """How long ``DELETE`` waits for the calls recorded before it to be stored."""

    timeout: float = Field(
        default=FORGET_FLUSH_TIMEOUT,
        ge=0,
        le=MAX_FORGET_TIMEOUT,
        description="Seconds to wait for the calls recorded before to be stored; if they "
        "cannot be, nothing is deleted (503).",
    )


class ForgetQuery(ForgetOneQuery):
    """Which records ``DELETE .../calls`` removes: exactly one of a tool, ids, or everything."""

    tool: Name | None = None
    ids: list[Annotated[str, Field(max_length=128)]] | None = Field(default=None, max_length=1_000)
    everything: bool = False


class SummaryQuery(_Query):
    """``since``: only calls at or after this time."""

    since: Moment | None = None


class PriorsQuery(_Query):
    """Filters of ``GET .../priors``."""

    tool: Label | None = None
    task_type: Label | None = None
    environment: Label | None = None
    limit: int | None = Field(default=None, ge=1, le=10_000)


class ObserveRequest(_Body):
    """One judged outcome (seed 002's ``observe``): ``success`` true/false or a quality."""

    tool: Name
    success: bool | Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
    task_type: Label = ""
    environment: Label = ""
    weight: float = Field(default=1.0, ge=0.0, le=1_000.0, allow_inf_nan=False)
    latency_ms: Latency | None = None
    cost: Cost | None = None


ObjectiveName = Literal["balanced", "latency", "cost"]


class ObjectiveWeightsIn(_Body):
    """Relative weights of success, speed and cost (at least one positive)."""

    success: float = Field(default=0.0, ge=0.0, le=1_000.0, allow_inf_nan=False)
    speed: float = Field(default=0.0, ge=0.0, le=1_000.0, allow_inf_nan=False)
    cost: float = Field(default=0.0, ge=0.0, le=1_000.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _not_all_zero(self) -> ObjectiveWeightsIn:
        if self.success + self.speed + self.cost <= 0.0:
            msg = "at least one weight must be positive"
            raise ValueError(msg)
        return self


class RecommendRequest(_Body):
    """Rank ``tools`` for ``task_type``."""

    task_type: Label = ""
    tools: list[Name] = Field(min_length=1, max_length=100)
    environment: Label = ""
    objective: ObjectiveName | ObjectiveWeightsIn = "balanced"
    strategy: Strategy = "thompson"
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class ToolSpec(_Body):
    """A candidate tool; the description lets the brief spot destructive tools."""

    name: Name
    description: str = Field(default="", max_length=4_000)


class BriefRequest(_Body):
    """What ``POST .../brief`` briefs on, like one model turn of a Python agent.

    ``task`` is the user's request (the latest human message); ``task_type`` when known
    (else inferred from ``task``); ``tools`` the candidates, by name or with a description.
    """

    task: str = Field(default="", max_length=20_000)
    task_type: Label = ""
    tools: list[Name | ToolSpec] = Field(min_length=1, max_length=100)
    environment: Label = ""
    mode: Mode = "advise"
    top_k: int = Field(default=8, ge=0, le=MAX_TOP_K)
    budget: int = Field(default=1_200, ge=MIN_BUDGET, le=100_000)
    strategy: Strategy = "thompson"
    objective: ObjectiveName | ObjectiveWeightsIn = "balanced"

    def advice_options(
        self, recall_budget: float | None, *, recall_index: bool = False
    ) -> AdviceOptions:
        """The options of the pre-selection core that answers this brief (``recall_budget``
        and ``recall_index``: the server's, :class:`~toolwise.service.state.ServiceConfig`)."""
        return AdviceOptions(
            recall_budget=recall_budget,
            recall_index=recall_index,
            mode=self.mode,
            top_k=self.top_k,
            budget=self.budget,
            strategy=self.strategy,
            objective=objective_of(self.objective),
        )


def objective_of(value: ObjectiveName | ObjectiveWeightsIn) -> Any:
    """A named objective, or the weights as the learning API takes them."""
    return value if isinstance(value, str) else value.model_dump()


class ErrorBody(BaseModel):
    """Every error answer: a stable code, a message, and for bad input the field at fault."""

    error: str
    message: str
    field: str | None = None
    location: Literal["body", "query", "path", "header"] | None = None
