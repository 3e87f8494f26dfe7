"""Which tool calls need a human's approval, what the human is asked, and how answers read.

A call needs approval when its tool is listed in ``requires_confirmation``, when the tool
object says so (``requires_confirmation = True``, as tools made by ``Toolwise.instrument``
may), or when its name or description matches the ``destructive`` pattern — whatever the
tool's history says: a reliable ``drop_database`` is still a ``drop_database``.

The graph pauses with LangGraph's ``interrupt()``; the value is a ``tool_approval`` request
shaped like langchain's ``HumanInTheLoopMiddleware`` per-call requests. Resume with
``Command(resume=...)``: ``True``, ``"approve"``, ``{"type": "approve"}`` approve;
``False``, ``"reject"``, ``{"type": "reject", "message": "why"}`` refuse. Anything else is
read as a refusal (fail closed) and says so. An approved call then runs inside
:func:`toolwise.recording.scope.approved`, so a tool that asks for confirmation itself does
not ask the human twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from toolwise.advice.models import AdviceOptions
from toolwise.recording.scope import approved, is_approved  # where approvals travel

__all__ = [
    "Answer",
    "ConfirmationPolicy",
    "approval_request",
    "approved",
    "is_approved",
    "read_answer",
]

_APPROVE = frozenset({"approve", "approved", "accept", "accepted", "yes", "y", "ok", "allow"})
_REJECT = frozenset({"reject", "rejected", "refuse", "refused", "deny", "denied", "no", "n"})
_MAX_DESCRIPTION = 500


@dataclass(frozen=True, slots=True)
class ConfirmationPolicy:
    """Decides which tools need approval; built once from :class:`AdviceOptions`."""

    names: frozenset[str]
    pattern: re.Pattern[str] | None

    @classmethod
    def from_options(cls, options: AdviceOptions) -> ConfirmationPolicy:
        pattern = (
            re.compile(options.destructive, re.IGNORECASE)
            if options.destructive is not None
            else None
        )
        return cls(frozenset(options.requires_confirmation), pattern)

    def reason(self, name: str, tool: object = None) -> str | None:
        """Why a call to ``name`` needs approval, or ``None`` when it does not."""
        if name in self.names or getattr(tool, "requires_confirmation", False) is True:
            return "requires_confirmation"
        if self.pattern is not None:
            words = name.replace("_", " ").replace("-", " ")
            description = _description(tool)
            if self.pattern.search(words) or (description and self.pattern.search(description)):
                return "destructive"
        return None


def _description(tool: object) -> str:
    """A tool's description: a ``BaseTool``'s, or a tool dict's (OpenAI or plain)."""
    if isinstance(tool, Mapping):
        function = tool.get("function")
        found = function.get("description") if isinstance(function, Mapping) else None
        found = found or tool.get("description")
    else:
        found = getattr(tool, "description", "")
    return found if isinstance(found, str) else ""


def approval_request(
    *, name: str, args: Any, tool_call_id: str, reason: str, description: str = ""
) -> dict[str, Any]:
    """The ``interrupt()`` value shown to the reviewer."""
    why = (
        "is marked as requiring confirmation"
        if reason == "requires_confirmation"
        else "looks destructive"
    )
    return {
        "type": "tool_approval",
        "source": "toolwise",
        "tool_call_id": tool_call_id,
        "name": name,
        "args": args if isinstance(args, Mapping) else {"input": args},
        "reason": reason,
        "description": f"Tool {name!r} {why}; approve to run it. {description}".strip()[
            :_MAX_DESCRIPTION
        ],
        "allowed_decisions": ["approve", "reject"],
    }


@dataclass(frozen=True, slots=True)
class Answer:
    """A reviewer's answer: approved or not, and a message for the model when refused."""

    approved: bool
    message: str = ""


def read_answer(value: Any) -> Answer:
    """Read a resume value (see the module doc); unknown answers refuse."""
    if isinstance(value, Mapping) and isinstance(value.get("decisions"), list | tuple):
        decisions = value["decisions"]
        return read_answer(decisions[0]) if len(decisions) == 1 else _unknown(value)
    if isinstance(value, bool):
        return Answer(approved=value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _APPROVE:
            return Answer(approved=True)
        if word in _REJECT:
            return Answer(approved=False)
        return _unknown(value)
    if isinstance(value, Mapping):
        kind = value.get("type", value.get("decision"))
        if isinstance(value.get("approved"), bool):
            kind = "approve" if value["approved"] else "reject"
        message = value.get("message") or value.get("reason") or ""
        if isinstance(kind, str) and kind.lower() in _APPROVE:
            return Answer(approved=True)
        if isinstance(kind, str) and kind.lower() in _REJECT:
            return Answer(approved=False, message=str(message))
    return _unknown(value)


def _unknown(value: Any) -> Answer:
    shown = repr(value)[:80]
    return Answer(approved=False, message=f"the reviewer's answer {shown} was not an approval")
