"""What a recorded call is about: agent, task type, environment — from defaults or the run.

Every entry point is configured with :class:`RecordingDefaults`; any run can override them
through its ``RunnableConfig`` metadata (``config={"metadata": {"toolwise_task_type": ...}}``)
and, in graphs, through the ``toolwise`` key that the pre-selection step writes into state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, TypedDict

from toolwise.recording.judge import DECLARED_JUDGE_KEY, JudgeSpec, declared_judge

__all__ = [
    "META_PREFIX",
    "CallContext",
    "RecordingDefaults",
    "RecordingLabels",
    "latest_human_text",
]

META_PREFIX = "toolwise_"
_OVERRIDABLE = ("agent_id", "task_type", "environment", "task", "decision_id", "recommended_tool")


class RecordingLabels(TypedDict, total=False):
    """The keyword arguments of ``tw.defaults()``, ``tw.callback()``, ``tw.instrument()`` …:
    typed, so a misspelt label fails in the type checker, not at run time."""

    agent_id: str
    task_type: str
    environment: str
    tags: Sequence[str]
    judge: JudgeSpec | None
    costs: Mapping[str, float] | None


@dataclass(frozen=True)
class RecordingDefaults:
    """How an entry point labels and judges the calls it records.

    Args:
        agent_id: namespace the records go to (one Chroma collection per agent).
        task_type: the kind of task, e.g. ``"production_deploy"``; the learning context.
        environment: e.g. ``"staging"`` or ``"production"``; kept apart when learning.
        tags: free labels stored with every record.
        judge: how returned results are judged: a judge callable, ``JudgeRules``, or either
            per tool name (see :mod:`toolwise.recording.judge`).
        costs: cost per call by tool name (``"*"`` applies to any tool not listed).
    """

    agent_id: str = "default"
    task_type: str = ""
    environment: str = ""
    tags: tuple[str, ...] = ()
    judge: JudgeSpec | None = None
    costs: Mapping[str, float] = field(default_factory=dict)

    def cost_of(self, tool: str) -> float:
        return float(self.costs.get(tool, self.costs.get("*", 0.0)))

    def for_tool(self, tool: str, metadata: Mapping[str, Any] | None) -> RecordingDefaults:
        """These defaults for a call to ``tool``, whose ``metadata`` may declare its own judge
        (under :data:`~toolwise.recording.judge.DECLARED_JUDGE_KEY`).

        The most specific judge wins: a ``judge={tool: ...}`` entry naming the tool, then the
        tool's declaration, then the entry point's other judge (``"*"`` or unnamed). ``self``
        when the tool declares nothing (the common case: one dict lookup).
        """
        if not metadata or DECLARED_JUDGE_KEY not in metadata:
            return self
        judge = self.judge
        if isinstance(judge, Mapping) and tool in judge:
            return self
        declared = declared_judge(metadata)
        return self if declared is None else replace(self, judge=declared)


class CallContext(NamedTuple):
    """The labels of one call, after run-level overrides were applied.

    A named tuple rather than a frozen dataclass: one is built on every tool call, and a
    tuple is built several times faster.
    """

    agent_id: str
    task_type: str
    environment: str
    task: str = ""
    session_id: str = ""
    run_id: str = ""
    decision_id: str = ""
    recommended_tool: str = ""
    tags: tuple[str, ...] = ()
    propensities: Mapping[str, float] | None = None
    decision_mode: str = ""

    def logged_propensity(self, tool: str) -> dict[str, Any]:
        """The metadata that lets ``toolwise evaluate`` weigh this call as one logged decision:
        the probability the strategy had of ranking ``tool`` first, and the decision's mode
        (in ``advise`` the model chose, so the weight assumes it followed the advice)."""
        if not self.propensities or tool not in self.propensities:
            return {}
        return {"propensity": self.propensities[tool], "decision_mode": self.decision_mode}

    @classmethod
    def resolve(
        cls,
        defaults: RecordingDefaults,
        metadata: Mapping[str, Any] | None = None,
        state: Any = None,
        *,
        run_id: str = "",
        tags: Sequence[str] = (),
    ) -> CallContext:
        """Defaults, then the ``toolwise`` entry of graph state, then config metadata."""
        metadata = metadata or {}
        session = str(metadata.get("thread_id") or metadata.get("session_id") or "")
        if state is None and _META_KEYS.isdisjoint(metadata):  # the common case, every call
            return cls(
                defaults.agent_id,
                defaults.task_type,
                defaults.environment,
                session_id=session,
                run_id=run_id,
                tags=_tags(defaults, tags),
            )
        values: dict[str, str] = {
            "agent_id": defaults.agent_id,
            "task_type": defaults.task_type,
            "environment": defaults.environment,
            "task": "",
            "decision_id": "",
            "recommended_tool": "",
        }
        brief = state.get("toolwise") if isinstance(state, Mapping) else None
        if isinstance(brief, Mapping):
            _merge(values, brief, "")
        if isinstance(state, Mapping) and not values["task"]:
            values["task"] = latest_human_text(state.get("messages"))
        _merge(values, metadata, META_PREFIX)
        # The propensities belong to the state's decision; a run that names another one keeps none.
        decision = brief if isinstance(brief, Mapping) else {}
        decided = (
            bool(values["decision_id"]) and decision.get("decision_id") == values["decision_id"]
        )
        return cls(
            session_id=session,
            run_id=run_id,
            tags=_tags(defaults, tags),
            propensities=_propensities(decision) if decided else None,
            decision_mode=str(decision.get("mode") or "") if decided else "",
            **values,
        )

    def with_task(self, task: str) -> CallContext:
        return self if self.task or not task else self._replace(task=task)


def _merge(values: dict[str, str], source: Mapping[str, Any], prefix: str) -> None:
    for key, prefixed in _PREFIXED[prefix]:
        value = source.get(prefixed)
        if isinstance(value, str) and value:
            values[key] = value


def _propensities(brief: Mapping[str, Any]) -> dict[str, float] | None:
    """The decision's propensity per tool, kept only where it is a probability (state is
    user-writable, so a bad value is dropped rather than recorded)."""
    found = brief.get("propensities")
    if not isinstance(found, Mapping):
        return None
    kept = {
        tool: float(p)
        for tool, p in found.items()
        if isinstance(tool, str)
        and isinstance(p, int | float)
        and not isinstance(p, bool)
        and 0.0 <= p <= 1.0
    }
    return kept or None


_PREFIXED = {p: tuple((k, p + k) for k in _OVERRIDABLE) for p in ("", META_PREFIX)}
_META_KEYS = frozenset(prefixed for _, prefixed in _PREFIXED[META_PREFIX])


def _tags(defaults: RecordingDefaults, run_tags: Sequence[str]) -> tuple[str, ...]:
    """The entry point's tags, then the run's (minus LangGraph's ``seq:step:N`` bookkeeping).

    LangChain passes a run's tags on unchecked: one that is not text is left out, not fatal
    to the record (``tags=[None]`` in a run's config lost every call of the run).
    """
    if not run_tags:
        return defaults.tags
    return (
        *defaults.tags,
        *(t for t in run_tags if isinstance(t, str) and not t.startswith("seq:")),
    )


def latest_human_text(messages: Any) -> str:
    """The text of the last human message in a message list (or ``""``)."""
    if not isinstance(messages, Sequence):
        return ""
    for message in reversed(messages):
        if getattr(message, "type", None) == "human":
            return _text_of(message.content)
        if isinstance(message, tuple) and len(message) == 2 and message[0] in ("user", "human"):
            return str(message[1])
        if isinstance(message, Mapping) and message.get("role") in ("user", "human"):
            return _text_of(message.get("content", ""))
    return ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") if isinstance(part, Mapping) else str(part) for part in content
        )
    return str(content)
