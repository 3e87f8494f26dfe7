"""Seeing the errors a tool or a ``ToolNode`` handled into text, which callbacks cannot see.

``handle_tool_error=True`` turns a ``ToolException`` into a plain result: a bare
``tool.invoke({...})`` then hands callbacks only the text ("registry down"), with no status
and no exception — indistinguishable from a success. ``handle_validation_error`` does the same
to the model's bad arguments, and ``ToolNode(handle_tool_errors=...)`` to any exception.

LangChain offers no hook for this, so :func:`install` wraps the three functions that do the
handling (``langchain_core.tools.base._handle_tool_error`` and ``_handle_validation_error``,
``langgraph.prebuilt.tool_node._handle_tool_error``): each wrapper calls the original, notes
``(text, exception)`` in a context variable and returns the text unchanged — the tool's
behaviour is untouched. An entry point calls :func:`forget` when a call starts and
:func:`take` when it ends: the note is its call's when its text is the call's output. The
note lives in the context of the call (LangChain handles the error in the caller's context,
LangGraph runs each tool call in a context of its own), so concurrent calls never see each
other's. When a future LangChain renames these functions, nothing is wrapped and the entry
points fall back to the visible signals (``status="error"``, ToolNode's templates).
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from toolwise.recording.judging.verdict import Reason, Verdict, of

__all__ = ["HandledError", "forget", "handled_verdict", "install", "is_argument_error", "take"]

log = logging.getLogger("toolwise.judge")


class HandledError(NamedTuple):
    """An exception turned into ``content``; ``by_node`` when ``ToolNode`` caught it (the
    tool raised), not the tool's own handling."""

    content: Any
    error: BaseException
    by_node: bool


_NOTE: contextvars.ContextVar[HandledError | None] = contextvars.ContextVar(
    "toolwise_handled_error", default=None
)
_TARGETS = (
    ("langchain_core.tools.base", "_handle_tool_error", False),
    ("langchain_core.tools.base", "_handle_validation_error", False),
    ("langgraph.prebuilt.tool_node", "_handle_tool_error", True),
)
_lock = threading.Lock()
_installed = False


def install() -> None:
    """Wrap LangChain's and LangGraph's error handlers (once per process; idempotent)."""
    global _installed  # noqa: PLW0603 - one process-wide installation
    if _installed:
        return
    with _lock:
        if _installed:
            return
        for module_name, name, by_node in _TARGETS:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            original = getattr(module, name, None)
            if callable(original) and not getattr(original, "__toolwise_notes__", False):
                setattr(module, name, _noting(original, by_node=by_node))
            elif original is None:
                log.info("toolwise: %s.%s not found; handled errors read from text", module, name)
        _installed = True


def _noting(original: Callable[..., Any], *, by_node: bool) -> Callable[..., Any]:
    @functools.wraps(original)
    def handle(error: BaseException, *args: Any, **kwargs: Any) -> Any:
        content = original(error, *args, **kwargs)
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


def handled_verdict(handled: HandledError) -> Verdict:
    """The verdict of a handled error: the model's bad arguments, an exception ``ToolNode``
    caught (as if raised), or the tool's own handled error (``ToolError``)."""
    error = handled.error
    if handled.by_node:  # judged as the exception the tool raised (ToolNode wraps some)
        return exception_verdict(_raised(error))
    if is_argument_error(error):
        return of("invalid_arguments", Reason.INVALID_ARGUMENTS, "ValidationError", str(error))
    content = handled.content
    text = content if isinstance(content, str) else str(content)
    return of("failure", Reason.TOOL_ERROR, "ToolError", text)


def is_argument_error(error: BaseException) -> bool:
    """Whether ``error`` is the model's arguments failing the tool's schema.

    A pydantic ``ValidationError`` counts only when LangChain's argument parsing raised it
    (a ``_parse_input`` frame in its traceback): one raised inside the tool — validating an
    API's answer, say — is the tool's failure. ``ToolNode`` wraps argument errors in a
    ``ToolInvocationError`` whose ``source`` is the original.
    """
    error = _raised(error)
    if not _is_validation_error(error):
        return False
    frame = error.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_name == "_parse_input":
            return True
        frame = frame.tb_next
    return False


def _raised(error: BaseException) -> BaseException:
    """What the tool raised: ``ToolNode`` wraps a ``ValidationError`` from ``invoke`` (its
    ``source``) in a ``ToolInvocationError``."""
    source = getattr(error, "source", None)
    if type(error).__name__ == "ToolInvocationError" and isinstance(source, BaseException):
        return source
    return error


def _is_validation_error(error: BaseException) -> bool:
    from pydantic import ValidationError
    from pydantic.v1 import ValidationError as ValidationErrorV1

    return isinstance(error, ValidationError | ValidationErrorV1)


def exception_verdict(error: BaseException) -> Verdict:
    """The verdict of a raised exception: the model's bad arguments, or the tool's failure."""
    if is_argument_error(error):
        return of("invalid_arguments", Reason.INVALID_ARGUMENTS, "ValidationError", str(error))
    return of("failure", Reason.EXCEPTION, type(error).__name__, str(error))
