"""What the recall benchmarks share: ``preselect.py``'s cached store, its home and
failure-index collections, the failure queries its briefs would make, and timings taken
alternating query by query (drift on a shared machine then weighs on every row alike)."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preselect import _request, cached_store

import toolwise
from toolwise.models import utcnow
from toolwise.storage.collections import fold, stored_dimension
from toolwise.storage.naming import collection_name_for

AGENT = "default"


@dataclass
class RecallStore:
    """The store opened, with one failure query per request: ``(task type, vector)``."""

    tw: toolwise.Toolwise
    home: Any
    index: Any
    cutoff: float
    queries: list[tuple[str, list[list[float]]]]

    def close(self) -> tuple[int, int]:
        """Close the store; the counts of its records and of its failure-index entries."""
        counts = self.home.count(), self.index.count()
        self.tw.close()
        return counts


def arguments(description: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--path", type=Path, default=None, help="store directory (cached)")
    return parser.parse_args()


def open_recall_store(args: argparse.Namespace) -> RecallStore:
    root, _, _ = cached_store(args.records, args.path)
    tw = toolwise.Toolwise(root)
    client = tw.store.client()
    home = client.get_collection(collection_name_for(AGENT, "toolwise"), embedding_function=None)
    index = client.get_collection(
        collection_name_for(AGENT, "toolwise-failure-kinds"), embedding_function=None
    )
    queries = []
    for n in range(args.queries):
        task_type, messages = _request(n)
        text = f"failure for {task_type}. Task: {messages[0].text}"
        queries.append((task_type, fold(tw.store.embedding([text]), stored_dimension(index))))
    return RecallStore(tw, home, index, utcnow().timestamp(), queries)


def alternate(
    timings: dict[str, Callable[[int], object]], queries: int, rounds: int
) -> dict[str, dict[str, float]]:
    """p50 and mean milliseconds of each timing, run for query 0, 1, … in turn, ``rounds``
    times."""
    samples: dict[str, list[float]] = {name: [] for name in timings}
    for _ in range(rounds):
        for i in range(queries):
            for name, run in timings.items():
                started = time.perf_counter()
                run(i)
                samples[name].append((time.perf_counter() - started) * 1_000)
    return {
        name: {"p50_ms": statistics.median(times), "mean_ms": statistics.fmean(times)}
        for name, times in samples.items()
    }
