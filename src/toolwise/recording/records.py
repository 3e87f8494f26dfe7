"""Building a record: the one place where every record is validated, redacted and bounded.

Every way a record is made ends in :meth:`RecordBuilder.build`: a tool call seen by the
callback handler, an instrumented tool, the ``ToolNode`` interceptor or the agent middleware
(through :class:`~toolwise.recording.recorder.Recorder`), and ``record()`` and ``observe()``
(through the runtime). One set of rules therefore holds for all of them:

* **Free text** (``task``, ``tool_input``, ``tool_output``, ``error_message``, ``error_type``)
  is rendered as text (objects as JSON), redacted, and cut with a visible marker — inputs and
  outputs to ``max_payload_chars``, the rest to ``max_text_chars``.
* **Labels, tags and metadata** pass the redactor too: ``task_type``, ``environment``,
  ``judged_by`` (a user's judge may name its reason), ``source`` and ``context_key`` (any
  text a caller of ``record()`` gives), every tag, and every metadata value
  (values under secret-looking keys are replaced whole; string values are redacted and cut to
  ``max_payload_chars``).
* **Identifiers are kept as given**: ``id``, ``agent_id``, ``tool``, ``session_id``,
  ``run_id``, ``tool_call_id``, ``decision_id`` and ``recommended_tool`` join records to runs,
  decisions and namespaces, and a redactor that rewrote one would silently split them.
  ``agent_id`` is validated as a namespace (:func:`~toolwise.models.check_agent_id`), and
  ``tool`` must hold no control character (a newline in it would forge a log line). A
  caller-given ``session_id``, ``run_id``, ``tool_call_id`` or ``decision_id`` that holds a
  secret is stored as a digest of it instead
  (:func:`~toolwise.recording.redact.redact_identifier`): still joinable, never in clear.
* **Numbers are finite**: NaN or infinity in ``latency_ms``, ``cost``, ``quality`` or a
  metadata value raises :class:`~toolwise.errors.InvalidArgumentError` naming the field. JSON
  cannot carry them, so the spool could not replay such a record: it is refused at the call,
  never acknowledged and then lost. ``latency_ms`` is at most :data:`MAX_LATENCY_MS` and
  ``cost`` at most :data:`MAX_COST` (as over HTTP): sums of larger ones overflow to infinity
  in summaries and the learnt view.
* **Text is encodable**: a lone surrogate (a badly decoded tool output) becomes U+FFFD, so
  the spool line always serialises.
* ``expires_at`` defaults to ``timestamp + ttl`` (a timestamp given as ISO text or epoch
  seconds too). A record already expired when built (a backfill older than the retention) is
  refused, naming ``timestamp`` (or ``expires_at`` when given): reads never show an expired
  record, so accepting it would lose it silently. Records already accepted and replayed from
  the spool do not pass here and are never refused.

The builder is pure (no I/O) and thread-safe; its small caches hold the redacted form of
labels and of the last task text, which repeat on nearly every call of a run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from toolwise.errors import InvalidArgumentError
from toolwise.models import ToolOutcome, has_control_characters, utcnow
from toolwise.recording.redact import TRUNCATED, Redactor, redact_identifier, to_safe_text

__all__ = ["MAX_COST", "MAX_LATENCY_MS", "MAX_TEXT_CHARS", "RecordBuilder", "encodable"]

MAX_TEXT_CHARS = 500
"""Task text, error messages, error types, labels and tags are cut to this many characters."""

MAX_LATENCY_MS = 1e10
"""The longest latency a record may carry (115 days): a larger one is a unit mistake."""
MAX_COST = 1e12
"""The largest cost a record may carry: sums of larger ones are not finite."""

_MEASURES = (("latency_ms", MAX_LATENCY_MS), ("cost", MAX_COST))
_PAYLOADS = ("tool_input", "tool_output")
_TEXTS = ("task", "error_message", "error_type")
_LABELS = ("task_type", "environment", "judged_by", "source", "context_key")
_IDENTIFIERS = ("session_id", "run_id", "tool_call_id", "decision_id")
_MAX_CACHED_LABELS = 4_096
_DIGESTED = "redacted-"  # redact_identifier's prefix
_SURROGATE = re.compile("[\ud800-\udfff]")
_CUT_LABEL = re.compile(r"(.*)" + re.escape(TRUNCATED).replace(r"\{n\}", r"\d+"), re.DOTALL)
# Containers are not metadata values; said here, by key, rather than by the model's
# union error (``metadata.k.str``). Other types are left to the model to convert or refuse.
_NOT_METADATA = (Mapping, list, tuple, set, frozenset)


def encodable(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so it can be written as UTF-8."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


class RecordBuilder:
    """Makes valid, redacted, bounded :class:`~toolwise.models.ToolOutcome` records.

    Args:
        redactor: applied to every free-text field, label, tag and metadata value; ``None``
            turns redaction off (text is still bounded).
        ttl: how long records live; ``None`` keeps them until forgotten.
        max_payload_chars: tool inputs, outputs and metadata strings are cut to this.
        max_text_chars: task text, errors, labels and tags are cut to this.
        clock: "now" (UTC), the timestamp of a record built without one.
    """

    def __init__(
        self,
        *,
        redactor: Redactor | None,
        ttl: timedelta | None,
        max_payload_chars: int = 2_000,
        max_text_chars: int = MAX_TEXT_CHARS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if isinstance(max_payload_chars, bool) or not isinstance(max_payload_chars, int):
            raise InvalidArgumentError(
                "max_payload_chars", max_payload_chars, "must be an int >= 1"
            )
        if max_payload_chars < 1:
            raise InvalidArgumentError("max_payload_chars", max_payload_chars, "must be >= 1")
        self._redactor = redactor
        self._ttl = ttl
        self._max_payload = max_payload_chars
        self._max_text = max_text_chars
        self._clock = clock
        self._labels: dict[str, str] = {}
        self._tags: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._last_task: tuple[str, str] = ("", "")

    @property
    def ttl(self) -> timedelta | None:
        """How long the records built here live."""
        return self._ttl

    def label(self, value: str) -> str:
        """The form a label (``task_type``, ``environment``) is stored and learnt under.

        Reads apply it to the labels they are asked about, so a label the builder cuts or
        redacts finds the records it named. A label already in stored form (read back from a
        record) is returned unchanged.
        """
        if not value:
            return value
        cut = _CUT_LABEL.fullmatch(value)
        if cut is not None and len(cut.group(1)) <= self._max_text:
            return value  # already in stored form: cutting again would change it
        return self._label(value)

    def identifier(self, value: str) -> str:
        """The form a ``session_id`` (``run_id`` …) is stored under: itself, or a digest when
        it holds a secret. Reads filter by it, so a digested session finds its records."""
        if not value or value.startswith(_DIGESTED):
            return value  # empty, or already in stored form (read back from a record)
        return redact_identifier(value, self._redactor)

    def build(self, fields: Mapping[str, Any]) -> ToolOutcome:
        """The record for ``fields`` (those of :class:`ToolOutcome`; text fields may be any
        object, rendered as text).

        Raises:
            InvalidArgumentError: a field is invalid or not finite; ``.field`` names it.
        """
        values = dict(fields)
        for name in _PAYLOADS:
            value = values.get(name, "")
            if value.__class__ is not str or value:  # "" needs no work (and None is "")
                values[name] = self._text(value, self._max_payload)
        for name in _TEXTS:
            value = values.get(name, "")
            if value.__class__ is not str or value:
                values[name] = self._short_text(name, value)
        for name in _LABELS:
            value = values.get(name)
            if isinstance(value, str) and value:
                values[name] = self._label(value)
        for name in _IDENTIFIERS:
            value = values.get(name)
            if isinstance(value, str) and value:
                values[name] = redact_identifier(value, self._redactor)
        tags = values.get("tags")
        if tags:
            values["tags"] = self._safe_tags(tags)
        metadata = values.get("metadata")
        if metadata:
            values["metadata"] = self._metadata(metadata)
        for name, most in _MEASURES:
            _check_at_most(name, values.get(name), most)
        tool = values.get("tool")
        if isinstance(tool, str) and has_control_characters(tool):
            # A tool name is printed as is: in log lines (a newline forges one), tables, the
            # dashboard. Agent ids are refused alike (models.check_agent_id).
            raise InvalidArgumentError("tool", tool, "must not contain control characters")
        record_id = values.get("id")
        if isinstance(record_id, str) and record_id and not record_id.strip():
            # get_call, forget and DELETE .../calls/{id} refuse a blank id: it could never go
            raise InvalidArgumentError("id", record_id, "must not be blank")
        for name, value in values.items():  # identifiers; a namespace is refused instead
            if isinstance(value, str) and not value.isascii() and name != "agent_id":
                values[name] = encodable(value)
        timestamp = values.get("timestamp")
        if timestamp is None:
            values["timestamp"] = timestamp = self._clock()
        elif not isinstance(timestamp, datetime):  # ISO text or epoch seconds: the expiry needs it
            values["timestamp"] = timestamp = _moment(timestamp)
        derived = values.get("expires_at") is None and self._ttl is not None
        if derived and self._ttl is not None:
            values["expires_at"] = _expiry(timestamp, self._ttl)
        outcome = ToolOutcome(**values)
        self._check_not_expired(outcome, derived=derived)
        return outcome

    def _check_not_expired(self, outcome: ToolOutcome, *, derived: bool) -> None:
        """Refuse a record that no read would ever show: it expired before it was made."""
        now = self._clock()
        if not outcome.is_expired(now):
            return
        if derived:
            raise InvalidArgumentError(
                "timestamp",
                outcome.timestamp,
                f"is older than the retention (ttl {self._ttl}): the record would expire "
                f"at once and never be read; keep such records with a longer ttl",
            )
        raise InvalidArgumentError(
            "expires_at", outcome.expires_at, f"has already passed (now {now.isoformat()})"
        )

    def rebuild(self, outcome: ToolOutcome) -> ToolOutcome:
        """``outcome`` under the same rules (a record built elsewhere, e.g. by the caller)."""
        return self.build(outcome.model_dump())

    def observation(
        self,
        tool: str,
        success: bool | float,
        *,
        task_type: str = "",
        weight: float = 1.0,
        agent_id: str = "default",
        environment: str = "",
        latency_ms: float | None = None,
        cost: float | None = None,
    ) -> ToolOutcome:
        """The record of a priors-API observation: a quality, optionally weighted.

        Raises:
            InvalidArgumentError: naming ``tool``, ``success``, ``weight``, ``agent_id``,
                ``latency_ms`` or ``cost``.
        """
        quality = _quality(success)
        return self.build(
            {
                "agent_id": agent_id,
                "tool": tool,
                "task_type": task_type,
                "environment": environment,
                "outcome": "success"
                if quality >= 1.0
                else "failure"
                if quality <= 0.0
                else "partial",
                "quality": quality,
                "latency_ms": 0.0 if latency_ms is None else latency_ms,
                "cost": 0.0 if cost is None else cost,
                "source": "observe",
                "metadata": {"weight": _weight(weight)},
            }
        )

    # -- the rules --------------------------------------------------------------------------

    def _text(self, value: Any, limit: int) -> str:
        text = to_safe_text(value, self._redactor, limit)
        return text if text.isascii() else encodable(text)

    def _short_text(self, name: str, value: Any) -> str:
        """Task text is cached: the calls of one run share it, and it can be long."""
        if name != "task" or not isinstance(value, str) or not value:
            return self._text(value, self._max_text)
        cached = self._last_task
        if cached[0] == value:
            return cached[1]
        safe = self._text(value, self._max_text)
        self._last_task = (value, safe)
        return safe

    def _label(self, value: str) -> str:
        safe = self._labels.get(value)
        if safe is None:
            safe = self._text(value, self._max_text)
            if len(self._labels) >= _MAX_CACHED_LABELS:
                self._labels.clear()
            self._labels[value] = safe
        return safe

    def _safe_tags(self, tags: Any) -> Any:
        if isinstance(tags, str) or not isinstance(tags, tuple | list):
            return tags  # the model names the field and says what it must be
        key = tuple(tags)
        safe = self._tags.get(key)
        if safe is None:
            safe = tuple(self._label(t) if isinstance(t, str) else t for t in key)
            if len(self._tags) >= _MAX_CACHED_LABELS:
                self._tags.clear()
            self._tags[key] = safe
        return safe

    def _metadata(self, metadata: Any) -> Any:
        if not isinstance(metadata, Mapping):
            return metadata  # the model names the field and says what it must be
        for key, value in metadata.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidArgumentError(
                    f"metadata[{key!r}]", value, "must be a finite number (JSON has no NaN)"
                )
            if value is None or isinstance(value, _NOT_METADATA):
                raise InvalidArgumentError(
                    f"metadata[{key!r}]", value, "must be a str, int, float or bool (one level)"
                )
        cleaned: Mapping[Any, Any] = metadata
        if self._redactor is not None:
            try:  # one walk: values under secret-looking keys are replaced whole
                redacted = self._redactor(dict(metadata))
            except Exception:  # a failing redactor: fall back to value by value, never raw
                redacted = None
            if isinstance(redacted, Mapping):
                cleaned = redacted
            else:
                cleaned = {
                    k: self._text(v, self._max_payload) if isinstance(v, str) else v
                    for k, v in metadata.items()
                }
        return {encodable(str(k)): self._bounded(v) for k, v in cleaned.items()}

    def _bounded(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if len(value) > self._max_payload:
            value = to_safe_text(value, None, self._max_payload)
        return encodable(value)


def _check_at_most(name: str, value: object, most: float) -> None:
    """Refuse a finite measure above ``most`` (the model refuses other bad values itself)."""
    if isinstance(value, int | float) and math.isfinite(value) and value > most:
        raise InvalidArgumentError(name, value, f"must be at most {most:g}")


def _expiry(timestamp: Any, ttl: timedelta) -> Any:
    """``timestamp + ttl``; an unusable timestamp is left for the model to name."""
    if not isinstance(timestamp, datetime):
        return None
    aware = timestamp if timestamp.tzinfo is not None else timestamp.replace(tzinfo=UTC)
    try:
        return aware + ttl
    except OverflowError:
        raise InvalidArgumentError(
            "timestamp", timestamp, f"is too late to live for the ttl ({ttl})"
        ) from None


_MOMENT: TypeAdapter[datetime] = TypeAdapter(datetime)


def _moment(value: object) -> datetime:
    """A timestamp given as text or a number, parsed as the record model would parse it."""
    try:
        return _MOMENT.validate_python(value)
    except ValidationError as exc:
        raise InvalidArgumentError("timestamp", value, exc.errors()[0]["msg"]) from None


def _quality(success: object) -> float:
    """``True``/``False`` as 1/0, or a number in [0, 1] (a partial success)."""
    if isinstance(success, bool):
        return 1.0 if success else 0.0
    if isinstance(success, int | float) and 0.0 <= success <= 1.0:
        return float(success)
    raise InvalidArgumentError("success", success, "must be a bool or a number in [0, 1]")


MAX_WEIGHT = 1e6
"""One observation counts as at most this many calls (beyond it the learner's sums overflow)."""


def _weight(weight: object) -> float:
    if (
        isinstance(weight, bool)
        or not isinstance(weight, int | float)
        or not math.isfinite(weight)
        or not 0 <= weight <= MAX_WEIGHT
    ):
        raise InvalidArgumentError("weight", weight, f"must be a number in [0, {MAX_WEIGHT:g}]")
    return float(weight)
