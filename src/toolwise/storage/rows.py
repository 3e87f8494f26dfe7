"""How an outcome is laid out in a Chroma row, and the reads the store and its index share.

Each record is one row: its vector, flat metadata for the fields filters use, and the whole
record as JSON under ``record`` so reads are lossless. Rows are compact: the JSON keeps only the
fields that differ from their defaults (parsing fills the rest back), and a blank label
(``task_type``, ``environment``, ``session_id``) has no key at all. Chroma stores one row per
metadata key and its write cost grows with the bytes kept (``benchmarks/write_cost.py``
measures the CPU of a stored row). Rows written before (full JSON, blank labels as ``""``)
read the same. Chroma evaluates a metadata ``where`` by scanning the collection's metadata
(``limit`` does not stop the scan), so the hot reads query without ``where`` and check expiry
in Python (:func:`nearest`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from toolwise.models import ToolOutcome
from toolwise.storage.protocol import CallFilter, SimilarOutcome

__all__ = [
    "DEFAULT_AGENT",
    "LABELS",
    "NO_EXPIRY",
    "STORED_AT",
    "Hit",
    "agent_of",
    "blank_labels",
    "filter_clauses",
    "hits",
    "nearest",
    "outcome_document",
    "outcome_metadata",
    "record",
    "record_json",
    "records",
    "similar_outcome",
    "unexpired",
    "where",
    "without_labels",
]

NO_EXPIRY = 32_503_680_000.0  # year 3000: records without a TTL still pass `expires_at > now`
# Store time of a row (epoch s, the writer's wall clock, set on every write attempt): what other
# processes tail by. Rows written before it existed have none; full reads and reads by record
# time still find them.
STORED_AT = "stored_at"
# Rows per get(): Chroma fails a get() matching more than 32,766 rows, and each page with a
# `where` costs a scan of the whole table, so pages are as large as is safe. Tests shrink it.
PAGE = 30_000
OVERFETCH = 2  # a vector query without `where` asks for k x this, filters, asks again if short
MAX_FETCH = 1_000  # ... up to this many neighbours; beyond, Chroma's filtered query is cheaper

Hit = tuple[str, Mapping[str, Any], float]  # id, metadata, distance
# Filtered labels that are often blank: a blank one is left out of the row, not kept as "".
LABELS = ("task_type", "environment", "session_id")
DEFAULT_AGENT: str = ToolOutcome.model_fields["agent_id"].default


def outcome_document(outcome: ToolOutcome) -> str:
    """The text embedded for a record: tool, verdict, task and error, in words."""
    parts = [f"{outcome.tool} {outcome.outcome}"]
    if outcome.task_type:
        parts.append(f"for {outcome.task_type}")
    if outcome.environment:
        parts.append(f"in {outcome.environment}")
    text = " ".join(parts)
    if outcome.task:
        text += f". Task: {outcome.task[:300]}"
    if outcome.error_type or outcome.error_message:
        text += f". Error: {outcome.error_type} {outcome.error_message[:300]}".rstrip()
    return text


def _epoch(moment: datetime | None) -> float:
    return NO_EXPIRY if moment is None else moment.timestamp()


def outcome_metadata(outcome: ToolOutcome, stored_at: float | None = None) -> dict[str, Any]:
    """What Chroma keeps beside the vector: the fields filters use, and the record itself.

    Only filtered fields are separate keys: Chroma stores one row per key, and reading a
    record costs about 4 µs per key (the rebuild reads every record). Blank labels
    (:data:`LABELS`) have no key; everything else is in ``record`` (:func:`record_json`).
    (Records written before kept six more keys and blank labels; they read the same.)
    ``stored_at`` is the store time (:data:`STORED_AT`), set by the writer.
    """
    meta: dict[str, Any] = {} if stored_at is None else {STORED_AT: stored_at}
    meta["tool"] = outcome.tool
    for key in LABELS:
        value = getattr(outcome, key)
        if value:
            meta[key] = value
    meta["outcome"] = outcome.outcome
    meta["timestamp"] = outcome.timestamp.timestamp()
    meta["expires_at"] = _epoch(outcome.expires_at)
    meta["record"] = record_json(outcome)
    return meta


def record_json(outcome: ToolOutcome) -> str:
    """The record as kept in its row: only the fields that differ from their defaults.

    ``id`` and ``timestamp`` are always kept: pydantic never counts a ``default_factory``
    value as a default (the round-trip test would catch a change). Parsing it
    (:func:`record`) gives the record back exactly.
    """
    return outcome.model_dump_json(exclude_defaults=True)


def record(metadata: Mapping[str, Any]) -> ToolOutcome:
    """The record of a row (compact or full JSON)."""
    return ToolOutcome.model_validate_json(metadata["record"])


def where(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Chroma's ``where`` for ``clauses`` joined by "and" (``None`` for none)."""
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def filter_clauses(call_filter: CallFilter, now: datetime) -> list[dict[str, Any]]:
    """The ``where`` clauses of a listing: unexpired, then each field that filters."""
    clauses: list[dict[str, Any]] = [{"expires_at": {"$gt": now.timestamp()}}]
    for key in ("tool", "session_id", "task_type", "environment", "outcome"):
        value = getattr(call_filter, key)
        if value is not None and (value or key not in LABELS):  # blank: see blank_labels
            clauses.append({key: value})
    if call_filter.success_only:
        clauses.append({"outcome": "success"})
    if call_filter.since is not None:
        clauses.append({"timestamp": {"$gte": call_filter.since.timestamp()}})
    if call_filter.until is not None:
        clauses.append({"timestamp": {"$lt": call_filter.until.timestamp()}})
    return clauses


