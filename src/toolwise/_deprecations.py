"""One release of grace for renamed arguments: the old name still works, with a warning.

``task_type`` is the one word for the kind of task (it was also ``context_class``), and
``demonstrations`` the one word for the agent's own best runs (they were also ``examples``).
"""

from __future__ import annotations

import warnings
from typing import TypeVar

from toolwise.errors import InvalidArgumentError

__all__ = ["renamed", "warn_renamed"]

_T = TypeVar("_T")


def renamed(old: str, new: str, old_value: _T | None, new_value: _T, default: _T) -> _T:
    """The value of ``new``, taking the deprecated ``old`` when only that one was given.

    Raises:
        InvalidArgumentError: both names were given different values.
    """
    if old_value is None:
        return new_value
    warn_renamed(old, new, stacklevel=4)
    if new_value not in (default, old_value):
        raise InvalidArgumentError(old, old_value, f"give {new!r} or {old!r}, not both")
    return old_value


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` was renamed ``new`` (a ``DeprecationWarning`` for the caller)."""
    warnings.warn(
        f"{old!r} is deprecated and will be removed in the next release; use {new!r}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
