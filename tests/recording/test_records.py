"""The one place a record is made: validated, redacted, bounded — and always replayable."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolwise.errors import InvalidAgentIdError, InvalidArgumentError
from toolwise.models import ToolOutcome
from toolwise.recording.records import RecordBuilder
from toolwise.recording.redact import REDACTED, SecretRedactor
from toolwise.storage.spool import Spool

T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "sk-" + "a1B2c3D4e5F6g7H8i9J0"


def _builder(**options: Any) -> RecordBuilder:
    return RecordBuilder(
        redactor=SecretRedactor(), ttl=timedelta(days=30), clock=lambda: T0, **options
    )


def test_free_text_fields_are_rendered_redacted_and_bounded() -> None:
    """Objects become JSON text, secrets become [REDACTED], long text is cut with a marker."""
    record = _builder(max_payload_chars=50).build(
        {
            "tool": "deploy",
            "tool_input": {"service": "api", "api_key": "hunter2"},
            "tool_output": "x" * 100,
            "error_message": f"auth failed with {SECRET}",
            "task": f"deploy with {SECRET}",
        }
    )
    assert record.tool_input == '{"service": "api", "api_key": "[REDACTED]"}'
    assert record.tool_output.startswith("x" * 50)
    assert "truncated 50 chars" in record.tool_output
    assert SECRET not in record.error_message + record.task
    assert REDACTED in record.error_message
    assert REDACTED in record.task


def test_labels_tags_and_metadata_values_are_redacted() -> None:
    """task_type, environment, every tag and every metadata value pass the redactor."""
    record = _builder().build(
        {
            "tool": "deploy",
            "task_type": f"deploy {SECRET}",
            "environment": f"prod {SECRET}",
            "tags": ("friday", f"token={SECRET}"),
            "metadata": {"password": "hunter2", "note": f"used {SECRET}", "replicas": 3},
        }
    )
    stored = record.model_dump_json()
    assert SECRET not in stored
    assert "hunter2" not in stored
    assert record.tags[0] == "friday"
    assert record.metadata == {
        "password": REDACTED,
        "note": f"used {REDACTED}",
        "replicas": 3,
    }


def test_every_free_text_field_a_caller_may_give_is_redacted() -> None:
    """``source`` and ``context_key`` are fields of ``record()`` too; they were stored as
    given, secrets and all."""
    record = _builder().build(
        {"tool": "t", "source": f"password={SECRET}", "context_key": f"token {SECRET}"}
    )
    assert SECRET not in record.model_dump_json()


def test_identifiers_are_kept_as_given() -> None:
    """Ids join records to runs and decisions: the redactor never rewrites them."""
    fields = {
        "session_id": "thread-token-1",
        "run_id": "r-1",
        "tool_call_id": "call_Abc123",
        "decision_id": "d-1",
        "recommended_tool": "deploy",
    }
    record = _builder().build({"tool": "deploy", **fields})
    assert {name: getattr(record, name) for name in fields} == fields


def test_an_identifier_that_holds_a_secret_is_stored_as_its_digest() -> None:
    """A token passed as a session id never reaches disk, and its records still join."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlc2lnbmF0dXJlc2ln"
    builder = _builder()
    first = builder.build({"tool": "deploy", "session_id": jwt, "run_id": f"run {SECRET}"})
    second = builder.build({"tool": "rollback", "session_id": jwt})

    assert jwt not in first.model_dump_json()
    assert SECRET not in first.model_dump_json()
    assert first.session_id.startswith("redacted-")
    assert first.session_id == second.session_id
    assert first.run_id != first.session_id


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_metadata_is_refused_naming_the_key(value: float) -> None:
    """JSON cannot carry NaN or infinity, so the spool could not replay the record."""
    with pytest.raises(InvalidArgumentError) as info:
        _builder().build({"tool": "deploy", "metadata": {"w": value}})
    assert info.value.field == "metadata['w']"


@pytest.mark.parametrize("value", [{"deep": {"er": 1}}, [1, 2], None, {1, 2}])
def test_metadata_that_is_not_one_flat_scalar_is_refused_naming_the_key(value: object) -> None:
    """Metadata values are str, int, float or bool: a container or None is named by its key."""
    with pytest.raises(InvalidArgumentError) as info:
        _builder().build({"tool": "deploy", "metadata": {"k": value}})
    assert info.value.field == "metadata['k']"


