"""Listing calls page by page: ``limit``/``offset``, or a cursor that new calls cannot shift.

Calls are ordered newest first by (timestamp, id). An offset page moves when calls arrive
while a client pages through; a cursor names the last call returned, and the next page starts
just after it (``until`` = its timestamp, then the ties it already saw are skipped).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from datetime import UTC, datetime, timedelta

from toolwise.errors import InvalidArgumentError
from toolwise.models import ToolOutcome
from toolwise.service.backend import ServiceBackend
from toolwise.storage.protocol import CallFilter

__all__ = ["decode_cursor", "encode_cursor", "page_of_calls"]

_TIE_SLACK = 16  # extra records read per page to step over ties at the cursor's timestamp


def encode_cursor(last: ToolOutcome) -> str:
    data = json.dumps({"t": last.timestamp.timestamp(), "i": last.id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """``(timestamp, id)`` of the last call of the previous page.

    Raises:
        InvalidArgumentError: naming ``cursor`` when it is not one this server issued.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment, record_id = float(data["t"]), str(data["i"])
        datetime.fromtimestamp(moment, UTC)  # in range
    except (ValueError, KeyError, TypeError, OverflowError, OSError, binascii.Error) as exc:
        raise InvalidArgumentError("cursor", cursor, "is not a cursor this API issued") from exc
    return moment, record_id


def page_of_calls(
    backend: ServiceBackend,
    agent_id: str,
    call_filter: CallFilter,
    *,
    limit: int,
    offset: int,
    cursor: str | None,
) -> tuple[list[ToolOutcome], str | None]:
    """One page and the cursor of the next (``None`` after the last page)."""
    if cursor is None:
        calls = backend.list_calls(agent_id, call_filter, limit=limit, offset=offset)
    else:
        calls = _after(backend, agent_id, call_filter, limit, decode_cursor(cursor))
    return calls, (encode_cursor(calls[-1]) if len(calls) == limit else None)


def _after(
    backend: ServiceBackend,
    agent_id: str,
    call_filter: CallFilter,
    limit: int,
    position: tuple[float, str],
) -> list[ToolOutcome]:
    moment, last_id = position
    # The first microsecond after the cursor's timestamp, so the calls tied with it are read.
    until = datetime.fromtimestamp(moment, UTC) + timedelta(microseconds=1)
    if call_filter.until is not None:
        until = min(until, call_filter.until)
    bounded = dataclasses.replace(call_filter, until=until)
    found: list[ToolOutcome] = []
    skip = 0
    while len(found) < limit:
        batch = backend.list_calls(agent_id, bounded, limit=limit + _TIE_SLACK, offset=skip)
        found.extend(c for c in batch if (c.timestamp.timestamp(), c.id) < (moment, last_id))
        if len(batch) < limit + _TIE_SLACK:
            break
        skip += len(batch)
    return found[:limit]
