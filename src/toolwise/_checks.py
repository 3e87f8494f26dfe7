"""Argument checks at the entry points: a wrong type or value becomes an
:class:`~toolwise.errors.InvalidArgumentError` naming the argument, never a raw ``TypeError``,
``AttributeError`` or ``OverflowError`` from deep inside (issue 10, item 4)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from toolwise.errors import InvalidArgumentError

__all__ = [
    "check_id_list",
    "check_int",
    "check_moment",
    "check_number",
    "check_path",
    "check_seconds",
    "check_text",
    "check_tool_names",
    "clipped",
]

MAX_LOGGED_LABEL = 80
"""A tool name or label in a log line is cut to this many characters (as error values are)."""


def clipped(label: object, limit: int = MAX_LOGGED_LABEL) -> str:
    """``label`` as text for a log line, cut with ``...``: a 10,000-character tool name
    must not flood the log."""
    text = str(label)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_int(field: str, value: Any, *, minimum: int | None = None,
              maximum: int | None = None) -> int:  # fmt: skip
    """An ``int`` (not a bool, not a string) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(field, value, "must be an integer")
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(field, value, f"must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise InvalidArgumentError(field, value, f"must be <= {maximum}")
    return value


def check_number(field: str, value: Any, *, minimum: float | None = None,
                 maximum: float | None = None, positive: bool = False) -> float:  # fmt: skip
    """A finite real number (not a bool), ``> 0`` when ``positive``, within the bounds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(field, value, "must be a number")
    number = float(value) if abs(value) < 1e300 else math.inf
    if not math.isfinite(number):
        raise InvalidArgumentError(field, value, "must be a finite number")
    if positive and not number > 0:
        raise InvalidArgumentError(field, value, "must be > 0")
    if minimum is not None and number < minimum:
        raise InvalidArgumentError(field, value, f"must be >= {minimum}")
    if maximum is not None and number > maximum:
        raise InvalidArgumentError(field, value, f"must be <= {maximum:g}")
    return number


MAX_SECONDS = 1e9
"""The longest timeout or interval accepted (about 31 years; ``threading`` overflows beyond)."""


def check_seconds(field: str, value: Any, *, positive: bool = False) -> float:
    """A duration in seconds: finite, ``>= 0`` (``> 0`` when ``positive``), at most 1e9."""
    return check_number(field, value, minimum=0.0, maximum=MAX_SECONDS, positive=positive)


def check_text(field: str, value: Any, *, blank: bool = True) -> str:
    """A ``str``; not blank unless ``blank``."""
    if not isinstance(value, str):
        raise InvalidArgumentError(field, value, "must be a string")
    if not blank and not value.strip():
        raise InvalidArgumentError(field, value, "must not be empty")
    return value


def check_moment(field: str, value: Any) -> datetime:
    """A ``datetime`` a record can carry (naive means UTC; within the years 1–9998)."""
    if not isinstance(value, datetime):
        raise InvalidArgumentError(field, value, "must be a datetime")
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    try:
        moment.timestamp()
        moment + timedelta(days=366)
    except (OverflowError, OSError, ValueError):
        raise InvalidArgumentError(field, value, "is out of range") from None
    return moment


def check_path(field: str, value: Any) -> Path:
    """A ``str`` or ``os.PathLike`` naming a directory (it need not exist yet); a blank one
    (``"   "``) is refused: it would make a directory named by spaces, not the store meant."""
    if not isinstance(value, str | os.PathLike) or (isinstance(value, str) and not value.strip()):
        raise InvalidArgumentError(field, value, "must be a path (str or os.PathLike)")
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise InvalidArgumentError(field, value, "is not a directory")
    return path


def check_id_list(field: str, value: Any) -> list[str]:
    """A non-empty list of non-blank ids (a bare string is refused: it is not a list)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise InvalidArgumentError(field, value, "must be a list of ids")
    ids = list(value)
    if not ids:
        raise InvalidArgumentError(field, value, "must not be empty (forget(agent) deletes all)")
    for item in ids:
        if not isinstance(item, str) or not item.strip():
            raise InvalidArgumentError(field, value, "every id must be a non-empty string")
    return ids


def check_tool_names(tools: object) -> list[str]:
    """Tool names from names or tools; a bare string is refused (it is not a list of tools)."""
    if isinstance(tools, str | bytes) or not isinstance(tools, Sequence | set | frozenset):
        raise InvalidArgumentError("tools", tools, "must be a list of tool names or tools")
    names: list[str] = []
    for item in tools:
        name = item if isinstance(item, str) else getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError("tools", item, "each tool must be a name or a tool")
        names.append(name)
    return names
