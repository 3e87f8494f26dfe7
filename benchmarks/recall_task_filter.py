"""A brief's recall for an inferred task type: 3 x top_k of any task, or top_k filtered by it.

    python benchmarks/recall_task_filter.py [--records 100000] [--queries 200] [--rounds 3]
                                            [--path DIR]

A brief whose task type was inferred shows only that task's failures, so it asks
:meth:`~toolwise.storage.failure_index.FailureIndex.recall` for ``3 x top_k`` = 24 of any task
and keeps those of its own (the recall of today). The alternative timed here asks the failure
index for the ``2 x top_k`` nearest entries *of that task type* (``where={"task_type": ...}``,
entries carry it) and confirms ``top_k`` of them at home. On ``preselect.py``'s store
(:func:`preselect.cached_store`; ``--path`` reuses one), alternating query by query in one
process, with the bare index queries beside them. Milliseconds, p50 over
``--rounds x --queries``; counts how many briefs' failures differ. Prints a table and writes
``benchmarks/results/recall_task_filter.json`` (with the load average).
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

TOP_K = 8  # a brief's default top_k


def kept_of_task(
    home: Any, index: Any, vector: list[list[float]], task_type: str, cutoff: float
) -> list[SimilarOutcome]:
    """Today's recall: 3 x top_k failures of any task, those of ``task_type`` kept."""
    found = FailureIndex.recall(home, index, vector, 3 * TOP_K, cutoff) or []
    return [hit for hit in found if hit.outcome.task_type == task_type][:TOP_K]


def filtered_by_task(
    home: Any, index: Any, vector: list[list[float]], task_type: str, cutoff: float
) -> list[SimilarOutcome]:
    """The alternative: the index asked for its entries of ``task_type`` only."""
    found = index.query(
        query_embeddings=vector,
        n_results=TOP_K * rows.OVERFETCH,
        where={"task_type": task_type},
        include=["metadatas", "distances"],
    )
    hits = [hit for hit in rows.hits(found) if rows.unexpired(hit[1], cutoff)][:TOP_K]
    records = [str(meta[RECORD_KEY]) for _, meta, _ in hits]
    truth = home_failures(home, records)
    return [
        rows.similar_outcome(truth[record], distance)
        for (_, _, distance), record in zip(hits, records, strict=True)
        if record in truth
    ]


def main() -> None:
    args = arguments(__doc__)
    store = open_recall_store(args)
    home, index, cutoff, queries = store.home, store.index, store.cutoff, store.queries

    def ids(found: list[SimilarOutcome]) -> list[str]:
        return [hit.outcome.id for hit in found]

    differ = sum(
        ids(kept_of_task(home, index, vector, task, cutoff))
        != ids(filtered_by_task(home, index, vector, task, cutoff))
        for task, vector in queries
    )
    wide = 2 * 3 * TOP_K
    timings: dict[str, Callable[[str, list[list[float]]], object]] = {
        f"recall of {3 * TOP_K} of any task, its own kept (now)": (
            lambda task, vector: kept_of_task(home, index, vector, task, cutoff)
        ),
        f"recall of {TOP_K} filtered by task type": (
            lambda task, vector: filtered_by_task(home, index, vector, task, cutoff)
        ),
        f"index query, {wide} neighbours": (
            lambda task, vector: index.query(
                query_embeddings=vector, n_results=wide, include=["metadatas", "distances"]
            )
        ),
        f"index query, {2 * TOP_K} neighbours where task_type": (
            lambda task, vector: index.query(
                query_embeddings=vector,
                n_results=2 * TOP_K,
                where={"task_type": task},
                include=["metadatas", "distances"],
            )
        ),
        f"index get, {2 * TOP_K} ids where task_type (the filter alone)": (
            lambda task, vector: index.get(where={"task_type": task}, limit=2 * TOP_K, include=[])
        ),
    }
    results = alternate(
        {name: lambda i, run=run: run(*queries[i]) for name, run in timings.items()},
        args.queries,
        args.rounds,
    )
    records, entries = store.close()

    print(table(["Chroma time of an inferred task's recall", "p50 ms", "mean ms"], [
        (name, stats["p50_ms"], stats["mean_ms"]) for name, stats in results.items()
    ]))  # fmt: skip
    print(f"\nbriefs whose failures differ: {differ} of {args.queries}")
    path = write_json(
        "recall_task_filter",
        {
            "records": records,
            "index_entries": entries,
            "queries": args.queries,
            "rounds": args.rounds,
            "answers_differ": differ,
            "results": results,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
