"""Deciding how a tool call went — failure, partial, success, the model's invalid arguments,
refused — with what quality, and which rule said so.

The default judge reads, in this order (first match decides; see docs/recording.md):

1. what LangChain and LangGraph signal: an exception, a ``ToolMessage(status="error")`` (also
   inside a ``Command``), a guard's refusal — and errors a tool handled into text
   (seen by :mod:`toolwise.integrations.langgraph.handled_errors`). Argument-validation
   errors are the model's mistake: ``invalid_arguments``, never charged to the tool;
2. the tool's returned result (:mod:`toolwise.recording.judge.rules`): structured status
   fields (``success``/``ok`` false, ``error``/``errors``, ``status``/``state`` failed, an HTTP
   status ≥ 400, MCP ``isError``) in dicts, pydantic models, dataclasses and their JSON or repr
   text; then error-shaped text (``"Error: …"``); then, where a tool declared it, an empty
   result.

A tool can change step 2 where it is wrapped or registered, with ``judge=``: a
:class:`~toolwise.recording.judge.rules.JudgeRules` (declared rules), a :data:`Judge`
callable (decides after the rules; ``None`` keeps their verdict), or a mapping from tool name to
either (``"*"`` for the others). A tool can also declare its own where it is defined
(:func:`declare_judge`: in its metadata under :data:`DECLARED_JUDGE_KEY`); an entry point's
rule that names the tool wins over it, and it wins over the entry point's other rules. A judge
that raises or returns something that is not a verdict is ignored: the default verdict is kept,
the fallback counted (:func:`judge_fallbacks`) and logged once per judge.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias, TypeVar

from toolwise.errors import InvalidArgumentError
from toolwise.models import DEFAULT_QUALITY
from toolwise.recording.judge.exceptions import exception_verdict
from toolwise.recording.judge.messages import REFUSED_MARKER, signalled_verdict, unwrap
from toolwise.recording.judge.rules import DEFAULT_RULES, JudgeRules, returned_verdict
from toolwise.recording.judge.verdict import HARD_REASONS, Reason, Verdict, valid_verdict
from toolwise.recording.redact import SecretRedactor, printable, to_safe_text

__all__ = [
    "DECLARED_JUDGE_KEY",
    "REFUSED_MARKER",
    "Judge",
    "JudgeSpec",
    "check_judge",
    "declare_judge",
    "declared_judge",
    "default_verdict",
    "judge_error",
    "judge_fallbacks",
    "judge_output",
]

log = logging.getLogger("toolwise.judge")
_T = TypeVar("_T")

Judge = Callable[[Any], "Verdict | tuple[str, float] | str | None"]
"""``judge(output)`` returns a :class:`Verdict`, ``(outcome, quality)``, an outcome name, or
``None`` to keep the default verdict. It sees the tool's raw output (a ``ToolMessage`` inside
graphs) after the default rules, and may override what they returned (a structured failure
included). It is not called for exceptions, error messages, invalid arguments or refusals."""

JudgeSpec: TypeAlias = "Judge | JudgeRules | Mapping[str, Judge | JudgeRules]"
"""What ``judge=`` accepts: a judge callable, declared rules, or either per tool name (key
``"*"``: every tool not listed)."""


DECLARED_JUDGE_KEY = "toolwise_judge"
"""The key of a tool's ``metadata`` under which the tool declares how its results are judged,
where it is defined: ``@tool(metadata={DECLARED_JUDGE_KEY: JudgeRules(empty="partial")})``.
The value is a :class:`~toolwise.recording.judge.rules.JudgeRules` or a :data:`Judge`."""


def judge_error(error: BaseException) -> Verdict:
    """The verdict of a raised exception: ``invalid_arguments`` for the model's arguments
    failing the tool's schema, else a failure named after the exception class."""
    return exception_verdict(error)


