"""Check the arguments of the public methods, raising errors that name the argument.

Validation happens once, at the boundary, so the maths below never sees a NaN weight or an
empty tool list (STYLE rule 6: messages name the argument and the bad value).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

from toolwise.errors import InvalidArgumentError
from toolwise.learning.models import Strategy
from toolwise.learning.strategies import STRATEGIES

__all__ = [
    "aware",
    "name",
    "non_negative",
    "optional_measure",
    "quality_of",
    "seed_of",
    "strategy_of",
    "tool_names",
    "unit_interval",
]


def _number(value: object) -> float | None:
    """The value as a float if it is a real number (bools are not), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def name(field: str, value: object) -> str:
    """A non-blank string (a tool or agent name)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(field, value, "must be a non-blank string")
    return value


def tool_names(tools: object) -> list[str]:
    """A non-empty list of distinct tool names, in the caller's order."""
    if isinstance(tools, str) or not isinstance(tools, Iterable):
        raise InvalidArgumentError("tools", tools, "must be a sequence of tool names")
    names = list(tools)
    if not names:
        raise InvalidArgumentError("tools", tools, "must name at least one tool")
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise InvalidArgumentError("tools", tools, "every tool name must be a non-blank string")
    return list(dict.fromkeys(names))  # a duplicate would only split a tool's propensity


def quality_of(success: object) -> float:
    """``True``/``False`` as 1/0, or a number in [0, 1] (a partial success)."""
    if isinstance(success, bool):
        return 1.0 if success else 0.0
    number = _number(success)
    if number is not None and 0.0 <= number <= 1.0:
        return number
    raise InvalidArgumentError("success", success, "must be a bool or a number in [0, 1]")


def non_negative(field: str, value: object) -> float:
    """A finite number >= 0 (a weight or a prior strength)."""
    number = _number(value)
    if number is None or not math.isfinite(number) or number < 0:
        raise InvalidArgumentError(field, value, "must be a finite number >= 0")
    return number


def unit_interval(field: str, value: object) -> float:
    """A number in [0, 1] (a rate)."""
    number = _number(value)
    if number is None or not 0.0 <= number <= 1.0:
        raise InvalidArgumentError(field, value, "must be a number in [0, 1]")
    return number


def optional_measure(field: str, value: object) -> float | None:
    """A latency or cost: ``None`` or ``nan`` mean unknown, ``inf`` is allowed, < 0 is not."""
    if value is None:
        return None
    number = _number(value)
    if number is None:
        raise InvalidArgumentError(field, value, "must be a number or None")
    if math.isnan(number):
        return None
    if number < 0:
        raise InvalidArgumentError(field, value, "must not be negative")
    return number


def strategy_of(strategy: object) -> Strategy:
    """One of the registered strategy names."""
    for known in STRATEGIES:
        if strategy == known:
            return known
    raise InvalidArgumentError("strategy", strategy, f"must be one of {list(STRATEGIES)}")


def seed_of(seed: object) -> int | None:
    """``None`` or a non-negative integer (what numpy accepts as a seed)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgumentError("seed", seed, "must be a non-negative integer or None")
    return seed


def aware(moment: datetime) -> datetime:
    """A timezone-aware datetime; naive ones are taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
