"""Failure lessons: cluster failed calls, write one sentence per cluster, keep them merged.

Failures cluster by (tool, error type, task type, environment). A :class:`LessonWriter` turns a
cluster into one sentence: :class:`TemplateLessons` (default, deterministic, offline) or
:class:`ChatLessons` (any LangChain chat model). :func:`merge_lessons` combines two lessons
about one tool. Storing them is :class:`~toolwise.improve.lesson_book.LessonBook`'s job.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from toolwise.improve.models import Lesson
from toolwise.improve.protocols import ChatModel, ask
from toolwise.models import ToolOutcome

__all__ = [
    "ChatLessons",
    "FailureCluster",
    "LessonWriter",
    "TemplateLessons",
    "cluster_failures",
    "lesson_from",
    "merge_lessons",
    "mergeable",
    "template_text",
]

log = logging.getLogger("toolwise.improve")

_MAX_SOURCE_IDS = 50
_MAX_TASKS = 3
_MAX_LESSON_CHARS = 300
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class FailureCluster:
    """Failed calls of one tool with one error type, for one task type and environment."""

    agent_id: str
    tool: str
    error_type: str
    task_type: str
    environment: str
    records: tuple[ToolOutcome, ...]
    mistake: bool = False
    """The model's invalid arguments (``outcome="invalid_arguments"``), not the tool failing."""

    @property
    def key(self) -> str:
        """Stable identity of the cluster (and of the lesson it yields)."""
        parts: tuple[str, ...] = (
            self.agent_id,
            self.tool,
            self.error_type,
            self.task_type,
            self.environment,
        )
        if self.mistake:
            parts = (*parts, "invalid_arguments")
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]

    @property
    def message(self) -> str:
        """The most common error message (digits ignored when counting), shortened."""
        messages = [r.error_message.strip() for r in self.records if r.error_message.strip()]
        if not messages:
            return ""
        shapes = Counter(_DIGITS.sub("#", m) for m in messages)
        top = shapes.most_common(1)[0][0]
        example = next(m for m in messages if _DIGITS.sub("#", m) == top)
        return example[:120]

    @property
    def tasks(self) -> tuple[str, ...]:
        """Up to three distinct task texts the failures happened in, most recent first."""
        seen: list[str] = []
        for record in sorted(self.records, key=lambda r: r.timestamp, reverse=True):
            if record.task and record.task[:200] not in seen:
                seen.append(record.task[:200])
            if len(seen) == _MAX_TASKS:
                break
        return tuple(seen)


def cluster_failures(records: Iterable[ToolOutcome]) -> list[FailureCluster]:
    """Clusters of ``failure`` records, and of the model's ``invalid_arguments`` (apart), the
    largest (then most recent) first."""
    groups: dict[tuple[str, str, str, str, str, bool], list[ToolOutcome]] = {}
    for record in records:
        if record.outcome not in ("failure", "invalid_arguments"):
            continue
        key = (
            record.agent_id,
            record.tool,
            record.error_type,
            record.task_type,
            record.environment,
            record.outcome == "invalid_arguments",
        )
        groups.setdefault(key, []).append(record)
    clusters = [
        FailureCluster(
            *key[:5],
            records=tuple(sorted(group, key=lambda r: r.timestamp)),
            mistake=key[5],
        )
        for key, group in groups.items()
    ]
    clusters.sort(key=lambda c: (len(c.records), c.records[-1].timestamp), reverse=True)
    return clusters


# -- writing lessons -----------------------------------------------------------------------------

_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("timeout", "timed out"), "check connectivity first or prefer another tool"),
    (
        ("auth", "permission", "forbidden", "unauthorized", "401", "403", "credential"),
        "check credentials and permissions before calling it",
    ),
    (("ratelimit", "rate limit", "429", "too many"), "slow down or prefer another tool"),
    (("not found", "notfound", "404", "no such"), "verify the target exists before calling it"),
    (("conflict", "lock", "409"), "check for concurrent changes or held locks first"),
    (
        ("connection", "refused", "unreachable", "network", "dns"),
        "check connectivity first or prefer another tool",
    ),
    (
        ("validation", "invalid", "argument", "schema", "typeerror", "valueerror"),
        "check its arguments against its schema",
    ),
)


def _hint(error_type: str, message: str) -> str:
    text = f"{error_type} {message}".lower()
    for needles, hint in _HINTS:
        if any(needle in text for needle in needles):
            return hint
    return "check its inputs or prefer another tool"


def template_text(
    *,
    tool: str,
    error_type: str,
    task_type: str,
    environment: str,
    message: str,
    support: int,
    first_seen: datetime,
    mistake: bool = False,
) -> str:
    """``ansible_run failed with SSHTimeout for production_deploy (5× since 2025-01-06, e.g.
    "ssh to web-3 timed out"): check connectivity first or prefer another tool.``"""
    what = f"{tool[:64]} failed" + (f" with {error_type[:64]}" if error_type else "")
    if mistake:  # the model's arguments, not the tool: say so
        what = f"the model called {tool[:64]} with invalid arguments"
    if task_type:
        what += f" for {task_type[:64]}"
    if environment:
        what += f" in {environment[:64]}"
    detail = f"{support}× since {first_seen:%Y-%m-%d}"
    if message:
        detail += f', e.g. "{message[:80]}"'
    return f"{what} ({detail}): {_hint(error_type, message)}."


