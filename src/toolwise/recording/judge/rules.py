"""The default rules for returned results, and the declarative rules a tool can add.

A tool that *returns* its failure instead of raising reports it in one of a few ways: a
structured result (``{"success": false, "error": …}``, an HTTP status ≥ 400, an MCP
``isError``), or text that starts like an error (``"Error: …"``). :func:`returned_verdict`
reads them in that order; :class:`JudgeRules` lets a tool change them — add its own field
rules ("``ok`` false = failure", "status 404 = partial"), turn the text prefixes off (a log
search whose lines start with ``error:``), or say that an empty result means nothing was found.

Only the top level of a result counts, so data that merely contains the word "error" stays a
success.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from toolwise.errors import InvalidArgumentError
from toolwise.models import OUTCOMES, Outcome
from toolwise.recording.judge.fields import read_fields
from toolwise.recording.judge.verdict import Reason, Verdict, of

__all__ = [
    "DEFAULT_ERROR_PREFIXES",
    "FAILED_STATES",
    "FieldRule",
    "JudgeRules",
    "is_empty",
    "returned_verdict",
]

DEFAULT_ERROR_PREFIXES: tuple[str, ...] = (
    "Error:",
    "ERROR:",
    "error:",
    "Error -",
    "Exception:",
    "Traceback (most recent call last)",
    "Failed to ",
    "FAILED:",
    "Fatal:",
    "fatal:",
    "FATAL:",
    "panic:",
)
"""Text results starting with one of these (after leading whitespace) are failures."""

FAILED_STATES = frozenset({"error", "errored", "failed", "failure", "fail", "fatal"})
"""Values of a top-level ``status``/``state`` (any case) that mean the call failed."""

Scalar = str | int | float | bool | None
EmptyMeans = Literal["success", "partial", "failure"]

_TRIGGERS = frozenset(
    {"success", "ok", "error", "errors", "status", "state", "status_code", "statusCode"}
    | {"isError", "is_error"}
)
_DETAIL_KEYS = ("message", "detail", "error_type", "code", "content", "reason")
_KEYS = _TRIGGERS | frozenset(_DETAIL_KEYS)
_BLANK = frozenset({"", "none", "null", "false", "0"})
_TRACEBACK_LAST = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")
_PREFIX_WINDOW = 64  # leading characters inspected for an error prefix


@dataclass(frozen=True, slots=True)
class FieldRule:
    """A declared rule on one top-level field of a tool's result, checked when built.

    ``FieldRule("ok", equals=False)``: a result whose ``ok`` is false is a failure.
    ``FieldRule("status", equals=404, outcome="partial")``: a 404 is a partial result.
    ``FieldRule("status_code", at_least=500)``: a 5xx is a failure.

    Args:
        field: a top-level key or attribute of the result (read from dicts, models,
            dataclasses and their JSON or repr text).
        equals: the value, or tuple of values, that fire the rule; strings compare without
            regard to case.
        at_least: fires on a number >= this (combine with ``below`` for a range).
        below: fires on a number < this.
        outcome: the verdict when the rule fires (default ``"failure"``).

    Raises:
        InvalidArgumentError: no condition given, a blank field, an unknown outcome or a
            bound that is not a finite number.
    """

    field: str
    equals: Scalar | tuple[Scalar, ...] = ()
    at_least: float | None = None
    below: float | None = None
    outcome: Outcome = "failure"

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field.strip():
            raise InvalidArgumentError("field", self.field, "must be a non-blank field name")
        if self.outcome not in OUTCOMES:
            raise InvalidArgumentError("outcome", self.outcome, f"must be one of {OUTCOMES}")
        for name in ("at_least", "below"):
            bound = getattr(self, name)
            if bound is not None and (
                isinstance(bound, bool)
                or not isinstance(bound, int | float)
                or not math.isfinite(bound)
            ):
                raise InvalidArgumentError(name, bound, "must be a finite number or None")
        equals = self.equals if isinstance(self.equals, tuple) else (self.equals,)
        for value in equals:
            if not isinstance(value, Scalar):
                raise InvalidArgumentError("equals", value, "must be str, int, float, bool, None")
        object.__setattr__(self, "equals", tuple(_folded(v) for v in equals))
        if not equals and self.at_least is None and self.below is None:
            raise InvalidArgumentError("equals", (), "give equals, at_least or below")

    def fires(self, fields: Mapping[str, Any]) -> bool:
        """Whether ``fields`` (a result's top level) matches this rule."""
        if self.field not in fields:
            return False
        value = fields[self.field]
        if self.equals and _folded(value) not in self.equals:  # type: ignore[operator]
            return False
        if self.at_least is None and self.below is None:
            return True
        number = _number(value)
        if number is None:
            return False
        return (self.at_least is None or number >= self.at_least) and (
            self.below is None or number < self.below
        )


@dataclass(frozen=True, slots=True)
class JudgeRules:
    """How one tool's returned results are judged, as data; checked when built.

    Pass as ``judge=`` to an entry point (``tw.instrument(tool, judge=JudgeRules(...))``), or
    per tool name (``tw.middleware(judge={"search_logs": JudgeRules(error_prefixes=())})``).

    Args:
        fields: declared rules, tried first and in order (the first that fires decides).
        structured: apply the default structured rules (``success``/``ok`` false, ``error``,
            ``status`` failed, HTTP status ≥ 400, MCP ``isError``) after ``fields``.
        error_prefixes: text results starting with one of these are failures; ``None`` uses
            :data:`DEFAULT_ERROR_PREFIXES`, ``()`` turns the rule off for this tool.
        empty: what an empty result (``None``, ``""``, ``[]``, ``{}``) means: ``"success"``
            (default), or ``"partial"``/``"failure"`` for a tool whose empty answer means it
            found nothing.

    Raises:
        InvalidArgumentError: a field names the wrong kind of value.
    """

    fields: Sequence[FieldRule] = ()
    structured: bool = True
    error_prefixes: Sequence[str] | None = None
    empty: EmptyMeans = "success"
    _keys: frozenset[str] = field(init=False, repr=False, compare=False)
    _triggers: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules = tuple(self.fields)
        for rule in rules:
            if not isinstance(rule, FieldRule):
                raise InvalidArgumentError("fields", rule, "must hold FieldRule objects")
        object.__setattr__(self, "fields", rules)
        if not isinstance(self.structured, bool):
            raise InvalidArgumentError("structured", self.structured, "must be a bool")
        if self.error_prefixes is not None:
            if isinstance(self.error_prefixes, str) or not all(
                isinstance(p, str) and p for p in self.error_prefixes
            ):
                raise InvalidArgumentError(
                    "error_prefixes", self.error_prefixes, "must be a tuple of non-empty strings"
                )
            object.__setattr__(self, "error_prefixes", tuple(self.error_prefixes))
        if self.empty not in ("success", "partial", "failure"):
            raise InvalidArgumentError(
                "empty", self.empty, "must be 'success', 'partial' or 'failure'"
            )
        keys = frozenset(rule.field for rule in rules)
        object.__setattr__(self, "_keys", (_KEYS | keys) if self.structured else keys)
        object.__setattr__(self, "_triggers", (_TRIGGERS | keys) if self.structured else keys)

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The error prefixes in force."""
        prefixes = self.error_prefixes
        return DEFAULT_ERROR_PREFIXES if prefixes is None else tuple(prefixes)


DEFAULT_RULES = JudgeRules()


def returned_verdict(value: Any, rules: JudgeRules = DEFAULT_RULES) -> Verdict | None:
    """The verdict the rules give a returned (unwrapped) result; None when none fires."""
    if rules.empty != "success" and is_empty(value):
        return of(rules.empty, Reason.EMPTY_RESULT, "EmptyResult", "the tool returned nothing")
    keys = rules._keys
    fields = read_fields(value, keys, rules._triggers) if keys else None
    if fields is not None:
        for rule in rules.fields:
            if rule.fires(fields):
                reason = f"{Reason.RULE_PREFIX}{rule.field}"
                if rule.outcome == "success":
                    return of("success", reason)
                return of(rule.outcome, reason, _error_type(fields), _message(fields))
        if rules.structured:
            verdict = _structured(fields)
            if verdict is not None or _declares_success(fields):
                return verdict
    if isinstance(value, str) and rules.prefixes:
        return _prefixed(value, rules.prefixes)
    return None


def is_empty(value: Any) -> bool:
    """``None``, blank text, an empty collection, or JSON text of one."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in ("", "[]", "{}", "null", "None", '""')
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return len(value) == 0
    return False


def _structured(fields: Mapping[str, Any]) -> Verdict | None:
    """The default structured rules, in order: MCP isError, success/ok false, an error field,
    a failed status, an HTTP status >= 400."""
    get = fields.get
    if get("isError") is True or get("is_error") is True:
        return of("failure", Reason.MCP_IS_ERROR, "MCPError", _message(fields))
    if _declares_success(fields):
        return None  # an explicit success wins over the other fields
    if get("success") is False or get("ok") is False:
        return of("failure", Reason.SUCCESS_FALSE, _error_type(fields), _message(fields))
    if _filled(get("error")) or _filled(get("errors")):
        return of("failure", Reason.ERROR_FIELD, _error_type(fields), _message(fields))
    for key in ("status", "state"):
        state = get(key)
        if isinstance(state, str) and state.strip().lower() in FAILED_STATES:
            return of("failure", Reason.STATUS_FAILED, _error_type(fields), _message(fields))
    for key in ("status_code", "statusCode", "status"):
        code = _number(get(key), digits_only=key == "status")
        if code is not None and 400 <= code < 600:
            return of("failure", Reason.HTTP_STATUS, f"HTTP{int(code)}", _message(fields))
    return None


def _declares_success(fields: Mapping[str, Any]) -> bool:
    return fields.get("success") is True or fields.get("ok") is True


def _prefixed(text: str, prefixes: tuple[str, ...]) -> Verdict | None:
    head = text[:_PREFIX_WINDOW].lstrip()
    if not head.startswith(prefixes):
        return None
    error_type = "ReturnedError"
    if head.startswith("Traceback (most recent call last)"):
        last = text.rstrip().rsplit("\n", 1)[-1].strip()
        match = _TRACEBACK_LAST.match(last)
        if match:
            error_type = match.group(1).rsplit(".", 1)[-1]
    return of("failure", Reason.ERROR_PREFIX, error_type, text.strip())


def _filled(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in _BLANK
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return len(value) > 0
    return True


def _number(value: Any, *, digits_only: bool = False) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and not digits_only and value.strip().isdigit():
        return float(value.strip())
    return None


def _folded(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _error_type(fields: Mapping[str, Any]) -> str:
    """A name for the returned error: the result's own type or code, else ``ReturnedError``."""
    error = fields.get("error")
    candidates = [fields.get("error_type")]
    if isinstance(error, Mapping):
        candidates[:0] = [error.get("type"), error.get("code"), error.get("name")]
    candidates.append(fields.get("code"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip() and len(candidate) <= 64:
            return candidate.strip()
    return "ReturnedError"


def _message(fields: Mapping[str, Any]) -> str:
    """The result's own words for what went wrong (error, errors, message, detail, …)."""
    for key in ("error", "errors", "message", "detail", "reason", "content"):
        text = _text(fields.get(key))
        if text:
            return text
    for key in ("status", "state", "status_code", "statusCode"):
        if fields.get(key) is not None:
            return f"{key}={fields.get(key)}"
    return ""


def _text(value: Any) -> str:
    if value is None or value is False or value is True:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        for key in ("message", "msg", "detail", "description", "text", "error"):
            text = _text(value.get(key))
            if text:
                return text
        return str(value)[:500]
    if isinstance(value, list | tuple):
        texts = [_text(item) for item in value[:5]]
        return "; ".join(t for t in texts if t)
    inner = getattr(value, "text", None)  # an MCP TextContent
    return inner.strip() if isinstance(inner, str) else str(value)[:500]