@pytest.mark.parametrize("field", ["latency_ms", "cost", "quality"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_numbers_are_refused_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _builder().build({"tool": "deploy", field: value})
    assert info.value.field == field


@pytest.mark.parametrize("tool", ["deploy\nINFO toolwise: all good", "\x00deploy", "a\tb"])
def test_a_tool_name_with_control_characters_is_refused_naming_tool(tool: str) -> None:
    """Agent ids refuse them; a tool name did not, and is printed as is in log lines, the
    command line's tables and the dashboard (a newline forged a log line)."""
    with pytest.raises(InvalidArgumentError) as caught:
        _builder().build({"tool": tool})
    assert caught.value.field == "tool"


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    """A badly decoded tool output still gives a record the spool can write."""
    record = _builder().build(
        {"tool": "deploy", "tool_output": "ok \ud800 done", "tags": ("\udfff",)}
    )
    assert record.tool_output == "ok \ufffd done"
    assert record.tags == ("\ufffd",)
    record.model_dump_json()


def test_an_agent_id_with_a_lone_surrogate_is_refused() -> None:
    """A namespace is never silently rewritten: the id is refused instead."""
    with pytest.raises(InvalidAgentIdError):
        _builder().build({"tool": "deploy", "agent_id": "team\ud800"})


def test_expiry_defaults_to_timestamp_plus_ttl() -> None:
    assert _builder().build({"tool": "deploy"}).expires_at == T0 + timedelta(days=30)


@pytest.mark.parametrize("given", ["2030-06-01T12:00:00Z", T0.timestamp()])
def test_a_timestamp_given_as_text_or_seconds_still_expires(given: object) -> None:
    """The TTL applies however the timestamp was spelt: no record lives forever by accident."""
    record = _builder().build({"tool": "deploy", "timestamp": given})
    assert (record.timestamp, record.expires_at) == (T0, T0 + timedelta(days=30))


def test_an_unreadable_timestamp_is_refused_naming_it() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _builder().build({"tool": "deploy", "timestamp": "next tuesday"})
    assert info.value.field == "timestamp"


def test_a_timestamp_too_late_for_the_ttl_is_refused() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _builder().build({"tool": "deploy", "timestamp": datetime.max})
    assert info.value.field == "timestamp"


def test_a_timestamp_outside_utc_is_refused() -> None:
    early = datetime.min.replace(tzinfo=timezone(timedelta(hours=5)))
    with pytest.raises(InvalidArgumentError) as info:
        RecordBuilder(redactor=None, ttl=None).build({"tool": "deploy", "timestamp": early})
    assert info.value.field == "timestamp"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"success": 1.5}, "success"),
        ({"success": "yes"}, "success"),
        ({"success": float("nan")}, "success"),
        ({"weight": -1.0}, "weight"),
        ({"weight": float("inf")}, "weight"),
        ({"latency_ms": float("nan")}, "latency_ms"),
        ({"cost": -2.0}, "cost"),
        ({"agent_id": "a" * 250}, "agent_id"),
    ],
)
def test_an_observation_names_its_bad_argument(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _builder().observation(**{"tool": "deploy", "success": True, **arguments})
    assert info.value.field == field


def test_an_observation_keeps_its_quality_and_weight() -> None:
    record = _builder().observation("deploy", 0.25, weight=2.0, task_type="release")
    assert (record.outcome, record.quality, record.task_type) == ("partial", 0.25, "release")
    assert (record.source, record.metadata) == ("observe", {"weight": 2.0})


_TEXT = st.text(max_size=60)
_SCALARS = st.one_of(st.booleans(), st.integers(-(2**53), 2**53), st.floats(), _TEXT)


@settings(max_examples=60, deadline=None)
@given(
    text=_TEXT,
    label=_TEXT,
    tags=st.lists(_TEXT, max_size=3),
    metadata=st.dictionaries(_TEXT, _SCALARS, max_size=4),
)
def test_every_record_built_is_replayed_from_the_spool_unchanged(
    tmp_path_factory: pytest.TempPathFactory,
    text: str,
    label: str,
    tags: list[str],
    metadata: dict[str, Any],
) -> None:
    """Whatever the input, the builder either refuses it (naming the field) or makes a record
    that the spool writes and reads back identical: nothing is acknowledged and then lost."""
    fields = {
        "tool": "deploy",
        "task": text,
        "tool_output": text,
        "task_type": label,
        "tags": tags,
        "metadata": metadata,
    }
    if any(isinstance(v, float) and not math.isfinite(v) for v in metadata.values()):
        with pytest.raises(InvalidArgumentError, match="metadata"):
            _builder().build(fields)
        return
    record = _builder().build(fields)
    spool = Spool(Path(tmp_path_factory.mktemp("spool")), fsync="never")
    spool.append(record)
    replayed, _ = spool.read_batch(10)
    spool.close(drained=True)
    assert replayed == [record]


def test_a_record_built_elsewhere_is_rebuilt_under_the_same_rules() -> None:
    """``record(ToolOutcome(...))`` gets the redaction and the expiry of every record."""
    outcome = ToolOutcome(tool="deploy", task=f"with {SECRET}", tags=(SECRET,), timestamp=T0)
    rebuilt = _builder().rebuild(outcome)
    assert (rebuilt.id, rebuilt.timestamp) == (outcome.id, T0)
    assert SECRET not in rebuilt.model_dump_json()
    assert rebuilt.expires_at == T0 + timedelta(days=30)


def test_a_record_older_than_the_retention_is_refused_naming_timestamp() -> None:
    """A backfill past the TTL would be stored and never shown: it is refused instead."""
    with pytest.raises(InvalidArgumentError) as info:
        _builder().build({"tool": "deploy", "timestamp": T0 - timedelta(days=31)})
    assert info.value.field == "timestamp"
    assert "older than the retention" in str(info.value)


def test_a_record_inside_the_retention_is_kept() -> None:
    """Backdated by less than the TTL, a record is built and lives out the rest of it."""
    record = _builder().build({"tool": "deploy", "timestamp": T0 - timedelta(days=29)})
    assert record.expires_at == T0 + timedelta(days=1)


def test_an_expiry_already_passed_is_refused_naming_expires_at() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _builder().build({"tool": "deploy", "expires_at": T0 - timedelta(seconds=1)})
    assert info.value.field == "expires_at"


@pytest.mark.parametrize("label", ["x" * 600, "password=hunter2", "deploy"])
def test_a_label_is_queried_in_the_form_it_is_stored(label: str) -> None:
    """label() gives the stored form, and a stored form read back is kept as it is."""
    builder = _builder()
    stored = builder.build({"tool": "deploy", "task_type": label}).task_type
    assert builder.label(label) == stored
    assert builder.label(stored) == stored
