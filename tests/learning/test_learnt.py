"""The learnt ids: a record met twice is learnt once, and a snapshot keeps the ids a replay
from it can meet (``learning/learnt.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from toolwise.learning import learnt
from toolwise.learning.learnt import LearntIds

FAR = (float("inf"), float("inf"))  # no build read the store


def _kept(ids: LearntIds, watermark: float = 1_000.0) -> list[str]:
    return ids.for_snapshot(watermark=watermark, window=30.0, overlap=3.0, build_span=FAR)


def test_a_record_is_learnt_the_first_time_its_id_is_met() -> None:
    """``add`` says yes once per id; the store is told which ids are known."""
    ids = LearntIds()
    assert ids.add("a")
    assert not ids.add("a")
    assert "a" in ids.known
    assert len(ids) == 1


def test_the_oldest_ids_are_forgotten_past_the_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays bounded: past the capacity the first id met is the first forgotten."""
    monkeypatch.setattr(learnt, "CAPACITY", 2)
    ids = LearntIds()
    for record_id in ("a", "b", "c"):
        ids.add(record_id)
    assert "a" not in ids.known
    assert len(ids) == 2


def test_ids_restored_with_a_snapshot_are_not_news_for_the_next_one() -> None:
    """Only records learnt after a restore count towards the next snapshot."""
    ids = LearntIds()
    ids.add("before", at=900.0)
    ids.restart(["a", "b"], at=990.0)
    assert ids.since_snapshot == 0
    assert "before" not in ids.known
    assert _kept(ids) == ["a", "b"]
    ids.add("c")
    assert ids.since_snapshot == 1


@pytest.mark.parametrize(
    "first_use",
    [
        lambda ids: not ids.add("a"),
        lambda ids: "b" in ids.known,
        lambda ids: len(ids) == 2,
        lambda ids: _kept(ids) == ["a", "b"],
    ],
    ids=["add", "known", "len", "snapshot"],
)
def test_restored_ids_are_indexed_on_first_use(first_use: Callable[[LearntIds], bool]) -> None:
    """A restart defers indexing; whatever asks first sees every restored id."""
    ids = LearntIds()
    ids.restart(["a", "b"], at=990.0)
    assert first_use(ids)


def test_a_snapshot_keeps_the_ids_learnt_shortly_before_its_watermark() -> None:
    """Ids learnt within the window before the watermark are kept, older ones are not."""
    ids = LearntIds()
    ids.add("recent", at=980.0)
    ids.add("old", at=900.0)
    assert _kept(ids) == ["recent"]


def test_taking_a_snapshot_starts_the_count_again() -> None:
    """``since_snapshot`` counts the records learnt since the last snapshot was taken."""
    ids = LearntIds()
    ids.add("a")
    ids.add("b")
    assert ids.since_snapshot == 2
    _kept(ids)
    assert ids.since_snapshot == 0


def test_a_snapshot_keeps_no_id_forgotten_since() -> None:
    """After ``clear`` (the view was dropped) an id is kept only once it is learnt again."""
    ids = LearntIds()
    ids.add("a", at=980.0)
    ids.clear()
    assert _kept(ids) == []
    ids.add("a", at=985.0)
    assert set(_kept(ids)) == {"a"}