def default_verdict(output: Any, rules: JudgeRules = DEFAULT_RULES) -> Verdict:
    """The default judge's verdict for a returned ``output`` (no user judge)."""
    signalled = signalled_verdict(output)
    if signalled is not None:
        return signalled
    returned = returned_verdict(unwrap(output), rules)
    return returned if returned is not None else Verdict("success", 1.0)


def judge_output(output: Any, judge: JudgeSpec | None = None, *, tool: str = "") -> Verdict:
    """The verdict for ``output`` of a call to ``tool``, under the judge set for that tool."""
    rules, custom = _resolve(judge, tool)
    try:
        verdict = default_verdict(output, rules)
    except Exception as exc:  # an output whose attributes raise (a remote proxy): it returned
        _fell_back(default_verdict, functools.partial(_unreadable, exc))
        verdict = Verdict("success", 1.0)
    if custom is None or verdict.reason in HARD_REASONS:
        return verdict
    try:
        decided = custom(output)
    except Exception as exc:  # a buggy judge must not break the tool call or lose the record
        _fell_back(custom, functools.partial(_raised, exc))
        return verdict
    return _coerce(decided, verdict, custom)


def check_judge(value: Any, field: str = "judge") -> JudgeSpec | None:
    """``value`` if it is a valid ``judge=``, else :class:`InvalidArgumentError` naming
    ``field`` — checked when an entry point is built, not on each call."""
    if value is None or isinstance(value, JudgeRules) or _is_judge(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, Mapping):
        for tool, spec in value.items():
            if not isinstance(tool, str) or not tool:
                raise InvalidArgumentError(field, tool, "tool names must be non-empty strings")
            if not (isinstance(spec, JudgeRules) or _is_judge(spec)):
                raise InvalidArgumentError(
                    f"{field}[{tool!r}]", spec, "must be a judge callable or JudgeRules"
                )
        return dict(value)
    raise InvalidArgumentError(
        field, value, "must be a judge callable, JudgeRules, or a mapping of tool name to those"
    )


def declare_judge(tool: _T, judge: Judge | JudgeRules) -> _T:
    """Declare on ``tool`` (any object with a ``metadata`` dict, a LangChain ``BaseTool``)
    how its results are judged, wherever it is later recorded; returns ``tool``.

    ``declare_judge(find_user, JudgeRules(empty="partial"))`` sets
    ``tool.metadata[DECLARED_JUDGE_KEY]``, checked now.

    Raises:
        InvalidArgumentError: ``judge`` is not a judge callable or ``JudgeRules``, or ``tool``
            has no ``metadata`` to hold it.
    """
    if not (isinstance(judge, JudgeRules) or _is_judge(judge)):
        raise InvalidArgumentError("judge", judge, "must be a judge callable or JudgeRules")
    metadata = getattr(tool, "metadata", None)
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidArgumentError("tool", tool, "has no metadata mapping to declare a judge in")
    try:
        tool.metadata = {**(metadata or {}), DECLARED_JUDGE_KEY: judge}  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidArgumentError("tool", tool, f"cannot hold metadata: {exc}") from exc
    return tool


def declared_judge(metadata: Mapping[str, Any] | None) -> Judge | JudgeRules | None:
    """The judge a tool declares in its ``metadata`` under :data:`DECLARED_JUDGE_KEY`, or
    None. A declaration that is not a judge callable or ``JudgeRules`` is ignored: the fallback
    is counted (:func:`judge_fallbacks`) and logged once — a tool's metadata is read on its
    calls, so this cannot fail earlier."""
    declared = metadata.get(DECLARED_JUDGE_KEY) if metadata else None
    if declared is None or isinstance(declared, JudgeRules) or _is_judge(declared):
        return declared
    _fell_back(
        declared,
        lambda: (
            f"declared in a tool's metadata ({DECLARED_JUDGE_KEY}={_short_repr(declared)}) "
            "is not a judge callable or JudgeRules"
        ),
    )
    return None


def _is_judge(value: Any) -> bool:
    return callable(value) and not isinstance(value, type | Mapping)


