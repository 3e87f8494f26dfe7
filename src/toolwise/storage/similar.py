"""Finding the records nearest a query in one agent's collection, cheapest way first.

Chroma evaluates a metadata ``where`` by scanning the collection's metadata, so a filtered
vector query costs a scan of the whole collection. Recall therefore tries, in order:

1. for failures, the agent's failure index (:mod:`toolwise.storage.failure_index`), which holds
   only failures and needs no ``where``;
2. otherwise an unfiltered query that over-fetches neighbours and drops expired ones, or those
   of another outcome, in Python (:func:`toolwise.storage.rows.nearest`);
3. when neither answers (an index still being built, too many expired neighbours), Chroma's
   own filtered query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from toolwise.storage import rows
from toolwise.storage.collections import fold, stored_dimension
from toolwise.storage.failure_index import FAILURE, FailureIndex
from toolwise.storage.protocol import CallFilter, SimilarOutcome

__all__ = ["similar_in"]


def similar_in(
    collection: Any,
    failures: FailureIndex,
    agent_id: str,
    vector: list[list[float]],
    *,
    k: int,
    now: datetime,
    outcome: str | None,
) -> list[SimilarOutcome]:
    """The ``k`` unexpired records of ``collection`` nearest ``vector`` (of ``outcome``, if
    given), nearest first. Makes Chroma calls: run it under the store's deadline."""
    cutoff = now.timestamp()
    home = fold(vector, stored_dimension(collection))  # the index folds its own
    if outcome == FAILURE:
        index = failures.ready(agent_id)
        if index is not None:
            found = failures.recall(collection, index, vector, k, cutoff)
            if found is not None:
                return found
    else:
        hits = rows.nearest(
            collection,
            home,
            k,
            lambda m: (
                rows.unexpired(m, cutoff) and (outcome is None or m.get("outcome") == outcome)
            ),
        )
        if hits is not None:
            return [rows.similar_outcome(meta, distance) for _, meta, distance in hits[:k]]
    result = collection.query(
        query_embeddings=home,
        n_results=k,
        where=rows.where(rows.filter_clauses(CallFilter(outcome=outcome), now)),
        include=["metadatas", "distances"],
    )
    return [rows.similar_outcome(meta, distance) for _, meta, distance in rows.hits(result)]
