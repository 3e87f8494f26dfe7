"""A spool line is only written when it reads back as the record it was made from."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from toolwise.errors import InvalidArgumentError
from toolwise.models import ToolOutcome
from toolwise.storage.spool import Spool
from toolwise.storage.spool_lines import decode, encode


def _record(**fields: Any) -> ToolOutcome:
    return ToolOutcome(tool="deploy", task="ship web", metadata={"n": 1, "w": 0.5}, **fields)


def test_a_line_decodes_to_the_record_it_was_made_from() -> None:
    record = _record(tags=("a", "b"), tool_output="ok ✓")
    line = encode(record)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert decode(line) == record


@pytest.mark.parametrize(
    ("update", "field"),
    [
        # pydantic writes NaN and infinity as null: the line would not read back at all
        ({"metadata": {"w": float("nan")}}, "metadata['w']"),
        # ... or read back as another value: quality null is "no quality"
        ({"quality": float("inf")}, "quality"),
        # a lone surrogate cannot be written as UTF-8
        ({"task": "bad \ud800 text"}, "task"),
        ({"tags": ("ok", "\udfff")}, "tags[1]"),
        # Decimal is written as a string and would come back as one
        ({"metadata": {"n": Decimal(1)}}, "metadata['n']"),
    ],
)
def test_a_record_that_would_not_read_back_is_refused_naming_the_field(
    update: dict[str, Any], field: str
) -> None:
    """Records changed by ``model_copy`` skip validation: the line check still catches them."""
    record = _record().model_copy(update=update)
    with pytest.raises(InvalidArgumentError) as info:
        encode(record)
    assert info.value.field == field


def test_the_spool_acknowledges_nothing_it_could_not_replay(tmp_path: Path) -> None:
    """A refused record leaves no line behind, and is not counted as appended."""
    spool = Spool(tmp_path, fsync="never")
    with pytest.raises(InvalidArgumentError):
        spool.append(_record().model_copy(update={"metadata": {"w": float("nan")}}))
    good = _record()
    spool.append(good)
    replayed, cursor = spool.read_batch(10)
    assert (replayed, cursor.skipped, spool.appended) == ([good], 0, 1)
    spool.close(drained=False)
