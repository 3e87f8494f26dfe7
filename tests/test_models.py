"""Records are validated at the boundary, immutable, and graded within fixed bounds."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from toolwise._summary import summarize
from toolwise.errors import InvalidAgentIdError, InvalidArgumentError
from toolwise.models import OUTCOMES, ToolOutcome, grade_importance, new_id


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"latency_ms": -0.001}, "latency_ms"),
        ({"latency_ms": math.nan}, "latency_ms"),
        ({"latency_ms": math.inf}, "latency_ms"),
        ({"cost": -1.0}, "cost"),
        ({"outcome": "ok"}, "outcome"),
        ({"quality": 1.01}, "quality"),
        ({"quality": math.nan}, "quality"),
        ({"tool": ""}, "tool"),
        ({"tool": " \t"}, "tool"),
        ({"tool": "x" * 257}, "tool"),
        ({"attempt": 0}, "attempt"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_bad_fields_raise_invalid_argument_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    """Every rejection is an InvalidArgumentError (also a ValueError) whose .field names it."""
    with pytest.raises(InvalidArgumentError) as info:
        ToolOutcome(**{"tool": "t", **fields})
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, ValidationError)


def test_nested_metadata_error_gives_the_path() -> None:
    """Metadata values must be flat; the error's field is the path to the bad value."""
    with pytest.raises(InvalidArgumentError) as info:
        ToolOutcome(tool="t", metadata={"nested": {"a": 1}})
    # pydantic appends the union member it tried last ("metadata.nested.str"): keep the prefix.
    assert info.value.field.startswith("metadata.nested")
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, ValidationError)


@pytest.mark.parametrize(
    "agent_id", ["", "  ", "a\x00", "line\nbreak", "x" * 201, "team\u202eteg", "a\u200bb"]
)
def test_unusable_agent_id_raises_invalid_agent_id(agent_id: str) -> None:
    """An id that cannot name a namespace is refused when the record is made."""
    with pytest.raises(InvalidAgentIdError) as info:
        ToolOutcome(tool="t", agent_id=agent_id)
    assert info.value.field == "agent_id"


def test_an_agent_id_in_another_script_is_kept() -> None:
    """Only invisible format characters are refused, not non-ASCII letters."""
    assert ToolOutcome(tool="t", agent_id="équipe-β").agent_id == "équipe-β"


def test_records_are_immutable() -> None:
    """Change a record by copy, never in place."""
    outcome = ToolOutcome(tool="t")
    with pytest.raises(ValidationError):
        outcome.tool = "other"  # type: ignore[misc]
    assert outcome.model_copy(update={"tool": "other"}).tool == "other"


