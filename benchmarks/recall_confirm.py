"""A failure recall's Chroma time: confirming every hit of its window at home, or only the k.

    python benchmarks/recall_confirm.py [--records 100000] [--queries 200] [--rounds 3] [--path DIR]

On ``preselect.py``'s store (:func:`preselect.cached_store`; ``--path`` reuses one), times
:meth:`~toolwise.storage.failure_index.FailureIndex.recall` for the benchmark's failure queries
at k=8 (a brief's ``top_k``) and k=24 (its recall for an inferred task type, ``3 * top_k``),
against the recall it replaced (kept below as :func:`confirm_window`: every one of the
``k * OVERFETCH`` nearest entries read back at home and parsed, then the first ``k`` kept).
The two alternate query by query in one process, so a machine whose speed drifts between
runs (25-50 % on this 2-core one) weighs on both alike; each checks the other's answer.
Then the parts of a recall: the index's query with and without its entries' metadata, and
reading ``k`` or ``2k`` records at home. Milliseconds, p50 over ``--rounds x --queries``.
Prints a table and writes ``benchmarks/results/recall_confirm.json`` (with the load average).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_json
from _recall_store import alternate, arguments, open_recall_store

from toolwise.storage import rows
from toolwise.storage.failure_index import RECORD_KEY, FailureIndex, home_failures
from toolwise.storage.protocol import SimilarOutcome

KS = (8, 24)


def confirm_window(
    collection: Any, index: Any, vector: list[list[float]], k: int, cutoff: float
) -> list[SimilarOutcome]:
    """The recall before: all ``k * OVERFETCH`` hits read at home and parsed (no stale
    entries in this store, so its retry is left out)."""
    hits = rows.nearest(index, vector, k, lambda m: rows.unexpired(m, cutoff)) or []
    hits = hits[: k * rows.OVERFETCH]
    records = {key: str(meta.get(RECORD_KEY, key)) for key, meta, _ in hits}
    truth = home_failures(collection, list(records.values()))
    return [
        rows.similar_outcome(truth[records[key]], distance)
        for key, _, distance in hits
        if records[key] in truth and rows.unexpired(truth[records[key]], cutoff)
    ][:k]


def _answer(found: list[SimilarOutcome] | None) -> list[tuple[str, float]]:
    return [(hit.outcome.id, hit.distance) for hit in found or []]


def main() -> None:
    args = arguments(__doc__)
    store = open_recall_store(args)
    home, index, cutoff = store.home, store.index, store.cutoff
    vectors = [vector for _, vector in store.queries]

    def record_ids(vector: list[list[float]], n: int) -> list[str]:
        found = index.query(query_embeddings=vector, n_results=n, include=["metadatas"])
        return [str(meta[RECORD_KEY]) for meta in found["metadatas"][0]]

    timings: dict[str, Callable[[int], object]] = {}
    for k in KS:
        ids = [record_ids(vector, 2 * k) for vector in vectors]
        timings |= {
            f"recall k={k}, every hit of the window confirmed (before)": (
                lambda i, k=k: confirm_window(home, index, vectors[i], k, cutoff)
            ),
            f"recall k={k}, only the hits needed confirmed (now)": (
                lambda i, k=k: FailureIndex.recall(home, index, vectors[i], k, cutoff)
            ),
            f"index query, {2 * k} neighbours with metadata": (
                lambda i, k=k: index.query(
                    query_embeddings=vectors[i], n_results=2 * k, include=["metadatas", "distances"]
                )
            ),
            f"index query, {2 * k} neighbours, distances only": (
                lambda i, k=k: index.query(
                    query_embeddings=vectors[i], n_results=2 * k, include=["distances"]
                )
            ),
            f"home read of {2 * k} records": (
                lambda i, ids=ids, k=k: home.get(ids=ids[i], include=["metadatas"])
            ),
            f"home read of {k} records": (
                lambda i, ids=ids, k=k: home.get(ids=ids[i][:k], include=["metadatas"])
            ),
        }
    for k in KS:  # the same answers, or the comparison means nothing
        for i in range(args.queries):
            before = confirm_window(home, index, vectors[i], k, cutoff)
            assert _answer(before) == _answer(
                FailureIndex.recall(home, index, vectors[i], k, cutoff)
            )

    results = alternate(timings, args.queries, args.rounds)
    records, entries = store.close()

    print(table(["Chroma time of a failure recall", "p50 ms", "mean ms"], [
        (name, stats["p50_ms"], stats["mean_ms"]) for name, stats in results.items()
    ]))  # fmt: skip
    path = write_json(
        "recall_confirm",
        {
            "records": records,
            "index_entries": entries,
            "queries": args.queries,
            "rounds": args.rounds,
            "answers_equal": True,
            "results": results,
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
