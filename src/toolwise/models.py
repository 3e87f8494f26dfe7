"""The records toolwise keeps and returns, validated where they cross the API boundary.

Records are immutable: change one with ``model_copy(update=...)``. Constructing a model with a
bad field raises :class:`~toolwise.errors.InvalidArgumentError` naming that field, never a bare
pydantic error, so callers catch one hierarchy.
"""

from __future__ import annotations

import math
import os
import random
import re
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolwise.errors import InvalidAgentIdError, InvalidArgumentError

__all__ = [
    "NOT_CHARGED",
    "OUTCOMES",
    "BoundaryModel",
    "InfraEventSummary",
    "MetadataValue",
    "Outcome",
    "PoolUsage",
    "ToolOutcome",
    "ToolStats",
    "UsageSummary",
    "check_agent_id",
    "grade_importance",
    "has_control_characters",
    "new_id",
    "utcnow",
]

Outcome = Literal["success", "partial", "failure", "refused", "invalid_arguments"]
"""``refused`` is a human declining a confirmation; ``invalid_arguments`` is the model calling a
tool with arguments its schema rejects. Both are recorded, but never charged to the tool."""

OUTCOMES: tuple[Outcome, ...] = ("success", "partial", "failure", "refused", "invalid_arguments")
NOT_CHARGED: frozenset[str] = frozenset({"refused", "invalid_arguments"})
"""Outcomes that say nothing about the tool's reliability (it did not run its work)."""
DEFAULT_QUALITY: dict[str, float] = {
    "success": 1.0,
    "partial": 0.5,
    "failure": 0.0,
    "refused": 0.0,
    "invalid_arguments": 0.0,
}

MetadataValue = str | int | float | bool
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_AGENT_ID = 200


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a C0 control character or DEL: names printed one per line
    (agent ids, tool names, key labels) refuse them, since a newline would forge a line."""
    return _CONTROL.search(text) is not None


def check_agent_id(agent_id: str) -> str:
    """``agent_id`` itself if it can name a namespace: the one agent-id validator.

    Raises:
        InvalidAgentIdError: empty, blank, too long (> 200), containing control characters
            or invisible format characters (U+202E), or not valid Unicode text (a lone
            surrogate).
    """
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise InvalidAgentIdError("agent_id", agent_id, "must be a non-blank string")
    if len(agent_id) > MAX_AGENT_ID:
        raise InvalidAgentIdError("agent_id", agent_id, f"must be at most {MAX_AGENT_ID} chars")
    if has_control_characters(agent_id):
        raise InvalidAgentIdError("agent_id", agent_id, "must not contain control characters")
    if not agent_id.isascii():
        try:
            agent_id.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidAgentIdError("agent_id", agent_id, "must be valid Unicode text") from None
        # Invisible format characters (U+202E right-to-left override, zero-width spaces)
        # make two namespaces look alike, or one look like another, in every listing.
        if any(unicodedata.category(c) == "Cf" for c in agent_id):
            raise InvalidAgentIdError(
                "agent_id", agent_id, "must not contain invisible format characters (U+202E …)"
            )
    return agent_id


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind toolwise stores)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh record id: 32 hex characters, stable across spool replays."""
    return f"{_ids.getrandbits(128):032x}"


_ids = random.Random(uuid.uuid4().int)  # unique ids, cheaper than os.urandom per record
# A forked child inherits the generator's state and would repeat the parent's ids — and an
# upsert by a repeated id overwrites the parent's record. Reseed in every child.
os.register_at_fork(after_in_child=lambda: _ids.seed(uuid.uuid4().int))


