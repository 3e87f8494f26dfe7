"""What self-improvement produces: lessons, runs, demonstrations, composites, audit entries.

Every model is frozen (change by ``model_copy``) and validated at the boundary: a bad field
raises :class:`~toolwise.errors.InvalidArgumentError` naming it. Models travel to and from
Chroma as JSON, so each round-trips through ``model_dump_json`` / ``model_validate_json``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from toolwise.models import BoundaryModel as _Boundary
from toolwise.models import Outcome

__all__ = [
    "AUDIT_KINDS",
    "AuditEntry",
    "AuditKind",
    "CompositeSpec",
    "DemoStep",
    "Demonstration",
    "FieldMapping",
    "ImprovementReport",
    "Lesson",
    "PermissionLevel",
    "PromptVersion",
    "RefinementResult",
    "RefinementStatus",
    "Run",
    "RunStep",
]

PermissionLevel = Literal["sandbox", "restricted", "full"]
"""What a composite may do: nothing outside (no network, no file writes), write files but no
network, or everything. Promoted one step at a time by its own recorded success rate."""

PERMISSION_ORDER: tuple[PermissionLevel, ...] = ("sandbox", "restricted", "full")

AuditKind = Literal[
    "lesson.added",
    "lesson.merged",
    "lesson.dropped",
    "lesson.rejected",
    "demonstration.added",
    "demonstration.replaced",
    "demonstration.dropped",
    "composite.proposed",
    "composite.rejected",
    "composite.promoted",
    "composite.retired",
    "prompt.revised",
    "prompt.rejected",
    "prompt.rolled_back",
    "records.forgotten",
]
AUDIT_KINDS: tuple[AuditKind, ...] = AuditKind.__args__  # type: ignore[attr-defined]

RefinementStatus = Literal["accepted", "rejected", "malformed", "unchanged"]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""A timestamp stored in UTC (naive values are taken as UTC)."""


class Lesson(_Boundary):
    """One rule distilled from a failure or a cluster of similar failures.

    ``support`` counts the failures behind it (merged lessons add up); ``source_ids`` keeps
    the most recent of their record ids (at most 50) so forgetting records can drop it.
    """

    id: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=500)
    tool: str = ""
    error_type: str = ""
    task_type: str = ""
    environment: str = ""
    message: str = ""
    support: int = Field(default=1, ge=1)
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    source: Literal["template", "model"] = "template"
    source_ids: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()

    @property
    def document(self) -> str:
        """The text embedded for retrieval: the rule plus the tasks it came from."""
        tasks = " ".join(self.tasks)
        return f"{self.text} {self.task_type.replace('_', ' ')} {tasks}".strip()


class RunStep(_Boundary):
    """One call in a run: the tool, its verdict and the *shape* of its arguments (no values)."""

    tool: str = Field(min_length=1)
    outcome: Outcome
    args_shape: dict[str, str] = Field(default_factory=dict)
    record_id: str = ""
    error_type: str = ""
    attempt: int = Field(default=1, ge=1)
    timestamp: UtcDatetime


class Run(_Boundary):
    """Recorded calls of one task in one session, oldest first, with a score in [0, 1].

    The score is the records' ``metadata["run_score"]`` when the caller judged the run, else
    the mean quality of its calls.
    """

    key: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    task: str = ""
    task_type: str = ""
    environment: str = ""
    steps: tuple[RunStep, ...] = Field(min_length=1)
    score: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)

    @property
    def tools(self) -> tuple[str, ...]:
        """The tool sequence, with consecutive retries of one tool collapsed to one step."""
        names: list[str] = []
        for step in self.steps:
            if not names or step.tool != names[-1]:
                names.append(step.tool)
        return tuple(names)

    @property
    def started_at(self) -> datetime:
        return self.steps[0].timestamp

    @property
    def ended_at(self) -> datetime:
        return self.steps[-1].timestamp

    @property
    def succeeded(self) -> bool:
        """Ended well: its last call succeeded."""
        return self.steps[-1].outcome == "success"

    def summary(self) -> str:
        """One line for a model to read: task, score and the calls with their verdicts."""
        calls = ", ".join(
            f"{s.tool}({s.outcome}{': ' + s.error_type if s.error_type else ''})"
            for s in self.steps
        )
        what = self.task or self.task_type or "(task not recorded)"
        return f"{what[:200]} — score {self.score:.2f} — {calls}"


class DemoStep(_Boundary):
    """A step of a demonstration: tool name and argument shape (``{"service": "str"}``)."""

    tool: str = Field(min_length=1)
    args_shape: dict[str, str] = Field(default_factory=dict)


