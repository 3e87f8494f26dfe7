"""Paging through one real Chroma collection: every row once, expiry checked in Python."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from toolwise.models import ToolOutcome
from toolwise.storage import paging, rows
from toolwise.storage.embeddings import HashingEmbedding

T0 = datetime(2030, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1)


def _collection(client: Any, outcomes: list[ToolOutcome]) -> Any:
    """A collection holding ``outcomes`` laid out as the store lays them out."""
    collection = client.create_collection(f"paging-{uuid.uuid4().hex[:12]}")
    collection.upsert(
        ids=[o.id for o in outcomes],
        embeddings=HashingEmbedding()([rows.outcome_document(o) for o in outcomes]),
        metadatas=[rows.outcome_metadata(o) for o in outcomes],
    )
    return collection


def _at(minutes: int, **fields: Any) -> ToolOutcome:
    return ToolOutcome(**{"tool": "deploy", "timestamp": T0 + timedelta(minutes=minutes), **fields})


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows, "PAGE", 3)  # several pages from a handful of rows


def test_live_reads_every_unexpired_row_once_across_pages(client: Any) -> None:
    live = [_at(m) for m in range(7)]
    expired = [_at(10 + m, expires_at=T0 + timedelta(hours=1)) for m in range(2)]
    found = paging.live(_collection(client, [*live, *expired]), None, NOW)
    assert sorted(found) == sorted(o.id for o in live)


def test_live_since_keeps_only_rows_from_that_moment_on(client: Any) -> None:
    outcomes = [_at(m) for m in range(6)]
    found = paging.live(_collection(client, outcomes), None, NOW, T0 + timedelta(minutes=4))
    assert sorted(found) == sorted(o.id for o in outcomes[4:])


def test_ids_pages_through_every_match(client: Any) -> None:
    outcomes = [_at(m) for m in range(8)]
    where = {"timestamp": {"$gte": (T0 + timedelta(minutes=1)).timestamp()}}
    assert sorted(paging.ids(_collection(client, outcomes), where)) == sorted(
        o.id for o in outcomes[1:]
    )


def test_delete_matching_removes_every_match_in_small_steps(client: Any) -> None:
    """More matches than a page and than a delete step: all go, the others stay."""
    keep = [_at(m, tool="keep") for m in range(2)]
    drop = [_at(m, tool="drop") for m in range(7)]
    collection = _collection(client, [*keep, *drop])
    assert paging.delete_matching(collection, None, {"tool": "drop"}, step=2) == 7
    assert sorted(collection.get(include=[])["ids"]) == sorted(o.id for o in keep)
