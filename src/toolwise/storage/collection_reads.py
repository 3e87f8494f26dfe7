"""Reads of one agent's record collection: a page of calls, every record, a tail's look.

:class:`~toolwise.storage.chroma.ChromaOutcomeStore` picks the collections (one per agent)
and these read one each. Each avoids Chroma's metadata ``where`` where it would scan every
row for little (:mod:`toolwise.storage.paging`), and parses a record only once it is known to
be wanted: parsing is most of a read's cost.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from toolwise.models import ToolOutcome
from toolwise.storage import paging, rows
from toolwise.storage.collections import stored_dimension
from toolwise.storage.failure_index import RECORD_KEY, TIME_KEY, home_failures
from toolwise.storage.protocol import CallFilter, StoredFailures

__all__ = [
    "newest_failures",
    "newest_indexed_failures",
    "newest_page",
    "oldest_first",
    "stored_since",
]


def newest_page(
    collection: Any, call_filter: CallFilter, *, limit: int, offset: int, now: datetime
) -> list[ToolOutcome]:
    """One page of the collection's live records matching ``call_filter``, newest first."""
    clauses = rows.filter_clauses(call_filter, now)
    # Expiry alone selects nearly everything: read all rows, check expiry in Python.
    # Other fields are selective: one where-scan per 30,000 matches is cheaper.
    where = rows.where(clauses) if len(clauses) > 1 else None
    matches = paging.live(collection, where, now)
    blank = rows.blank_labels(call_filter)
    if blank:
        matches = {i: m for i, m in matches.items() if rows.without_labels(m, blank)}
    # Ordered on the metadata, so only the page asked for is parsed.
    newest = sorted(
        matches, key=lambda i: (float(matches[i].get("timestamp", 0.0)), i), reverse=True
    )
    return [rows.record(matches[i]) for i in newest[offset : offset + limit]]


def oldest_first(
    collection: Any, *, since: datetime | None, now: datetime
) -> Iterator[ToolOutcome]:
    """The collection's live records (recorded at or after ``since``), oldest first."""
    # `since` (a refresh: the last minutes) is selective, so a where-scan beats reading
    # every row; a full read has no `where` at all.
    where = None if since is None else {"timestamp": {"$gte": since.timestamp()}}
    live = paging.live(collection, where, now, since)
    # Kept as JSON and parsed one at a time, oldest first: a million records parsed at once
    # took gigabytes (a rebuild, or a start without a snapshot).
    pending = [(_record_time(m), str(m["record"])) for m in live.values()]
    del live
    pending.sort(key=lambda pair: pair[0])  # stable: ties keep the store's order
    pending.reverse()
    while pending:
        yield ToolOutcome.model_validate_json(pending.pop()[1])


def stored_since(
    collection: Any,
    since: float,
    *,
    cutoff: float,
    key: Literal["stored_at", "timestamp"],
    known: Container[str],
) -> list[ToolOutcome]:
    """Records whose ``key`` is ``>= since`` (epoch s) and unexpired at ``cutoff``, except
    ids in ``known``, in the store's order.

    Two round trips: the ids in range (a range ``where`` on one numeric key is answered from
    Chroma's metadata index: milliseconds at 100,000 rows), then the rows of the ids not
    ``known`` — so a caller that has seen most of them reads almost none.
    """
    ids = [i for i in paging.ids(collection, {key: {"$gte": since}}) if i not in known]
    found: list[ToolOutcome] = []
    for start in range(0, len(ids), rows.PAGE):
        got = collection.get(ids=ids[start : start + rows.PAGE], include=["metadatas"])
        found.extend(
            rows.record(meta)
            for meta in got["metadatas"] or []
            if meta and "record" in meta and rows.unexpired(meta, cutoff)
        )
    return found


