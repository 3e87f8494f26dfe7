"""What pre-selection is configured with (:class:`AdviceOptions`) and hands back (:class:`Brief`).

Options are validated once, when an :class:`~toolwise.advice.advisor.Advisor` is built (a bad
value raises :class:`~toolwise.errors.InvalidArgumentError` naming it); a brief is frozen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from toolwise._deprecations import renamed, warn_renamed
from toolwise.advice.fields import (
    AdviceFields,
    BriefOptions,
    Mode,
    TaskQuery,
    TaskResolver,
)
from toolwise.learning.models import Objective, Recommendation, Strategy, resolve_objective
from toolwise.models import BoundaryModel

__all__ = [
    "DEFAULT_DESTRUCTIVE",
    "STATE_KEY",
    "AdviceFields",
    "AdviceOptions",
    "Brief",
    "BriefOptions",
    "Mode",
    "TaskQuery",
    "TaskResolver",
    "TaskSource",
    "tool_name",
]

TaskSource = Literal["given", "resolver", "inferred", "new"]
"""Where a turn's task type came from: config/state/options, the resolver, the nearest known
type, or nowhere (a new task)."""

STATE_KEY = "toolwise"
"""The graph-state key the decision is written to; recording reads it (``CallContext``)."""

DEFAULT_DESTRUCTIVE = (
    r"\b(delete[sd]?|deleting|drop(s|ped|ping)?|destroy(s|ed|ing)?|purge[sd]?|purging"
    r"|truncate[sd]?|truncating|wipe[sd]?|wiping|terminate[sd]?|terminating|rm|rmdir)\b"
)
"""Words in a tool's name or description that make it need human confirmation."""

MAX_TOP_K = 20
MIN_BUDGET = 300


