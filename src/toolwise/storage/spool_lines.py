"""A record as one spool line: written with the codec the replay reads it with, and checked.

The spool acknowledges a record once its line is written, and a replay (the writer, or the
next process after a crash) reads that line back. So :func:`encode` makes the line with
pydantic's JSON serialiser, decodes it again with :func:`decode` — exactly what the replay
runs — and compares the result with the record before anything is written. A record that
would not come back equal is refused with :class:`~toolwise.errors.InvalidArgumentError`
naming the field, instead of being acknowledged and then skipped as unreadable at replay.

This is a guarantee by construction rather than a list of special cases: NaN (which pydantic
writes as ``null``), lone surrogates (which cannot be written as UTF-8), a value whose type
changes on the way back, and whatever pydantic serialises differently tomorrow all fail the
same check. The record builder (:mod:`toolwise.recording.records`) refuses or repairs the
known cases first, with better messages; this check is the backstop. It costs one decode per
record — about as much again as the serialisation and the write (measured: +9 µs on a 10 µs
append) — paid in the background thread under deferred durability, not by the tool call.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pydantic_core
from pydantic import ValidationError

from toolwise.errors import InvalidArgumentError
from toolwise.models import ToolOutcome

__all__ = ["decode", "encode", "encode_checked"]


def decode(line: bytes | str) -> ToolOutcome:
    """The record a spool line holds (what every replay runs).

    Raises:
        ValueError: the line is not a valid record (pydantic's ``ValidationError``).
    """
    return ToolOutcome.model_validate_json(line)


def encode(outcome: ToolOutcome) -> bytes:
    """The spool line of ``outcome`` (UTF-8 JSON and a newline), proven to decode back equal.

    Raises:
        InvalidArgumentError: the record would not replay as it is; ``.field`` names the
            field (``metadata['key']``, ``tags[0]`` for an item).
    """
    return encode_checked(outcome)[0]


def encode_checked(outcome: ToolOutcome) -> tuple[bytes, ToolOutcome]:
    """:func:`encode`'s line, and the record :func:`decode` makes of it (equal to
    ``outcome``, value and type): what a replay of the line returns, without reading it.

    Raises:
        InvalidArgumentError: as :func:`encode`.
    """
    try:
        # No serialiser warnings: a value of an unexpected type is caught below, by name.
        text = outcome.model_dump_json(warnings=False)
        data = text.encode()
    except (pydantic_core.PydanticSerializationError, UnicodeEncodeError):
        field, value = _unwritable(outcome)
        raise InvalidArgumentError(field, value, "cannot be written to the spool") from None
    try:
        back = decode(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field, value = _at(outcome, error["loc"])
        raise InvalidArgumentError(
            field, value, f"would not read back from the spool ({error['msg']})"
        ) from None
    if back.__dict__ != outcome.__dict__ or _types(back.metadata) != _types(outcome.metadata):
        field, value, replayed = _difference(outcome, back)
        raise InvalidArgumentError(
            field, value, f"would read back from the spool as {replayed!r}, not as given"
        )
    return data + b"\n", back


def _types(metadata: Mapping[str, Any]) -> list[type]:
    """The type of each metadata value: 1, 1.0 and True are equal but not the same value."""
    return [type(value) for value in metadata.values()]


def _items(outcome: ToolOutcome) -> Iterator[tuple[str, Any]]:
    """Every field, and every item of ``metadata`` and ``tags``, with the name it goes by."""
    for name, value in outcome:
        if isinstance(value, Mapping):
            for key, item in value.items():
                yield f"{name}[{key!r}]", key
                yield f"{name}[{key!r}]", item
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                yield f"{name}[{index}]", item
        else:
            yield name, value


def _unwritable(outcome: ToolOutcome) -> tuple[str, Any]:
    """The first field (or item) the serialiser cannot write."""
    for name, value in _items(outcome):
        try:
            pydantic_core.to_json(value).decode()
        except (pydantic_core.PydanticSerializationError, UnicodeError):
            return name, value
    return "record", outcome.id


def _at(outcome: ToolOutcome, loc: tuple[int | str, ...]) -> tuple[str, Any]:
    """The field a validation error's location points to, as a caller spells it."""
    if not loc or loc[0] not in ToolOutcome.model_fields:
        return "record", outcome.id
    name = str(loc[0])
    value = getattr(outcome, name)
    if len(loc) > 1 and isinstance(value, Mapping) and loc[1] in value:
        return f"{name}[{loc[1]!r}]", value[loc[1]]
    if (
        len(loc) > 1
        and isinstance(value, tuple)
        and isinstance(loc[1], int)
        and loc[1] < len(value)
    ):
        return f"{name}[{loc[1]}]", value[loc[1]]
    return name, value


def _difference(outcome: ToolOutcome, back: ToolOutcome) -> tuple[str, Any, Any]:
    """The first field (or metadata value) that reads back other than it was given."""
    for name, value in outcome:
        replayed = getattr(back, name)
        if name == "metadata":
            for key, item in value.items():
                again = replayed.get(key)
                if again != item or type(again) is not type(item):
                    return f"metadata[{key!r}]", item, again
        if replayed != value:
            return name, value, replayed
    return "record", outcome.id, back.id
