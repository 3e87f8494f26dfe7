"""Deciding how a tool call went: failure, partial or success, and with what quality.

The default verdict reads the signals LangChain and LangGraph actually produce: an exception,
a ``ToolMessage`` whose ``status`` is ``"error"`` (bad arguments, handled ``ToolException``s),
or a ``Command`` carrying such a message. A user :data:`Judge` then refines successes — for
example marking an empty search result ``partial`` or a slow answer low-quality.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolwise.models import DEFAULT_QUALITY, Outcome

__all__ = ["REFUSED_MARKER", "Judge", "Verdict", "default_verdict", "judge_output"]

log = logging.getLogger("toolwise.judge")


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a call went. ``error_type``/``error_message`` are set for failures."""

    outcome: Outcome
    quality: float
    error_type: str = ""
    error_message: str = ""


Judge = Callable[[Any], "Verdict | tuple[str, float] | str | None"]
"""``judge(output)`` returns a :class:`Verdict`, ``(outcome, quality)``, an outcome name, or
``None`` to keep the default verdict. It sees the tool's raw output (a ``ToolMessage`` inside
graphs). It is not called for exceptions, which are always failures."""


def _error_messages(output: Any) -> list[Any]:
    """Error ToolMessages found in ``output``: itself, or inside a ``Command``'s update."""
    if getattr(output, "type", None) == "tool" and getattr(output, "status", None) == "error":
        return [output]
    update = getattr(output, "update", None)
    if update is None or not hasattr(output, "goto"):  # only a langgraph Command
        return []
    messages = update.get("messages", []) if isinstance(update, dict) else []
    return [m for m in messages if getattr(m, "status", None) == "error"]


REFUSED_MARKER = "toolwise_outcome"
"""``ToolMessage.response_metadata`` key a guard sets to ``"refused"`` on a call it refused."""


def default_verdict(output: Any) -> Verdict:
    """Refused for a guard's refusal, failure for error ToolMessages (also inside a
    Command), success otherwise."""
    metadata = getattr(output, "response_metadata", None)
    if isinstance(metadata, dict) and metadata.get(REFUSED_MARKER) == "refused":
        reason = str(metadata.get("toolwise_reason") or "Refused")
        return Verdict("refused", 0.0, reason, str(getattr(output, "content", "")))
    errors = _error_messages(output)
    if errors:
        content = errors[0].content
        text = content if isinstance(content, str) else str(content)
        return Verdict("failure", 0.0, "ToolError", text)
    return Verdict("success", 1.0)


def judge_output(output: Any, judge: Judge | None) -> Verdict:
    """The default verdict, refined by ``judge`` for non-errors; a failing judge is ignored."""
    verdict = default_verdict(output)
    if judge is None or verdict.outcome in ("failure", "refused"):
        return verdict
    try:
        decided = judge(output)
    except Exception as exc:  # a buggy judge must not break the tool call or lose the record
        log.warning("toolwise: judge raised %s; keeping the default verdict", exc)
        return verdict
    return _coerce(decided, verdict)


def _coerce(decided: Any, fallback: Verdict) -> Verdict:
    if decided is None:
        return fallback
    if isinstance(decided, Verdict):
        return decided
    if isinstance(decided, str) and decided in DEFAULT_QUALITY:
        return Verdict(decided, DEFAULT_QUALITY[decided])  # type: ignore[arg-type]
    if isinstance(decided, tuple) and len(decided) == 2 and decided[0] in DEFAULT_QUALITY:
        quality = float(decided[1])
        if 0.0 <= quality <= 1.0:
            return Verdict(decided[0], quality)
    log.warning("toolwise: judge returned %r, not a verdict; keeping the default", decided)
    return fallback