def test_timestamps_are_stored_in_utc() -> None:
    """Naive times are taken as UTC; aware ones are converted to it."""
    naive = ToolOutcome(tool="t", timestamp=datetime(2030, 1, 1, 12))
    plus_two = ToolOutcome(
        tool="t", timestamp=datetime(2030, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    )
    assert naive.timestamp == plus_two.timestamp == datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert plus_two.timestamp.tzinfo is UTC


def test_json_round_trip_is_lossless() -> None:
    """What the spool and the store keep reads back equal to the original."""
    outcome = ToolOutcome(
        tool="t",
        quality=0.3,
        latency_ms=12.345678,
        tags=("a", "b"),
        metadata={"n": 1, "f": 0.5, "b": False, "s": "x"},
        expires_at=datetime(2031, 1, 1, tzinfo=UTC),
    )
    assert ToolOutcome.model_validate_json(outcome.model_dump_json()) == outcome


def test_quality_defaults_by_outcome() -> None:
    """success 1.0, partial 0.5, failure, refused and invalid_arguments 0.0 unless judged
    otherwise."""
    assert [ToolOutcome(tool="t", outcome=o).effective_quality for o in OUTCOMES] == [
        1.0,
        0.5,
        0.0,
        0.0,
        0.0,
    ]
    assert ToolOutcome(tool="t", outcome="partial", quality=0.8).effective_quality == 0.8


def test_expiry_is_inclusive_of_the_deadline() -> None:
    """A record is expired from its expires_at on; without one it never expires."""
    deadline = datetime(2030, 1, 1, tzinfo=UTC)
    outcome = ToolOutcome(tool="t", expires_at=deadline)
    assert not outcome.is_expired(deadline - timedelta(microseconds=1))
    assert outcome.is_expired(deadline)
    assert not ToolOutcome(tool="t").is_expired(datetime.max.replace(tzinfo=UTC))


def test_ids_are_unique_hex() -> None:
    """Fresh ids do not repeat and are 32 hex characters."""
    ids = {new_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_importance_orders_outcomes_and_rewards_speed() -> None:
    """Success above partial above failure; a fast success above a slow one."""
    assert grade_importance("success", 1.0, 500) > grade_importance("partial", 0.5, 500)
    assert grade_importance("partial", 0.5, 500) > grade_importance("failure", 0.0, 500)
    assert grade_importance("success", 1.0, 500) > grade_importance("success", 1.0, 55_000)


@given(
    outcome=st.sampled_from(OUTCOMES),
    quality=st.floats(min_value=0.0, max_value=1.0),
    latency=st.floats(min_value=0.0, allow_nan=False),
)
def test_importance_stays_within_bounds(outcome: str, quality: float, latency: float) -> None:
    """No inflation: importance lies in [0.3, 0.95] for every input."""
    assert 0.3 <= grade_importance(outcome, quality, latency) <= 0.95


# -- summary arithmetic (pure) ---------------------------------------------------------------


def test_summarize_matches_hand_computed_numbers() -> None:
    """Mean, linear-interpolated p50/p95, rates and costs, checked by hand."""
    records = [
        ToolOutcome(tool="a", latency_ms=10.0, cost=1.0),
        ToolOutcome(tool="a", latency_ms=20.0, cost=1.0, outcome="failure"),
        ToolOutcome(tool="a", latency_ms=30.0, cost=1.0),
        ToolOutcome(tool="a", latency_ms=40.0, cost=1.0),
        ToolOutcome(tool="a", latency_ms=100.0, cost=1.0, outcome="partial"),
        ToolOutcome(tool="b", latency_ms=7.0, cost=0.25, outcome="failure"),
    ]
    summary = summarize(records, agent_id="x")
    a, b = summary.tools
    assert a.mean_latency_ms == pytest.approx(40.0)
    assert a.p50_latency_ms == pytest.approx(30.0)
    assert a.p95_latency_ms == pytest.approx(88.0)  # 40 + 0.8 × (100 − 40)
    assert a.success_rate == pytest.approx(3 / 5)
    assert (b.success_rate, b.total_cost) == (0.0, 0.25)
    assert summary.success_rate == pytest.approx(3 / 6)
    assert summary.total_cost == pytest.approx(5.25)
    assert summary.agent_id == "x"


def test_summarize_reports_advice_adherence() -> None:
    """Calls made under a recommendation say how often it was followed and how that went."""
    records = [
        ToolOutcome(tool="a", recommended_tool="a"),
        ToolOutcome(tool="a", recommended_tool="a", outcome="failure"),
        ToolOutcome(tool="b", recommended_tool="a", outcome="failure"),
        ToolOutcome(tool="b"),  # no advice given: not counted
    ]
    advice = summarize(records, agent_id=None).advice
    assert advice["advised_calls"] == 3
    assert advice["adherence"] == pytest.approx(2 / 3)
    assert advice["success_when_followed"] == pytest.approx(0.5)
    assert advice["success_when_ignored"] == 0.0


def test_a_success_rate_over_no_calls_is_none_not_zero() -> None:
    """Advice always followed: nothing is known about ignoring it, so that rate is n/a."""
    records = [
        ToolOutcome(tool="a", recommended_tool="a"),
        ToolOutcome(tool="a", recommended_tool="a"),
    ]
    advice = summarize(records, agent_id=None).advice
    assert advice["success_when_followed"] == 1.0
    assert advice["success_when_ignored"] is None