class AdviceOptions(BoundaryModel):
    """How an :class:`~toolwise.advice.advisor.Advisor` briefs the model.

    Args:
        agent_id: whose experience to use (the records' namespace).
        environment: where the tools run; rankings are learnt per environment.
        task_type: a fixed task type; when empty the task type comes from the run (state key
            ``toolwise.task_type``, config metadata ``toolwise_task_type``), then from
            ``task_resolver``, then from the nearest known task type.
        task_resolver: ``resolver(TaskQuery) -> str | None``; ``None`` falls through to
            inference. An exception is logged and falls through too.
        mode: ``advise`` (default), ``filter`` or ``route``.
        tools: the candidate tools when the caller does not pass them per call (the LangGraph
            node and ``pre_model_hook`` need them; the middleware reads the request's).
        top_k: how many similar past failures to recall (0 turns recall off; at most 20).
        lessons: how many failure lessons (from ``Toolwise.improve``) the brief may show; 0 off.
        demonstrations: how many of the agent's own best runs the brief may show (off by
            default). ``examples`` is its deprecated name.
        recall_ttl: seconds a recall is reused for the same query (the later model turns of
            one request ask the same question), kept current with this process's new
            failures; for as long again it is still served while a background query
            refreshes it. 0 queries the store every turn.
        recall_budget: the most seconds a brief waits for the store's recall answer (a query
            not answered from the reused ones). Past it the brief is answered without the
            store's recall — this process's failures not yet stored are still shown, and the
            brief says recall is still loading — while the query runs on and its answer is
            kept for the next brief of the same question. Unlike the store's recall deadline
            (``StoreTimeouts.recall``), missing the budget does not mark the store
            unhealthy. ``None`` waits for the store's answer (up to that deadline).
        recall_index: rank recall in the process from an index of the agent's failures,
            loaded once per (agent, task type) in the background and kept current
            (:mod:`toolwise.advice.recall_index`; a store that can list its failures, and
            ``recall_ttl > 0``). Off by default (its benchmark is not conclusive yet:
            docs/http.md): every brief's recall is the store's answer, as above.
        budget: the brief's maximum length in characters (at least 300).
        strategy: ranking strategy; exploration flows through its sample.
        objective: trade-off of success, speed and cost.
        seed: makes the sequence of decisions reproducible (each decision still samples).
        filter_threshold: ``filter`` hides tools whose upper 90 % bound is below this.
        similarity_threshold: the least cosine similarity between the request and a known
            task type (or a learnt cluster of requests) for that type to be used; below it
            the task is new and ranked on the tools' record across every task.
        route_untried: lets ``route`` force a tool that has no record for the task yet
            (exploration by force). Off by default: an untried tool is ranked — explored in
            the brief's wording — and the model decides. ``route`` never forces a tool that
            needs approval (``requires_confirmation``, ``destructive``), whatever this says.
        learn_task_types: learn task types from the requests themselves (default on): a
            request that matches no known type starts a new type named from its first words,
            its tool calls are recorded under it, and later similar requests join it (the
            clusters are kept beside the store, per agent). Off: a new task is ranked under
            its own text and its records keep the entry point's task type.
        requires_confirmation: tool names that always need a human's approval.
        destructive: a regular expression (case-insensitive) matched against each tool's
            name (with ``_``/``-`` read as spaces) and description; a match needs approval
            too. ``None`` turns the pattern off.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    agent_id: str = Field(default="default", min_length=1)
    environment: str = ""
    task_type: str = ""
    task_resolver: Callable[[TaskQuery], Any] | None = None
    mode: Mode = "advise"
    tools: tuple[Any, ...] = ()
    top_k: int = Field(default=8, ge=0, le=MAX_TOP_K)
    recall_ttl: float = Field(default=30.0, ge=0.0, allow_inf_nan=False)
    recall_budget: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    recall_index: bool = Field(default=False, strict=True)
    lessons: int = Field(default=3, ge=0, le=10)
    demonstrations: int = Field(default=0, ge=0, le=5)
    budget: int = Field(default=1_200, ge=MIN_BUDGET, le=100_000)
    strategy: Strategy = "thompson"
    objective: Any = "balanced"
    seed: int | None = Field(default=None, ge=0)
    filter_threshold: float = Field(default=0.3, gt=0.0, lt=1.0)
    similarity_threshold: float = Field(default=0.35, ge=0.0, le=1.0)
    route_untried: bool = Field(default=False, strict=True)
    learn_task_types: bool = True
    requires_confirmation: frozenset[str] = frozenset()
    destructive: str | None = DEFAULT_DESTRUCTIVE

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "examples" in data:
            data = dict(data)
            old = data.pop("examples")
            data["demonstrations"] = renamed(
                "examples", "demonstrations", old, data.get("demonstrations", 0), 0
            )
        return data

    @property
    def examples(self) -> int:
        """Deprecated name of :attr:`demonstrations`."""
        warn_renamed("examples", "demonstrations")
        return self.demonstrations

    @field_validator("objective")
    @classmethod
    def _known_objective(cls, value: Objective) -> Objective:
        resolve_objective(value)  # raises InvalidArgumentError naming "objective"
        return value

    @field_validator("destructive")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                msg = f"is not a valid regular expression: {exc}"
                raise ValueError(msg) from exc
        return value

    @field_validator("tools")
    @classmethod
    def _named(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        for tool in value:
            if not tool_name(tool):
                msg = f"every tool needs a name; {tool!r} has none"
                raise ValueError(msg)
        return value


def tool_name(tool: object) -> str:
    """The name of a ``BaseTool``, a tool dict (OpenAI or plain), a function, or a string."""
    if isinstance(tool, str):
        return tool
    if isinstance(tool, Mapping):
        function = tool.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            return str(function["name"])
        name = tool.get("name")
        return name if isinstance(name, str) else ""
    name = getattr(tool, "name", None) or getattr(tool, "__name__", None)
    return name if isinstance(name, str) else ""


class Brief(BaseModel):
    """One pre-selection decision: the ranking, the text shown to the model, and the mode's
    effect on the tools.

    Attributes:
        decision_id: links this decision to the records of the tool calls that follow.
        agent_id: whose experience was used.
        environment: the environment ranked for.
        task_type: the task type the ranking used and the turn's records carry: given,
            matched, or for a new task the name learnt from the request (``""`` for a new
            task only when task learning is off).
        inferred: the task type was not given but matched to the request by similarity,
            or learnt from it (a new task).
        task_source: ``given`` (config, state or options), ``resolver``, ``inferred`` or
            ``new``; only a ``given`` type is kept in state for later turns, the others are
            decided again on each turn.
        similarity: for an inferred task, the cosine similarity of the best match.
        recommendations: every candidate tool, ranked (hidden ones included).
        recommended_tool: the first tool the model may call (``None`` without tools).
        text: the brief, fenced and within the budget; never empty.
        hidden_tools: tools removed from the model's request (``filter`` mode).
        forced_tool: the tool forced through ``tool_choice`` (``route`` mode), if any.
        propensity: the probability the strategy had of ranking ``recommended_tool`` first.
        mode: the mode this decision was made in.
    """

    model_config = ConfigDict(frozen=True)

    decision_id: str
    agent_id: str
    environment: str = ""
    task_type: str = ""
    inferred: bool = False
    task_source: TaskSource = "given"
    similarity: float | None = None
    recommendations: tuple[Recommendation, ...] = ()
    recommended_tool: str | None = None
    text: str
    hidden_tools: tuple[str, ...] = ()
    forced_tool: str | None = None
    propensity: float | None = None
    mode: Mode = "advise"

    def visible(self, tools: Sequence[Any]) -> list[Any]:
        """``tools`` without the hidden ones (tools without a name, e.g. provider tools, stay)."""
        hidden = set(self.hidden_tools)
        return [tool for tool in tools if tool_name(tool) not in hidden]

    def state_update(self, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The value of the ``toolwise`` state key after this decision.

        Keeps what the user put there (``task_type`` given explicitly, ``agent_id``,
        ``environment``, ``task``) and replaces the previous decision. A task type toolwise
        chose is written for the records but flagged ``"inferred": true``, so the next turn
        chooses again. Plain JSON values only, so every checkpointer can store it.
        """
        kept: dict[str, Any] = {}
        if isinstance(previous, Mapping):
            for key in ("agent_id", "environment", "task"):
                if isinstance(previous.get(key), str) and previous[key]:
                    kept[key] = previous[key]
            if not previous.get("inferred") and previous.get("task_type"):
                kept["task_type"] = previous["task_type"]
        update: dict[str, Any] = {
            **kept,
            "decision_id": self.decision_id,
            "recommended_tool": self.recommended_tool or "",
            "inferred": self.task_source != "given",
            "brief": self.text,
            "hidden_tools": list(self.hidden_tools),
            "forced_tool": self.forced_tool or "",
            "mode": self.mode,
        }
        if self.task_type and "task_type" not in kept:
            update["task_type"] = self.task_type
        if self.propensity is not None:
            update["propensity"] = self.propensity
        propensities = {
            r.tool: r.propensity for r in self.recommendations if r.propensity is not None
        }
        if propensities:
            update["propensities"] = propensities
        return update
