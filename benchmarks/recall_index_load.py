"""The recall index's load against a Chroma child, through the failure index or by a scan.

    python benchmarks/recall_index_load.py [--records 27000] [--repeat 3] [--out NAME]

Writes ``--records`` calls as ``http_service.py`` makes them (4 tools x 5 task types, ~35 %
failures, ~1,100 distinct failure texts) to a store directory served by a ``chroma run``
child at the priority ``toolwise serve --path`` gives it, then times an agent's newest 1,000
failures read two ways: through its failure index
(:func:`~toolwise.storage.collection_reads.newest_indexed_failures`, what
``ChromaOutcomeStore.newest_failures`` reads) and by the filtered scan of its collection it
replaced (:func:`~toolwise.storage.collection_reads.newest_failures`, still the path of a
store whose failure index is not complete), for every task type and for one. Then a store
recall query's latency (``store.similar``, a brief's store path) alone, and while each kind
of load runs back to back in a thread. Milliseconds; medians and maxima over ``--repeat``.
Prints a table and writes ``benchmarks/results/OUT.json`` (with the load average).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import table, write_json

from toolwise.models import ToolOutcome
from toolwise.service.cli import STORE_NICE
from toolwise.storage import collection_reads
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.chroma_process import ChromaChild
from toolwise.storage.clients import http_client
from toolwise.storage.naming import collection_name_for

TOOLS = {"kubectl_deploy": 0.9, "helm_upgrade": 0.7, "ansible_run": 0.3, "terraform_apply": 0.8}
TASK_TYPES = ["production_deploy", "rollback", "scale_out", "db_migration", "cert_rotation"]
QUESTION = "failure for rollback. Task: rollback of svc-3"
LIMIT = 1_000  # the recall index's capacity


def _calls(count: int, rng: random.Random) -> list[ToolOutcome]:
    start = datetime.now(UTC) - timedelta(days=1)
    calls = []
    for n in range(count):
        tool = rng.choice(list(TOOLS))
        ok = rng.random() < TOOLS[tool]
        calls.append(
            ToolOutcome(
                agent_id="bench",
                tool=tool,
                task_type=rng.choice(TASK_TYPES),
                outcome="success" if ok else "failure",
                latency_ms=round(rng.lognormvariate(6.0, 0.6), 1),
                tool_input=f'{{"service": "svc-{rng.randrange(12)}"}}',
                error_type="" if ok else "TimeoutError",
                error_message="" if ok else f"{tool} timed out after {rng.randrange(5, 60)} s",
                timestamp=start + timedelta(seconds=n),
            )
        )
    return calls


def _ms(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1_000.0


def _during(load: Callable[[], Any], query: Callable[[], Any], loads: int) -> list[float]:
    """Query latencies while ``loads`` loads run back to back in another thread."""
    done = threading.Event()

    def run() -> None:
        for _ in range(loads):
            load()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    latencies = []
    while not done.is_set():
        latencies.append(_ms(query))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=27_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="recall_index_load")
    args = parser.parse_args()
    report: dict[str, Any] = {"records": args.records, "load_average_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as root:
        child = ChromaChild(Path(root), nice=STORE_NICE)
        child.start()
        try:
            store = ChromaOutcomeStore(http_client(child.url))
            calls = _calls(args.records, random.Random(1))
            for start in range(0, len(calls), 1_000):  # serve's batch to a child
                store.write(calls[start : start + 1_000])
            report["failures"] = sum(call.outcome == "failure" for call in calls)
            collection = store.client().get_collection(
                collection_name_for("bench", store.prefix), embedding_function=None
            )
            step = 1_000

            def indexed(task_type: str | None) -> Callable[[], Any]:
                return lambda: store.newest_failures(
                    "bench", task_type=task_type, limit=LIMIT, now=datetime.now(UTC)
                )

            def scanned(task_type: str | None) -> Callable[[], Any]:
                return lambda: collection_reads.newest_failures(
                    collection, task_type=task_type, limit=LIMIT, now=datetime.now(UTC), step=step
                )

            def query() -> Any:
                return store.similar("bench", QUESTION, k=15, now=datetime.now(UTC))

            rows = []
            for name, read in (("failure index", indexed), ("scan", scanned)):
                for task_type in (None, "rollback"):
                    read(task_type)()  # opens what it reads (a server's index reloads)
                    times = [_ms(read(task_type)) for _ in range(args.repeat)]
                    rows.append([f"load: {name}, {task_type or 'every task type'}", times])
            _ms(query)  # the first query opens what it needs
            rows.append(["store query alone", [_ms(query) for _ in range(20)]])
            for name, read in (("failure index", indexed), ("scan", scanned)):
                rows.append([f"store query during {name} loads", _during(read(None), query, 3)])
        finally:
            child.stop()
    report["load_average_after"] = os.getloadavg()[0]
    report["ms"] = {name: [round(t, 1) for t in times] for name, times in rows}
    print(
        f"{args.records:,} records, {report['failures']:,} failures; load average "
        f"{report['load_average_before']:.1f} before, {report['load_average_after']:.1f} after"
    )
    print(
        table(
            ["what", "count", "median ms", "max ms"],
            [
                [name, len(times), round(statistics.median(times), 1), round(max(times), 1)]
                for name, times in rows
            ],
        )
    )
    print(f"wrote {write_json(args.out, report)}")


if __name__ == "__main__":
    main()
