"""Recall of similar records: the failure index first, Chroma's own filter as the fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from toolwise.models import ToolOutcome
from toolwise.storage import failure_index
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.naming import collection_name_for

T0 = datetime(2030, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def _call(tool: str, outcome: str = "success", **fields: Any) -> ToolOutcome:
    return ToolOutcome(tool=tool, outcome=outcome, task="roll out web", timestamp=T0, **fields)


def test_recall_of_one_outcome_never_returns_another(store: ChromaOutcomeStore) -> None:
    failures = [_call(f"tool{i}", "failure") for i in range(3)]
    store.write([*failures, *(_call(f"tool{i}") for i in range(5))])
    found = store.similar("default", "tool1 failure", k=10, now=NOW, outcome="failure")
    assert {hit.outcome.id for hit in found} == {o.id for o in failures}
    successes = store.similar("default", "tool1", k=10, now=NOW, outcome="success")
    assert len(successes) == 5
    assert all(hit.outcome.outcome == "success" for hit in successes)


def test_recall_never_returns_an_expired_record(store: ChromaOutcomeStore) -> None:
    live = _call("deploy")
    gone = _call("deploy", expires_at=T0 + timedelta(hours=1))
    store.write([live, gone])
    assert [hit.outcome.id for hit in store.similar("default", "deploy", k=5, now=NOW)] == [live.id]


def test_failures_are_recalled_without_their_index(
    store: ChromaOutcomeStore, client: Any, prefix: str
) -> None:
    """With the failure index gone (a store from before it), Chroma's filter answers."""
    failures = [_call("deploy", "failure") for _ in range(2)]
    store.write([*failures, _call("deploy")])
    client.delete_collection(collection_name_for("default", f"{prefix}-{failure_index.KIND}"))
    reopened = ChromaOutcomeStore(client, prefix=prefix)
    found = reopened.similar("default", "deploy", k=10, now=NOW, outcome="failure")
    assert {hit.outcome.id for hit in found} == {o.id for o in failures}