def newest_failures(
    collection: Any, *, task_type: str | None, limit: int, now: datetime, step: int
) -> StoredFailures:
    """The collection's newest ``limit`` live failures (of ``task_type`` if given), one per
    distinct embedded text (its newest record), newest first, with their stored vectors.

    One where-scan per 30,000 failures for the metadata, ordered by record time on the
    metadata; records are parsed newest first, at most ``2 * limit`` of them (parsing is most
    of a read's cost, and holds the GIL a server's event loop needs), then the chosen ones'
    vectors are read by id, ``step`` at a time.
    """
    where: dict[str, Any] = {"outcome": "failure"}
    if task_type:
        where = {"$and": [where, {"task_type": task_type}]}
    matches = paging.live(collection, where, now)
    newest = sorted(matches, key=lambda i: (_record_time(matches[i]), i), reverse=True)
    chosen: dict[str, tuple[str, ToolOutcome]] = {}  # text -> (id, its newest record)
    for record_id in newest[: 2 * limit]:
        if len(chosen) >= limit:
            break
        outcome = rows.record(matches[record_id])
        chosen.setdefault(rows.outcome_document(outcome), (record_id, outcome))
    vectors = _vectors(collection, [record_id for record_id, _ in chosen.values()], step)
    kept = [(vectors[i], outcome) for i, outcome in chosen.values() if i in vectors]
    return StoredFailures(
        tuple(outcome for _, outcome in kept),
        [vector for vector, _ in kept],
        stored_dimension(collection),
    )


def newest_indexed_failures(
    collection: Any, index: Any, *, task_type: str | None, limit: int, now: datetime, step: int
) -> StoredFailures:
    """:func:`newest_failures` read through the agent's failure ``index``
    (:mod:`toolwise.storage.failure_index`), which holds one entry per distinct text already,
    pointing at the newest record with it: no ``where`` scan, and only the records kept are
    read.

    The entries' few metadata keys are read in pages without ``where``; the newest unexpired
    ones (of ``task_type``, by record time: entries written before the index kept them read
    as the oldest) have their records read from ``collection`` by id and confirmed there, as
    recall confirms its hits (a record forgotten or rewritten as a success is skipped), then
    their vectors from ``index``; both ``step`` at a time, until ``limit`` are kept.

    Why: the filtered scan of the agent's collection returns every failure's record; this
    reads their entries' few keys and ``limit`` records (at 8,706 failures: 1.3 s against
    0.34 s, ``benchmarks/recall_index_load.py``).
    """
    cutoff = now.timestamp()
    entries = sorted(
        (
            (float(meta.get(TIME_KEY, 0.0)), str(entry_id), str(meta.get(RECORD_KEY, entry_id)))
            for entry_id, meta in paging.metadata_rows(index, None)
            if rows.unexpired(meta, cutoff)
            and (not task_type or meta.get("task_type", task_type) == task_type)
        ),
        reverse=True,
    )
    kept: list[tuple[str, ToolOutcome]] = []  # (entry id, record), newest first
    position = 0
    while len(kept) < limit and position < len(entries):
        page = entries[position : position + min(step, limit - len(kept))]
        position += len(page)
        truth = {
            record_id: meta
            for record_id, meta in home_failures(collection, [r for _, _, r in page]).items()
            if rows.unexpired(meta, cutoff)
            and (not task_type or meta.get("task_type") == task_type)
        }
        kept.extend(
            (entry_id, rows.record(truth[record_id]))
            for _, entry_id, record_id in page
            if record_id in truth
        )
    vectors = _vectors(index, [entry_id for entry_id, _ in kept], step)
    found = sorted(
        ((outcome, vectors[entry_id]) for entry_id, outcome in kept if entry_id in vectors),
        key=lambda pair: pair[0].timestamp,
        reverse=True,
    )
    return StoredFailures(
        tuple(outcome for outcome, _ in found),
        [vector for _, vector in found],
        stored_dimension(index),
    )


def _vectors(collection: Any, ids: Sequence[str], step: int) -> dict[str, list[float]]:
    """The stored vectors of ``ids`` in ``collection``, by id, read ``step`` at a time."""
    vectors: dict[str, list[float]] = {}
    for start in range(0, len(ids), step):
        got = collection.get(ids=list(ids[start : start + step]), include=["embeddings"])
        for row_id, vector in zip(got["ids"], got["embeddings"], strict=True):
            vectors[str(row_id)] = [float(x) for x in vector]
    return vectors


def _record_time(meta: Mapping[str, Any]) -> float:
    """A row's record time (epoch s), from its metadata, else from the record itself."""
    stamp = meta.get("timestamp")
    if isinstance(stamp, int | float):
        return float(stamp)
    return rows.record(meta).timestamp.timestamp()
