"""The verdict of an exception: raised by a tool, or handled into text before anyone saw it.

Framework-neutral: the adapters that *see* a handled error (LangChain's and LangGraph's
error handlers, wrapped by :mod:`toolwise.integrations.langgraph.handled_errors`) hand it
here as a :class:`HandledError`.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from toolwise.recording.judge.verdict import Reason, Verdict, of
from toolwise.recording.redact import printable

__all__ = ["HandledError", "exception_verdict", "handled_verdict", "is_argument_error"]

_CANCELLED = "cancelled before it finished (a step timeout, an outer timeout or an abort)"


class HandledError(NamedTuple):
    """An exception turned into ``content``; ``by_node`` when ``ToolNode`` caught it (the
    tool raised), not the tool's own handling."""

    content: Any
    error: BaseException
    by_node: bool


def handled_verdict(handled: HandledError) -> Verdict:
    """The verdict of a handled error: the model's bad arguments, an exception ``ToolNode``
    caught (as if raised), or the tool's own handled error (``ToolError``)."""
    error = handled.error
    if handled.by_node:  # judged as the exception the tool raised (ToolNode wraps some)
        return exception_verdict(_raised(error))
    if is_argument_error(error):
        return of(
            "invalid_arguments", Reason.INVALID_ARGUMENTS, "ValidationError", printable(error)
        )
    content = handled.content
    text = content if isinstance(content, str) else printable(content)
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


def _cancel_message(error: BaseException) -> str:
    """The text a canceller gave ``Task.cancel(msg)``, else what a cancellation may mean
    (LangGraph cancels with a bare ``object()`` sentinel: no text worth keeping)."""
    said = error.args[0] if error.args else None
    return said if isinstance(said, str) and said else _CANCELLED


def exception_verdict(error: BaseException) -> Verdict:
    """The verdict of a raised exception: the model's bad arguments, or the tool's failure
    (a cancellation is one too: see :attr:`Reason.CANCELLED`)."""
    if isinstance(error, asyncio.CancelledError):
        return of("failure", Reason.CANCELLED, "CancelledError", _cancel_message(error))
    if is_argument_error(error):
        return of(
            "invalid_arguments", Reason.INVALID_ARGUMENTS, "ValidationError", printable(error)
        )
    return of("failure", Reason.EXCEPTION, type(error).__name__, printable(error))
