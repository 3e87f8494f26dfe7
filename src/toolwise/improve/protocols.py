"""What self-improvement takes from outside: the records it learns from, the chat model that
writes lessons and revisions, and the evaluator.

All are structural (``typing.Protocol``): any :class:`~toolwise.storage.protocol.OutcomeStore`
is an :class:`OutcomeReader`, any LangChain ``BaseChatModel`` is a :class:`ChatModel`, and any
``def evaluate(prompt, task) -> float`` is an :class:`Evaluator`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from toolwise.models import ToolOutcome
from toolwise.storage.protocol import CallFilter

__all__ = ["ChatModel", "Clock", "Evaluator", "Flush", "OutcomeReader", "ask"]

Clock = Callable[[], datetime]
"""``now()`` in UTC: injected so passes, recency and promotion windows are reproducible."""

Flush = Callable[[float], object]
"""``flush(timeout_seconds)``: make the caller's own queued records readable (best effort)."""


@runtime_checkable
class OutcomeReader(Protocol):
    """The reads self-improvement makes of the outcome store (any ``OutcomeStore`` has them)."""

    def get(self, ids: Sequence[str], *, agent_id: str | None = None) -> list[ToolOutcome]:
        """The records with these ids (missing ones are left out)."""
        ...

    def find(
        self,
        agent_id: str,
        call_filter: CallFilter,
        *,
        limit: int,
        offset: int,
        now: datetime,
    ) -> list[ToolOutcome]:
        """Matching unexpired records, newest first."""
        ...

    def agents(self) -> list[str]:
        """Every agent with records."""
        ...


@runtime_checkable
class ChatModel(Protocol):
    """Anything with LangChain's ``invoke(messages) -> message`` (``BaseChatModel`` is one)."""

    def invoke(self, messages: Any, /) -> Any: ...


@runtime_checkable
class Evaluator(Protocol):
    """Scores a system prompt on one validation task: 0.0 (failed) … 1.0 (perfect).

    Raising, or returning something that is not a finite number in [0, 1], counts as 0.0 —
    an erroring validation task is a failure, never a skip.
    """

    def __call__(self, prompt: str, task: Any, /) -> float: ...


def ask(model: ChatModel, system: str, user: str) -> str:
    """Send one system + user exchange and return the reply's text (``""`` if it has none).

    Raises whatever the model raises; callers treat that like malformed output.
    """
    from langchain_core.messages import HumanMessage, SystemMessage

    reply = model.invoke([SystemMessage(system), HumanMessage(user)])
    return _text(getattr(reply, "content", reply))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return ""
