"""uvicorn's access log without query values: ``GET /v1/agents/a/calls?session_id=[REDACTED]``.

A query value may carry a secret — a session id, a task text asked about — and logs outlive
the request. The parameter names stay, so an operator still sees what was asked (the 500
handler in :mod:`toolwise.service.errors` logs names only, for the same reason).
"""

from __future__ import annotations

import logging
import re
from typing import TypeGuard

from typing_extensions import override

from toolwise.recording.redact import REDACTED

__all__ = ["ACCESS_LOGGER", "QueryValueFilter", "hide_query_values", "redacted_path"]

ACCESS_LOGGER = "uvicorn.access"
"""The logger uvicorn writes one line per request to (``--log-level debug``)."""

_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")
"""A parameter name worth keeping: this API's names are identifiers; anything else given
where a name goes (``?ghp_…`` alone, a name with ``%`` escapes) may be a value."""


def redacted_path(path: str) -> str:
    """``path`` with each query value replaced by ``[REDACTED]``; names that are not plain
    identifiers are replaced too. A path without a query comes back unchanged."""
    base, mark, query = path.partition("?")
    if not mark:
        return path
    kept = []
    for item in query.split("&"):
        name, equals, _ = item.partition("=")
        shown = name if not name or _NAME.fullmatch(name) else REDACTED
        kept.append(f"{shown}={REDACTED}" if equals else shown)
    return f"{base}?{'&'.join(kept)}"


class QueryValueFilter(logging.Filter):
    """Rewrites every path-with-query argument of a record (uvicorn passes the request line's
    parts as ``args``; its ``AccessFormatter`` reads them by position, so their number and
    order stay). Never drops a record."""

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(_has_query(a) for a in args):
            record.args = tuple(redacted_path(a) if _has_query(a) else a for a in args)
        return True


def hide_query_values(logger_name: str = ACCESS_LOGGER) -> None:
    """Install :class:`QueryValueFilter` on ``logger_name`` once (idempotent).

    Call it after ``uvicorn.Config`` is built: that configures uvicorn's loggers.
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, QueryValueFilter) for f in logger.filters):
        logger.addFilter(QueryValueFilter())


def _has_query(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.startswith("/") and "?" in value
