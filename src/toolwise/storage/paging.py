"""Reading and deleting one Chroma collection in pages, without paying for ``where`` scans.

Chroma evaluates a metadata ``where`` by scanning the collection's metadata (``limit`` does not
stop the scan): hundreds of milliseconds per call at 100,000 records. So full reads page
through every row with no ``where`` at all and check expiry in Python (:func:`live`); a
selective filter (``since``, a tool, a session) keeps its ``where``, one scan per page of up
to :data:`~toolwise.storage.rows.PAGE` rows. Chroma also fails a ``get`` matching more than
32,766 rows and deletes in batches of at most its ``max_batch``: these helpers respect both.

Pure functions over a collection (and, for deletes, the agent's failure index), so the store
(:mod:`toolwise.storage.chroma`) keeps only the decisions: which ``where``, which page.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from toolwise.storage import rows
from toolwise.storage.failure_index import forget_records

__all__ = ["delete_ids", "delete_matching", "ids", "live", "metadata_rows"]


def metadata_rows(collection: Any, where: dict[str, Any] | None) -> Iterator[tuple[str, Any]]:
    """Every (id, metadata) matching ``where``, in pages of ``rows.PAGE``."""
    offset = 0
    while True:
        result = collection.get(where=where, limit=rows.PAGE, offset=offset, include=["metadatas"])
        found = result["ids"]
        yield from zip(found, result["metadatas"] or [], strict=False)
        if len(found) < rows.PAGE:
            return
        offset += len(found)


def live(
    collection: Any,
    where: dict[str, Any] | None,
    now: datetime,
    since: datetime | None = None,
) -> dict[str, Mapping[str, Any]]:
    """Metadata of the unexpired records matching ``where`` (and ``since``), by id.

    Expiry and ``since`` are checked on the metadata, before any record is parsed: the rows
    were read without asking Chroma to filter (which would scan), or were filtered already.
    Keyed by id: offset paging under concurrent writes may repeat a row.
    """
    cutoff = now.timestamp()
    floor = since.timestamp() if since is not None else None
    found: dict[str, Mapping[str, Any]] = {}
    for record_id, meta in metadata_rows(collection, where):
        if "record" not in meta or not rows.unexpired(meta, cutoff):
            continue
        if floor is not None and float(meta.get("timestamp", 0.0)) < floor:
            continue
        found[record_id] = meta
    return found


def ids(collection: Any, where: dict[str, Any]) -> list[str]:
    """Every id matching ``where``, in pages of ``rows.PAGE`` (ids only: no metadata)."""
    found: list[str] = []
    while True:
        page = collection.get(where=where, limit=rows.PAGE, offset=len(found), include=[])
        found.extend(str(i) for i in page["ids"])
        if len(page["ids"]) < rows.PAGE:
            return found


def delete_ids(collection: Any, index: Any | None, ids: Sequence[str], *, step: int) -> None:
    """Delete ``ids`` from ``collection`` and its failure ``index``, ``step`` at a time."""
    for start in range(0, len(ids), step):
        chunk = list(ids[start : start + step])
        if index is not None:  # first: an id may linger in the index, never the reverse
            forget_records(index, chunk)
        collection.delete(ids=chunk)


def delete_matching(
    collection: Any, index: Any | None, where: dict[str, Any] | None, *, step: int
) -> int:
    """Delete every row matching ``where`` (and its index entry); how many rows went."""
    removed = 0
    while True:
        page = list(collection.get(where=where, limit=rows.PAGE, include=[])["ids"])
        if page:
            delete_ids(collection, index, page, step=step)
            removed += len(page)
        if len(page) < rows.PAGE:  # the last page: another get would only scan again
            return removed
