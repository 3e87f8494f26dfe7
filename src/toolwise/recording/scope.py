"""Who records a tool call when several toolwise entry points see it — one mechanism.

An agent may combine entry points: a callback handler in the run's config, a ``ToolNode``
interceptor or the agent middleware, instrumented tools, a tool guard. Each call is still
recorded once, by the outermost entry point (it sees the most: the graph state, the decision,
the retries it drives). What the outer one knows travels down with the call in one
context-local :class:`CallScope`:

* ``claimed`` — tools whose current call an enclosing entry point records (:func:`claim`);
  a callback handler or a nested interceptor that finds its tool claimed stays silent.
* ``state`` — the graph state an interceptor hands down (:func:`hand_down`) to a tool that
  records itself, so that record still carries the task text and the decision.
* ``approved`` — tools a human approved through a guard's ``interrupt()`` (:func:`approved`),
  so an instrumented tool that asks for confirmation does not ask a second time.

One marker travels on the tool object instead, because a callback handler sees the tool's
metadata before any context is entered: :data:`SELF_RECORDING_KEY` says the tool records
itself (an instrumented tool records every attempt). A callback handler skips such a tool; an
interceptor hands its state down to it instead of claiming.

The scope is a ``contextvars.ContextVar``: parallel tool calls in threads or tasks never see
each other's scope, and a worker thread started with ``contextvars.copy_context()`` (a tool
timeout) sees its caller's. Every change is a ``with`` block that restores the scope it found.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

__all__ = [
    "SELF_RECORDING_KEY",
    "CallScope",
    "approved",
    "claim",
    "current",
    "hand_down",
    "handed_down_state",
    "is_approved",
    "is_claimed",
    "records_itself",
]

SELF_RECORDING_KEY = "toolwise_instrumented"
"""Tool metadata key set on tools that record themselves (``Toolwise.instrument``)."""


class CallScope(NamedTuple):
    """What the enclosing entry points of the current call have said about it."""

    claimed: frozenset[str] = frozenset()
    state: Any = None
    approved: frozenset[str] = frozenset()


_EMPTY = CallScope()
_SCOPE: contextvars.ContextVar[CallScope] = contextvars.ContextVar(
    "toolwise_call_scope",
    default=_EMPTY,  # an immutable named tuple of frozensets: safe to share
)


def current() -> CallScope:
    """The scope of the call running in this context."""
    return _SCOPE.get()


@contextmanager
def _within(scope: CallScope) -> Iterator[None]:
    token = _SCOPE.set(scope)
    try:
        yield
    finally:
        _SCOPE.reset(token)


@contextmanager
def claim(tool: str) -> Iterator[bool]:
    """Claim the recording of a call to ``tool`` for this context.

    Yields ``True`` when the caller should record (nobody outside claimed it), ``False`` when
    an outer entry point already records it.
    """
    scope = _SCOPE.get()
    if tool in scope.claimed:
        yield False
        return
    with _within(scope._replace(claimed=scope.claimed | {tool})):
        yield True


def is_claimed(tool: str) -> bool:
    """True when an enclosing toolwise entry point is already recording a call to ``tool``."""
    return tool in _SCOPE.get().claimed


@contextmanager
def hand_down(state: Any) -> Iterator[None]:
    """Hand the graph state down to a self-recording tool about to run in this context."""
    with _within(_SCOPE.get()._replace(state=state)):
        yield


def handed_down_state() -> Any:
    """The graph state an enclosing interceptor handed down (``None`` outside one)."""
    return _SCOPE.get().state


@contextmanager
def approved(tool: str) -> Iterator[None]:
    """Mark a call to ``tool`` as approved by a human for the duration of the block."""
    scope = _SCOPE.get()
    with _within(scope._replace(approved=scope.approved | {tool})):
        yield


def is_approved(tool: str) -> bool:
    """True inside :func:`approved` for ``tool``: a human already approved this call."""
    return tool in _SCOPE.get().approved


def records_itself(tool: object) -> bool:
    """True for a tool that records its own calls (its metadata carries the marker)."""
    metadata = getattr(tool, "metadata", None)
    return isinstance(metadata, Mapping) and bool(metadata.get(SELF_RECORDING_KEY))