def blank_labels(call_filter: CallFilter) -> tuple[str, ...]:
    """The labels ``call_filter`` asks to be blank, which :func:`filter_clauses` leaves out.

    A blank label has no key in a new row, and Chroma's ``where`` cannot ask for a missing
    key: the caller checks these on the rows read (:func:`without_labels`).
    """
    return tuple(key for key in LABELS if getattr(call_filter, key) == "")


def without_labels(metadata: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    """Whether each label in ``keys`` is blank in a row: missing (new rows) or "" (old ones)."""
    return all(not metadata.get(key) for key in keys)


def agent_of(data: object) -> str | None:
    """The agent of a parsed ``record`` JSON (``None`` if it is not a record): compact rows
    leave out the default agent."""
    if not isinstance(data, dict) or "tool" not in data:
        return None
    agent = data.get("agent_id", DEFAULT_AGENT)
    return agent if isinstance(agent, str) else None


def records(result: Any) -> list[ToolOutcome]:
    """The records of a ``get`` result."""
    return [record(m) for m in result["metadatas"] or []]


def unexpired(metadata: Mapping[str, Any], cutoff: float) -> bool:
    return float(metadata.get("expires_at", NO_EXPIRY)) > cutoff


def hits(result: Any) -> list[Hit]:
    """The neighbours of the first query of a ``query`` result."""
    ids = (result.get("ids") or [[]])[0]
    metadatas = (result.get("metadatas") or [[]])[0]
    distances = (result.get("distances") or [[]])[0]
    return [(str(i), m or {}, float(d)) for i, m, d in zip(ids, metadatas, distances, strict=False)]


def similar_outcome(metadata: Mapping[str, Any], distance: float) -> SimilarOutcome:
    return SimilarOutcome(record(metadata), distance)


def nearest(
    collection: Any,
    vector: list[list[float]],
    k: int,
    accept: Callable[[Mapping[str, Any]], bool],
) -> list[Hit] | None:
    """Accepted neighbours, nearest first, queried without ``where``.

    Asks for ``k x OVERFETCH`` neighbours, then four times more while fewer than ``k`` are
    accepted; ``None`` when ``MAX_FETCH`` neighbours still are not enough (and the collection
    has more). Returns every accepted neighbour fetched (at least ``k`` if any).
    """
    wanted = k * OVERFETCH
    while True:
        found = hits(
            collection.query(
                query_embeddings=vector, n_results=wanted, include=["metadatas", "distances"]
            )
        )
        accepted = [hit for hit in found if accept(hit[1])]
        if len(accepted) >= k or len(found) < wanted:
            return accepted
        if wanted >= MAX_FETCH:
            return None
        wanted = min(wanted * 4, MAX_FETCH)
