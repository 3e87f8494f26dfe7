"""Seeing the errors a tool or a ``ToolNode`` handled into text, which callbacks cannot see.

``handle_tool_error=True`` turns a ``ToolException`` into a plain result: a bare
``tool.invoke({...})`` then hands callbacks only the text ("registry down"), with no status
and no exception — indistinguishable from a success. ``handle_validation_error`` does the same
to the model's bad arguments, and ``ToolNode(handle_tool_errors=...)`` to any exception.

LangChain offers no hook for this, so :func:`install` wraps the three private functions that
do the handling (:data:`WRAPPED`: ``langchain_core.tools.base._handle_tool_error`` and
``_handle_validation_error``, ``langgraph.prebuilt.tool_node._handle_tool_error``): each
wrapper calls the original, notes ``(text, exception)`` in a context variable and returns the
text unchanged — the tool's behaviour is untouched. An entry point calls :func:`forget` when a
call starts and :func:`take` when it ends: the note is its call's when its text is the call's
output. The note lives in the context of the call (LangChain handles the error in the caller's
context, LangGraph runs each tool call in a context of its own), so concurrent calls never see
each other's.

When a future LangChain or LangGraph renames one of these functions, or changes it so it no
longer takes the exception as its first positional argument, it is not wrapped: a warning is
logged once, :func:`missing` names it, and the entry points fall back to the visible signals
(``status="error"``, ToolNode's message templates). A wrapper never changes what the handler
returns or raises. ``tests/integrations/langgraph/test_handled_errors.py`` fails loudly on
such a version: it pins each function's signature and checks each one is still called.

It lives here, not in ``recording/``, because it patches LangChain and LangGraph (LangGraph
depends on ``langchain_core``; the LangChain adapters may use this package, not the reverse).
The verdict of a noted error is framework-neutral:
:func:`toolwise.recording.judge.handled_verdict`.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from toolwise.recording.judge import HandledError

__all__ = ["WRAPPED", "forget", "install", "missing", "take"]

log = logging.getLogger("toolwise.judge")

WRAPPED: tuple[tuple[str, str, bool], ...] = (
    ("langchain_core.tools.base", "_handle_tool_error", False),
    ("langchain_core.tools.base", "_handle_validation_error", False),
    ("langgraph.prebuilt.tool_node", "_handle_tool_error", True),
)
"""``(module, function, by_node)``: the private handlers wrapped; ``by_node`` when the
function is ``ToolNode``'s (the tool raised; the node caught it)."""

_NOTE: contextvars.ContextVar[HandledError | None] = contextvars.ContextVar(
    "toolwise_handled_error", default=None
)
_lock = threading.Lock()
_installed = False
_missing: list[str] = []


def install() -> None:
    """Wrap LangChain's and LangGraph's error handlers (once per process; idempotent)."""
    global _installed  # noqa: PLW0603 - one process-wide installation
    if _installed:
        return
    with _lock:
        if _installed:
            return
        for module_name, name, by_node in WRAPPED:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                _missing.append(f"{module_name}.{name}")
                continue
            original = getattr(module, name, None)
            if getattr(original, "__toolwise_notes__", False):
                continue
            if callable(original) and _takes_error_first(original):
                setattr(module, name, _noting(original, by_node=by_node))
            else:
                _missing.append(f"{module_name}.{name}")
        if _missing:
            log.warning(
                "toolwise: %s not found (or changed) in this LangChain/LangGraph version; "
                "errors tools handle into text are judged from the text alone",
                ", ".join(_missing),
            )
        _installed = True


def missing() -> list[str]:
    """The handlers :func:`install` could not find (empty when every one is wrapped)."""
    install()
    return list(_missing)


def _takes_error_first(function: Callable[..., Any]) -> bool:
    """Whether ``function``'s first parameter can take the exception positionally."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(parameters) and parameters[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )


def _noting(original: Callable[..., Any], *, by_node: bool) -> Callable[..., Any]:
    @functools.wraps(original)
    def handle(*args: Any, **kwargs: Any) -> Any:
        content = original(*args, **kwargs)  # raises as it would unwrapped
        error = args[0] if args else None
        if isinstance(error, BaseException):
            _NOTE.set(HandledError(content, error, by_node))
        return content

    handle.__toolwise_notes__ = True  # type: ignore[attr-defined]
    return handle


def forget() -> None:
    """Drop a note left in this context by an earlier call (a call is starting)."""
    if _NOTE.get() is not None:
        _NOTE.set(None)


def take(output: Any) -> HandledError | None:
    """The handled error whose text is ``output`` (or a message's content), consumed; None
    when the call's output was not a handled error."""
    note = _NOTE.get()
    if note is None:
        return None
    content = output.content if getattr(output, "type", None) == "tool" else output
    if content is note.content or (isinstance(content, str) and content == note.content):
        _NOTE.set(None)
        return note
    return None