class Demonstration(_Boundary):
    """A successful run (score ≥ the threshold) kept as a few-shot example; values redacted."""

    id: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    task: str = ""
    task_type: str = ""
    environment: str = ""
    steps: tuple[DemoStep, ...] = Field(min_length=1)
    score: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    recorded_at: UtcDatetime
    record_ids: tuple[str, ...] = ()

    @property
    def document(self) -> str:
        """The text embedded for retrieval: the task, its type and the tools used."""
        tools = " ".join(s.tool for s in self.steps)
        return f"{self.task} {self.task_type.replace('_', ' ')} {tools}".strip()

    def render(self) -> str:
        """``Task: … → kubectl_deploy(service: str) → helm_upgrade(release: str)``."""
        calls = " → ".join(
            f"{s.tool}({', '.join(f'{k}: {v}' for k, v in s.args_shape.items())})"
            for s in self.steps
        )
        what = self.task or self.task_type or "(task not recorded)"
        return f"Task: {what[:200]} → {calls}"


class FieldMapping(_Boundary):
    """Composite argument ``field`` feeds argument ``argument`` of step ``step`` (0-based)."""

    field: str = Field(min_length=1)
    step: int = Field(ge=0)
    argument: str = Field(min_length=1)


class CompositeSpec(_Boundary):
    """A proposed tool chaining existing tools; the runnable tool is built from it on demand.

    ``level`` only rises by the composite's own recorded success since ``level_since``
    (see :class:`~toolwise.improve.config.PromotionPolicy`); a retired composite never runs.
    """

    name: str = Field(min_length=1, max_length=64)
    agent_id: str = Field(min_length=1)
    tools: tuple[str, ...] = Field(min_length=2)
    description: str = ""
    arguments: tuple[FieldMapping, ...] = ()
    level: PermissionLevel = "sandbox"
    status: Literal["active", "retired"] = "active"
    occurrences: int = Field(default=0, ge=0)
    validated_replays: int = Field(default=0, ge=0)
    proposed_at: UtcDatetime
    level_since: UtcDatetime


class AuditEntry(_Boundary):
    """One change made by self-improvement: what, to what, before and after, why and when.

    ``sequence`` orders entries written in the same instant by one process.
    """

    id: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    kind: AuditKind
    subject: str = ""
    before: str = ""
    after: str = ""
    reason: str = ""
    timestamp: UtcDatetime
    sequence: int = Field(default=0, ge=0)
    actor: str = "toolwise.improve"


class PromptVersion(_Boundary):
    """A system prompt in an agent's history; version 0 is the original, kept for rollback.

    ``parent`` is the version that was in force when this one was adopted (rollback target).
    """

    version: int = Field(ge=0)
    text: str
    created_at: UtcDatetime
    reason: str = ""
    score: float | None = None
    parent: int | None = None


class RefinementResult(_Boundary):
    """What the prompt gate decided and why; ``prompt`` is the prompt to use from now on.

    Attributes:
        status: ``accepted`` (``prompt`` is the candidate), ``rejected`` (a bound, drift or
            the validation gate failed), ``malformed`` (the model's output was unusable) or
            ``unchanged`` (the model proposed the same prompt).
        baseline_score / candidate_score: mean validation scores; ``None`` when the gate did
            not run because an earlier check failed.
        changed_lines: lines changed by the candidate (``difflib``), ``None`` if malformed.
        similarity: embedding cosine between the original prompt and the candidate.
    """

    status: RefinementStatus
    prompt: str
    original: str
    candidate: str = ""
    baseline_score: float | None = None
    candidate_score: float | None = None
    changed_lines: int | None = None
    similarity: float | None = None
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


class ImprovementReport(_Boundary):
    """What one pass of the improvement loop did for one agent (every change is also audited).

    ``records_scanned`` counts the records no earlier pass had read (0: the pass changed
    nothing); ``failures_scanned`` the failures among them. ``demonstrations_replaced`` counts
    demonstrations that took another's place (a better run), each one audit entry.
    """

    agent_id: str
    started_at: datetime
    failures_scanned: int = 0
    records_scanned: int = 0
    lessons_added: int = 0
    lessons_merged: int = 0
    lessons_dropped: int = 0
    lessons_rejected: int = 0
    demonstrations_added: int = 0
    demonstrations_replaced: int = 0
    demonstrations_dropped: int = 0
    composites_proposed: int = 0
    composites_rejected: int = 0
    composites_promoted: int = 0
    composites_retired: int = 0
    refinement: RefinementResult | None = None