def _resolve(judge: JudgeSpec | None, tool: str) -> tuple[JudgeRules, Judge | None]:
    if judge is None:
        return DEFAULT_RULES, None
    if isinstance(judge, Mapping):
        spec = judge.get(tool)
        if spec is None:
            spec = judge.get("*")
        if spec is None:
            return DEFAULT_RULES, None
        judge = spec
    if isinstance(judge, JudgeRules):
        return judge, None
    return DEFAULT_RULES, judge


def _coerce(decided: Any, fallback: Verdict, judge: Judge) -> Verdict:
    if decided is None:
        return fallback
    if isinstance(decided, Verdict):
        if valid_verdict(decided):
            return decided if decided.reason else _with_reason(decided, Reason.JUDGE)
    elif isinstance(decided, str) and decided in DEFAULT_QUALITY:
        return Verdict(decided, DEFAULT_QUALITY[decided], reason=Reason.JUDGE)  # type: ignore[arg-type]
    elif isinstance(decided, tuple) and len(decided) == 2 and decided[0] in DEFAULT_QUALITY:
        quality = decided[1]
        if (
            isinstance(quality, int | float)
            and not isinstance(quality, bool)
            and math.isfinite(quality)
            and 0.0 <= quality <= 1.0
        ):
            return Verdict(decided[0], float(quality), reason=Reason.JUDGE)
    _fell_back(judge, lambda: f"returned {_short_repr(decided)}, not a verdict")
    return fallback


def _with_reason(verdict: Verdict, reason: str) -> Verdict:
    return Verdict(
        verdict.outcome, verdict.quality, verdict.error_type, verdict.error_message, reason
    )


class _Fallbacks:
    """How often a judge's answer was unusable; each judge is logged once (it would repeat
    on every call otherwise)."""

    def __init__(self) -> None:
        self.count = 0
        self._logged: weakref.WeakSet[Any] = weakref.WeakSet()
        self._logged_ids: set[int] = set()  # judges that cannot be weakly referenced
        self._lock = threading.Lock()

    def add(self, judge: Judge, why: Callable[[], str]) -> None:
        """Count a fallback of ``judge``; ``why()`` is worded only when it is logged."""
        with self._lock:
            self.count += 1
            first = self._first(judge)
        if first:
            name = getattr(judge, "__qualname__", None) or type(judge).__name__
            # What the judge returned or raised often holds the tool's output (returned by
            # mistake, KeyError('token=…')): redacted and cut before it reaches the log.
            said = to_safe_text(why(), _log_redactor(), _LOGGED_CHARS)
            log.warning(
                "toolwise: judge %s %s; the default verdict is kept (counted in "
                "tw.counters.judge_fallbacks; logged once per judge)",
                name,
                said,
            )

    def _first(self, judge: Judge) -> bool:
        try:
            if judge in self._logged:
                return False
            self._logged.add(judge)
        except TypeError:
            if id(judge) in self._logged_ids or len(self._logged_ids) >= 10_000:
                return False
            self._logged_ids.add(id(judge))
        return True


_FALLBACKS = _Fallbacks()


def _fell_back(judge: Judge, why: Callable[[], str]) -> None:
    _FALLBACKS.add(judge, why)


_LOGGED_CHARS = 300


@functools.cache
def _log_redactor() -> SecretRedactor:
    return SecretRedactor()


def _unreadable(error: BaseException) -> str:
    return f"could not read a tool's output ({_raised(error)}): judged a success"


def _raised(error: BaseException, limit: int = 200) -> str:
    return f"raised {type(error).__name__}: {printable(error)[:limit]}"


def _short_repr(value: Any, limit: int = 200) -> str:
    try:
        return repr(value)[:limit]
    except Exception:  # a broken __repr__ must not lose the record
        return f"<unprintable {type(value).__name__}>"


def judge_fallbacks() -> int:
    """Calls (in this process) whose judge raised or returned something that is not a
    verdict, so the default verdict was recorded instead."""
    return _FALLBACKS.count
