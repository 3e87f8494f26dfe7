"""A brief's recall from the in-process index against a store query, on the same failures.

    python benchmarks/recall_index.py [--failures 1000] [--briefs 2000] [--out recall_index]

Records ``--failures`` distinct failures (4 tools x 5 task types, as http_service.py seeds)
in an in-memory Chroma, then times, per brief question (60 distinct ones, asked in turn):
the recall index's answer (``RecallIndex.nearest``, after its one load, which is timed too)
and the store's own similarity query (``store.similar``, what a brief waited for before).
Latencies in milliseconds, in this process only (no HTTP, no other load of its own): the
cost of the step, not a brief's latency. Prints a table and writes
``benchmarks/results/OUT.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import chromadb
import numpy as np
from _common import table, write_json

from toolwise import Toolwise
from toolwise.advice.recall_index import RecallIndex
from toolwise.storage import StoreTimeouts
from toolwise.storage.protocol import FailureListingStore
from toolwise.storage.unstored import LocalFailures

TOOLS = ["kubectl_deploy", "helm_upgrade", "ansible_run", "terraform_apply"]
TASK_TYPES = ["production_deploy", "rollback", "scale_out", "db_migration", "cert_rotation"]
QUESTIONS = [f"failure for {TASK_TYPES[n % 5]}. Task: ship service {n} to prod" for n in range(60)]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1_000.0
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 4),
        "p99_ms": round(float(np.percentile(ms, 99)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", type=int, default=1_000)
    parser.add_argument("--briefs", type=int, default=2_000)
    parser.add_argument("--out", default="recall_index")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        tw = Toolwise(
            client=chromadb.EphemeralClient(),
            spool_dir=Path(root) / "spool",
            prefix=f"bench{time.time_ns()}",
            timeouts=StoreTimeouts(recall=60.0),  # every store query timed whole, none cut
        )
        try:
            for n in range(args.failures):
                tw.record(
                    tool=TOOLS[n % 4],
                    outcome="failure",
                    task_type=TASK_TYPES[n % 5],
                    task=f"ship service {n % 200} to prod",
                    error_type="TimeoutError",
                    error_message=f"deadline exceeded after {n} retries",
                )
            assert tw.flush(timeout=300)
            store, now = tw.store, datetime.now(UTC)
            assert isinstance(store, FailureListingStore)
            index = RecallIndex(store, tw.runtime.embedding)
            key = ("default", None)

            def local() -> LocalFailures:
                return tw.runtime.local_failures("default")

            started = time.perf_counter()
            while (
                index.nearest(key, QUESTIONS[0], 8, local(), now, fresh=local, refresh=3_600.0)
                is None
            ):
                time.sleep(0.001)
            load = time.perf_counter() - started
            timed: dict[str, list[float]] = {"index": [], "store query": []}
            for n in range(args.briefs):
                question = QUESTIONS[n % len(QUESTIONS)]
                begun = time.perf_counter()
                index.nearest(key, question, 8, local(), now, fresh=local, refresh=3_600.0)
                timed["index"].append(time.perf_counter() - begun)
                begun = time.perf_counter()
                store.similar("default", question, k=8, now=now, outcome="failure")
                timed["store query"].append(time.perf_counter() - begun)
        finally:
            tw.close()
    rows = {name: _percentiles(samples) for name, samples in timed.items()}
    print(f"{args.failures:,} failures; the index loaded in {load * 1_000:.1f} ms")
    print(
        table(
            ["recall of one brief", "p50 ms", "p99 ms"],
            [[name, r["p50_ms"], r["p99_ms"]] for name, r in rows.items()],
        )
    )
    path = write_json(
        args.out,
        {"failures": args.failures, "briefs": args.briefs, "load_ms": load * 1_000, **rows},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