class LessonWriter(Protocol):
    """Turns a failure cluster into one sentence; ``None`` means "no usable lesson" (logged)."""

    @property
    def source(self) -> Literal["template", "model"]: ...

    def __call__(self, cluster: FailureCluster) -> str | None: ...


class TemplateLessons:
    """The default writer: a sentence from the error type, message, counts and a hint."""

    source: Literal["template", "model"] = "template"

    def __call__(self, cluster: FailureCluster) -> str | None:
        return template_text(
            tool=cluster.tool,
            error_type=cluster.error_type,
            task_type=cluster.task_type,
            environment=cluster.environment,
            message=cluster.message,
            support=len(cluster.records),
            first_seen=cluster.records[0].timestamp,
            mistake=cluster.mistake,
        )


_LESSON_SYSTEM = (
    "You distil failures of an AI agent's tool calls into lessons. Reply with exactly one "
    "sentence (at most 300 characters) the agent should remember to avoid the failure. "
    "No preamble, no list, no quotes."
)


class ChatLessons:
    """Asks a chat model for the lesson; malformed replies yield ``None`` (nothing changes).

    A reply is malformed when the model raises, or the text is empty, spans several lines or
    is longer than 300 characters (after stripping a ``Lesson:`` label, bullets and quotes).
    """

    source: Literal["template", "model"] = "model"

    def __init__(self, model: ChatModel) -> None:
        self._model = model

    def __call__(self, cluster: FailureCluster) -> str | None:
        errors = "\n".join(
            f"- {r.error_type or 'error'}: {r.error_message[:200]}" for r in cluster.records[-3:]
        )
        prompt = (
            f"Tool: {cluster.tool}\nTask type: {cluster.task_type or '(none)'}\n"
            f"Environment: {cluster.environment or '(none)'}\n"
            f"Failures: {len(cluster.records)} since {cluster.records[0].timestamp:%Y-%m-%d}\n"
            f"Recent tasks: {'; '.join(cluster.tasks) or '(not recorded)'}\n"
            f"Recent errors:\n{errors}\n"
            + (
                "These are the model's own mistakes: it called the tool with arguments the "
                "tool's schema rejected.\n"
                if cluster.mistake
                else ""
            )
            + "\nLesson:"
        )
        try:
            reply = ask(self._model, _LESSON_SYSTEM, prompt)
        except Exception as exc:  # a broken model must not break the loop; nothing changes
            log.warning("toolwise.improve: the lesson model failed for %s: %s", cluster.tool, exc)
            return None
        text = _clean_sentence(reply)
        if text is None:
            log.warning(
                "toolwise.improve: malformed lesson from the model for %s ignored: %r",
                cluster.tool,
                reply[:200],
            )
        return text


def _clean_sentence(reply: str) -> str | None:
    text = reply.strip()
    text = re.sub(r"^(?:lesson\s*:|[-*•]\s+)", "", text, flags=re.IGNORECASE).strip()
    text = text.strip("\"'“”").strip()
    if not text or "\n" in text or len(text) > _MAX_LESSON_CHARS:
        return None
    return text


def lesson_from(cluster: FailureCluster, text: str, source: Literal["template", "model"]) -> Lesson:
    """The lesson a cluster yields, its id derived from the cluster (stable across passes)."""
    records = cluster.records
    return Lesson(
        id=cluster.key,
        agent_id=cluster.agent_id,
        text=text,
        tool=cluster.tool,
        error_type=cluster.error_type,
        task_type=cluster.task_type,
        environment=cluster.environment,
        message=cluster.message,
        support=len(records),
        first_seen=records[0].timestamp,
        last_seen=records[-1].timestamp,
        source=source,
        source_ids=tuple(r.id for r in records[-_MAX_SOURCE_IDS:]),
        tasks=cluster.tasks,
    )


def mergeable(a: Lesson, b: Lesson) -> bool:
    """Only lessons about the same tool merge: the tool is the subject of the rule, and two
    tools failing alike (both time out over SSH) still need two rules naming them."""
    return a.tool == b.tool


def merge_lessons(survivor: Lesson, other: Lesson) -> Lesson:
    """``survivor`` absorbing ``other``: supports add up, time span and sources unite.

    A template lesson is re-rendered with the merged counts and generalised where the two
    differ (merging production and production-eu timeouts drops the environment); a lesson
    written by a model keeps its wording (rules stay stable).
    """
    first_seen = min(survivor.first_seen, other.first_seen)
    support = survivor.support + other.support
    update: dict[str, object] = {}
    if survivor.source == "template":
        for name in ("error_type", "task_type", "environment"):
            if getattr(survivor, name) != getattr(other, name):
                update[name] = ""
        update["text"] = template_text(
            tool=survivor.tool,
            error_type=str(update.get("error_type", survivor.error_type)),
            task_type=str(update.get("task_type", survivor.task_type)),
            environment=str(update.get("environment", survivor.environment)),
            message=survivor.message or other.message,
            support=support,
            first_seen=first_seen,
        )
    ids = list(dict.fromkeys((*survivor.source_ids, *other.source_ids)))[-_MAX_SOURCE_IDS:]
    tasks = list(dict.fromkeys((*other.tasks, *survivor.tasks)))[:_MAX_TASKS]
    return survivor.model_copy(
        update={
            **update,
            "support": support,
            "first_seen": first_seen,
            "last_seen": max(survivor.last_seen, other.last_seen),
            "source_ids": tuple(ids),
            "tasks": tuple(tasks),
        }
    )
