"""What LangChain and LangGraph hand over instead of a tool's raw result, read as signals.

* ``ToolMessage(status="error")`` — how LangChain reports a handled ``ToolException`` or a
  rejected argument, and how ``ToolNode`` reports an exception it caught (in fixed templates,
  from which the exception class is read back when
  :mod:`toolwise.integrations.langgraph.handled_errors` did not see it).
* A ``Command`` carrying such a message in its ``update``.
* A guard's refusal (``response_metadata[REFUSED_MARKER] == "refused"``).
* Otherwise the value the returned-result rules read: a message's text or content blocks, a
  ``Command``'s tool message or state update, the text of MCP content blocks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from toolwise.recording.judge.verdict import Reason, Verdict, of

__all__ = ["REFUSED_MARKER", "signalled_verdict", "unwrap"]

REFUSED_MARKER = "toolwise_outcome"
"""``ToolMessage.response_metadata`` key a guard sets to ``"refused"`` on a call it refused."""

# ToolNode's own error templates (langgraph.prebuilt.tool_node): bad arguments, and the
# default rendering of a handled exception, ``Error: {repr(exc)}\n Please fix your mistakes.``
_BAD_ARGUMENTS = re.compile(r"^Error invoking tool '.*' with kwargs .* with error:", re.DOTALL)
_HANDLED_EXCEPTION = re.compile(
    r"^Error: ([A-Za-z_][A-Za-z0-9_]*)\(.*\n Please fix your mistakes\.$", re.DOTALL
)
_TEXT_BLOCKS = frozenset({"text", "output_text"})


def signalled_verdict(output: Any) -> Verdict | None:
    """The verdict LangChain or LangGraph signalled for ``output`` (refused, an error
    message), or None when they signalled nothing and the result itself must be read."""
    metadata = getattr(output, "response_metadata", None)
    if isinstance(metadata, dict) and metadata.get(REFUSED_MARKER) == "refused":
        reason = str(metadata.get("toolwise_reason") or "Refused")
        return Verdict("refused", 0.0, reason, _content_text(output), Reason.REFUSED)
    errors = _error_messages(output)
    if not errors:
        return None
    text = _content_text(errors[0])
    if _BAD_ARGUMENTS.match(text):
        return of("invalid_arguments", Reason.INVALID_ARGUMENTS, "ValidationError", text)
    handled = _HANDLED_EXCEPTION.match(text)
    if handled:
        return of("failure", Reason.EXCEPTION, handled.group(1), text)
    return of("failure", Reason.TOOL_ERROR, "ToolError", text)


def unwrap(output: Any) -> Any:
    """The result a tool returned, as far as it can be told from ``output``: a message's
    content (text blocks joined), a ``Command``'s first tool message or else its update."""
    if getattr(output, "type", None) == "tool" and hasattr(output, "content"):
        return _content(output.content)
    update = getattr(output, "update", None)
    if update is not None and hasattr(output, "goto"):  # a langgraph Command
        if isinstance(update, Mapping):
            for message in update.get("messages", ()) or ():
                if getattr(message, "type", None) == "tool":
                    return _content(message.content)
            return {k: v for k, v in update.items() if k != "messages"}
        return update
    if isinstance(output, list):
        return _content(output)  # MCP adapters' content blocks, from a direct invoke
    return output


def _error_messages(output: Any) -> list[Any]:
    """Error ToolMessages found in ``output``: itself, or inside a ``Command``'s update."""
    if getattr(output, "type", None) == "tool" and getattr(output, "status", None) == "error":
        return [output]
    update = getattr(output, "update", None)
    if update is None or not hasattr(output, "goto"):  # only a langgraph Command
        return []
    messages = update.get("messages", []) if isinstance(update, dict) else []
    return [m for m in messages if getattr(m, "status", None) == "error"]


def _content(content: Any) -> Any:
    """Message content as the rules read it: text as is, text blocks joined. A list of plain
    strings stays a list: lines of data (a log search), not an error message."""
    if isinstance(content, list) and content and all(_is_text_block(b) for b in content):
        return "\n".join(str(b.get("text", "")) for b in content)
    return content


def _content_text(message: Any) -> str:
    content = _content(getattr(message, "content", ""))
    if isinstance(content, list):
        return "\n".join(str(part) for part in content)
    return content if isinstance(content, str) else str(content)


def _is_text_block(block: Any) -> bool:
    return isinstance(block, Mapping) and block.get("type") in _TEXT_BLOCKS