class BoundaryModel(BaseModel):
    """Base for models built from user input: errors name the field, as a ToolwiseError."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            first = exc.errors()[0]
            original = first.get("ctx", {}).get("error")
            if isinstance(original, InvalidArgumentError):  # keep the subclass a validator chose
                raise original from exc
            field = ".".join(str(part) for part in first["loc"]) or type(self).__name__
            raise InvalidArgumentError(field, first.get("input"), first["msg"]) from exc

    # Tell pydantic this __init__ only translates errors: otherwise it routes every
    # model_validate_json through it and validates each stored record twice (measured: a
    # fifth of a cold rebuild). Direct construction still runs it, so users get the
    # InvalidArgumentError; reads from the spool and the store parse trusted JSON.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


_Boundary = BoundaryModel  # the name other modules used; kept until they all say BoundaryModel


class ToolOutcome(BoundaryModel):
    """One judged tool call: what ran, for which task, how it went, how long, at what cost.

    ``quality`` defaults by outcome (success 1.0, partial 0.5, failure/refused 0.0);
    ``latency_ms`` and ``cost`` must be finite and non-negative. Timestamps are UTC.
    """

    id: str = Field(default_factory=new_id, min_length=1, max_length=128)
    agent_id: str = "default"
    tool: str = Field(min_length=1, max_length=256)
    task_type: str = ""
    task: str = ""
    environment: str = ""
    session_id: str = ""
    run_id: str = ""
    tool_call_id: str = ""
    outcome: Outcome = "success"
    quality: float | None = Field(default=None, ge=0.0, le=1.0, allow_inf_nan=False)
    latency_ms: NonNegative = 0.0
    cost: NonNegative = 0.0
    error_type: str = ""
    error_message: str = ""
    judged_by: str = ""
    """Which judging rule decided ``outcome`` (``"http_status"``, ``"error_prefix"`` …; see
    :class:`toolwise.recording.judge.verdict.Reason`); ``""`` when no rule objected."""
    tool_input: str = ""
    tool_output: str = ""
    timestamp: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    attempt: int = Field(default=1, ge=1)
    tags: tuple[str, ...] = ()
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    source: str = "direct"
    decision_id: str = ""
    recommended_tool: str = ""
    context_key: str = ""

    @field_validator("tool")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            msg = "must not be blank"
            raise ValueError(msg)
        return value

    @field_validator("agent_id")
    @classmethod
    def _namespace(cls, value: str) -> str:
        # Checked here, not first in the writer: an id that cannot name a collection would
        # fail every store write of its batch, retried forever, stalling every agent's records.
        return check_agent_id(value)

    @field_validator("timestamp", "expires_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:  # datetime.min with a positive offset has no UTC time
            msg = "is out of the range of UTC times"
            raise ValueError(msg) from None

    @property
    def effective_quality(self) -> float:
        """Quality used for learning: the judged value, or the outcome's default."""
        return DEFAULT_QUALITY[self.outcome] if self.quality is None else self.quality

    @property
    def succeeded(self) -> bool:
        """True only for a full success (partial results are not counted as successes here)."""
        return self.outcome == "success"

    @property
    def importance(self) -> float:
        """Recall weight graded by outcome, quality and latency; see :func:`grade_importance`."""
        return grade_importance(self.outcome, self.effective_quality, self.latency_ms)

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether the record's TTL has passed at ``now``."""
        return self.expires_at is not None and self.expires_at <= (now or utcnow())


_IMPORTANCE_BASE = {
    "success": 0.88,
    "partial": 0.65,
    "failure": 0.42,
    "refused": 0.3,
    "invalid_arguments": 0.3,
}


def grade_importance(outcome: str, quality: float, latency_ms: float) -> float:
    """Bounded importance in [0.3, 0.95], so recall stays discriminating (no inflation).

    Starts from the memory-server recipe's 0.88 / 0.65 / 0.42 by outcome, scales successes and
    partials by quality, and lets speed move a success by up to ±0.07: a 500 ms success ranks
    above a 55 s one. Failures stay near 0.42 — a failure is still useful negative evidence.
    """
    base = _IMPORTANCE_BASE.get(outcome, 0.5)
    if outcome in ("success", "partial"):
        speed = 1.0 / (1.0 + max(latency_ms, 0.0) / 10_000.0)  # 1.0 at 0 ms, 0.15 at 55 s
        base = base * (0.85 + 0.15 * quality) + 0.07 * (2.0 * speed - 1.0)
    if not math.isfinite(base):
        base = 0.5
    return round(min(0.95, max(0.3, base)), 4)


class ToolStats(BaseModel):
    """Per-tool figures in a usage summary; latencies in milliseconds, cost in user units."""

    model_config = ConfigDict(frozen=True)

    name: str
    call_count: int
    success_count: int
    partial_count: int
    failure_count: int
    refused_count: int = 0
    invalid_arguments_count: int = 0
    """Calls the model made with arguments the tool's schema rejected: the model's mistakes,
    left out of ``success_rate``."""
    success_rate: float
    mean_latency_ms: float
    p50_latency_ms: float
    p95_latency_ms: float
    total_cost: float
    last_error: str = ""


class PoolUsage(BaseModel):
    """A fallback pool in a usage summary: its calls as one tool, its members by name.

    Derived from the members' records (tagged ``pool:<name>``): a pool call is the record of
    its first attempt; a call succeeded when one of its attempts did (a pool records at most
    one success per call); ``fallbacks`` counts calls answered by a later attempt.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    members: list[str]
    call_count: int
    success_count: int
    success_rate: float
    attempt_count: int
    fallbacks: int
    total_cost: float


class InfraEventSummary(BaseModel):
    """A window in which most tools failed together: blamed on infrastructure, not tools."""

    model_config = ConfigDict(frozen=True)

    id: str
    agent_id: str
    environment: str
    started_at: datetime
    ended_at: datetime
    tools: tuple[str, ...]
    failures: int


class UsageSummary(BaseModel):
    """Aggregate usage for one agent (or all): parity with a tool-call tracking API, and more."""

    model_config = ConfigDict(frozen=True)

    agent_id: str | None
    total_calls: int
    success_rate: float
    total_cost: float
    tools: list[ToolStats]
    pools: list[PoolUsage] = Field(default_factory=list)
    """Fallback pools, each as one tool; their members' figures stay in ``tools``."""
    since: datetime | None = None
    infra_events: list[InfraEventSummary] = Field(default_factory=list)
    advice: dict[str, float | None] = Field(default_factory=dict)
    """advised_calls, adherence, followed_calls, ignored_calls, success_when_followed and
    success_when_ignored; a success rate over no calls is ``None`` (shown as "n/a")."""
