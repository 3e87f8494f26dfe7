"""Compact Chroma rows: only non-default fields in the JSON, no keys for blank labels, and
rows of the older full layout still read the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from toolwise.models import OUTCOMES, ToolOutcome
from toolwise.storage import rows
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.collections import fold, stored_dimension
from toolwise.storage.protocol import CallFilter

T0 = datetime(2030, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)

_TEXT = st.text(max_size=20)
_AMOUNT = st.floats(0, 1e9, allow_nan=False) | st.just(-0.0)
_MOMENT = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)
)
_FINITE = st.floats(allow_nan=False, allow_infinity=False)  # records.py makes them finite
_METADATA = st.dictionaries(_TEXT, st.booleans() | st.integers(-(2**53), 2**53) | _FINITE | _TEXT)
_OUTCOMES = st.builds(
    ToolOutcome,
    id=st.text(min_size=1, max_size=40),
    agent_id=st.sampled_from(["default", "ops", "team.b"]),
    tool=st.text(min_size=1, max_size=20).filter(str.strip),
    task_type=_TEXT,
    task=_TEXT,
    environment=_TEXT,
    session_id=_TEXT,
    run_id=_TEXT,
    outcome=st.sampled_from(OUTCOMES),
    quality=st.none() | st.floats(0, 1),
    latency_ms=_AMOUNT,
    cost=_AMOUNT,
    error_type=_TEXT,
    error_message=_TEXT,
    judged_by=_TEXT,
    tool_input=_TEXT,
    tool_output=_TEXT,
    timestamp=_MOMENT,
    expires_at=st.none() | _MOMENT,
    attempt=st.integers(1, 10),
    tags=st.lists(_TEXT, max_size=3).map(tuple),
    metadata=_METADATA,
    source=st.sampled_from(["direct", "callback"]),
    decision_id=_TEXT,
    recommended_tool=_TEXT,
    context_key=_TEXT,
)


def _at(minutes: int, **fields: Any) -> ToolOutcome:
    fields.setdefault("tool", "kubectl")
    return ToolOutcome(timestamp=T0 + timedelta(minutes=minutes), **fields)


def _old_metadata(outcome: ToolOutcome) -> dict[str, Any]:
    """A row as written before compact rows: full JSON and every label, blank or not."""
    return {
        "tool": outcome.tool,
        "task_type": outcome.task_type,
        "environment": outcome.environment,
        "session_id": outcome.session_id,
        "outcome": outcome.outcome,
        "timestamp": outcome.timestamp.timestamp(),
        "expires_at": rows.NO_EXPIRY,
        "record": outcome.model_dump_json(),
    }


@given(_OUTCOMES)
def test_a_compact_row_reads_back_the_exact_record(outcome: ToolOutcome) -> None:
    """Defaults left out of the JSON come back when it is parsed."""
    assert rows.record(rows.outcome_metadata(outcome, 1.0)) == outcome


@given(_OUTCOMES)
def test_an_old_full_row_reads_back_the_exact_record(outcome: ToolOutcome) -> None:
    """Rows written before compact rows still parse to the same record."""
    assert rows.record(_old_metadata(outcome)) == outcome


def test_a_default_record_keeps_only_its_identity_tool_and_time() -> None:
    """id and timestamp (default factories) are always kept; every default is left out."""
    outcome = _at(0)
    assert set(json.loads(rows.record_json(outcome))) == {"id", "tool", "timestamp"}


def test_blank_labels_have_no_metadata_key() -> None:
    """Chroma stores a row per key: blank labels are omitted, set ones kept."""
    meta = rows.outcome_metadata(_at(0, environment="prod"))
    assert meta["environment"] == "prod"
    assert "task_type" not in meta
    assert "session_id" not in meta


def test_the_agent_of_a_compact_record_is_the_default_when_left_out() -> None:
    """Moving rows between collections reads the agent from the record's JSON."""
    assert rows.agent_of(json.loads(rows.record_json(_at(0)))) == rows.DEFAULT_AGENT
    assert rows.agent_of(json.loads(rows.record_json(_at(0, agent_id="ops")))) == "ops"
    assert rows.agent_of({"not": "a record"}) is None


def _mixed_store(store: ChromaOutcomeStore) -> tuple[list[ToolOutcome], list[ToolOutcome]]:
    """Rows of both layouts, half with blank labels: (blank ones, labelled ones)."""
    blank_new, labelled_new = _at(1), _at(2, environment="prod", task_type="deploy")
    blank_old = _at(3)
    labelled_old = _at(4, environment="prod", task_type="deploy", session_id="s")
    store.write([blank_new, labelled_new])
    old = [blank_old, labelled_old]
    home = store._collection("default")
    home.upsert(
        ids=[o.id for o in old],
        embeddings=fold(store.embedding([o.tool for o in old]), stored_dimension(home)),
        metadatas=[_old_metadata(o) for o in old],
    )
    return [blank_new, blank_old], [labelled_new, labelled_old]


def _newest_first(outcomes: list[ToolOutcome]) -> list[ToolOutcome]:
    return sorted(outcomes, key=lambda o: o.timestamp, reverse=True)


def test_a_filter_on_a_blank_label_finds_rows_of_both_layouts(store: ChromaOutcomeStore) -> None:
    """environment == "" matches new rows (no key) and old ones ("" kept), nothing else."""
    blank, _ = _mixed_store(store)
    found = store.find("default", CallFilter(environment=""), limit=10, offset=0, now=NOW)
    assert found == _newest_first(blank)
    both = CallFilter(environment="", task_type="", tool="kubectl")
    assert store.find("default", both, limit=10, offset=0, now=NOW) == _newest_first(blank)


def test_a_filter_on_a_set_label_still_uses_the_key(store: ChromaOutcomeStore) -> None:
    """A set label filters in Chroma as before, over both layouts."""
    _, labelled = _mixed_store(store)
    found = store.find("default", CallFilter(environment="prod"), limit=10, offset=0, now=NOW)
    assert found == _newest_first(labelled)
    mixed = CallFilter(environment="prod", session_id="")
    assert store.find("default", mixed, limit=10, offset=0, now=NOW) == [labelled[0]]


def test_every_read_returns_both_layouts_exactly(store: ChromaOutcomeStore) -> None:
    """get, iter_outcomes, recent and similar parse old and new rows alike."""
    blank, labelled = _mixed_store(store)
    every = sorted([*blank, *labelled], key=lambda o: o.timestamp)
    assert sorted(store.get([o.id for o in every]), key=lambda o: o.timestamp) == every
    assert list(store.iter_outcomes("default", now=NOW)) == every
    assert store.recent(0.0, now=NOW, key="timestamp") == every
    similar = store.similar("default", "kubectl", k=10, now=NOW)
    assert sorted((s.outcome for s in similar), key=lambda o: o.timestamp) == every
