"""CPU per stored row: toolwise's part (build, serialise, embed) and Chroma's, embedded and on a
server — where a write's time goes, and what bounds the writes of one machine.

    python benchmarks/write_cost.py                 # 20,000 rows per store, batches of 1,000
    python benchmarks/write_cost.py --records 5000  # quicker
    python benchmarks/write_cost.py --hnsw          # also the HNSW levers, with their recall

Rows are the scale benchmark's (10 tools × 50 task types, 20 % failures with an error). Each
batch is written by ``ChromaOutcomeStore.write`` into a fresh store (a PersistentClient, then
a `chroma run` server this script starts), after two untimed batches. Per batch, CPU time of:

* **build** — making the ``ToolOutcome`` records (validation included);
* **serialise** — their Chroma metadata (``rows.outcome_metadata``: compact JSON and keys);
* **embed** — their documents and vectors (``HashingEmbedding``);
* **Chroma** — ``store.write`` minus serialise and embed (measured again on the same rows just
  before): the upserts (rows and failure index) and the write lease, in this process; on a
  server, this process's client (JSON of the request) plus the server process's CPU over the
  writes (``/proc``), both per row.

What bounds the rows/s (``rows/s at most``): embedded, the one process's CPU per row
(``1000 / ms``); on a server, its own CPU per row (``1000 / server ms``: it applies one write
at a time, whatever the number of writing processes) or the cores it shares with its writers
(``cores × 1000 / total ms``), whichever is lower.

``--hnsw`` writes the same rows with Chroma alone (vectors and metadata made first) into a fresh
server per setting — the default, 128-dimension vectors, ``ef_construction`` 50 — and gives the
server's CPU per row and recall@10: the share of HNSW's 10 nearest (for 200 other records'
documents) that are among the exact 10 nearest by the default 256-dimension vectors (ties
counted as hits). These levers are measured, not taken: see the printed note.

Prints a table and writes benchmarks/results/write_cost.json (with the load average: numbers
from a busy machine are high).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_{name}_bench", _HERE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_common = _load("_common")
_scale = _load("scale")  # its record generator and its `chroma run` server
table, write_json = _common.table, _common.write_json

BATCH = 1_000
WARM_BATCHES = 2
QUERIES = 200
K = 10
PHASES = ("build", "serialise", "embed", "chroma_client", "chroma_server")

LEVERS_NOTE = (
    "Not taken by default. 128 dimensions changes the embedding's name, so every existing "
    "collection would refuse to open (its vectors are not comparable) and need a migration, "
    "and recall of similar records drops; ef_construction is fixed when a collection is made "
    "and builds a coarser graph, which loses more recall still. Recall of past failures is "
    "what the brief is for, so the default keeps it; a store that must take more rows/s can "
    "pass HashingEmbedding(128) under a new prefix."
)


def _ms(seconds: float, count: int) -> float:
    return seconds * 1000 / count


def _cpu(clock: Callable[[], float], work: Callable[[], Any]) -> tuple[float, Any]:
    began = clock()
    result = work()
    return clock() - began, result


def _batches(records: int) -> list[tuple[int, int]]:
    total = records + WARM_BATCHES * BATCH
    return [(start, min(BATCH, total - start)) for start in range(0, total, BATCH)]


def measure_store(mode: str, records: int, home: Path) -> dict[str, Any]:
    """CPU per row of each phase, writing ``records`` rows through ``store.write``."""
    from toolwise.storage import rows

    server = _scale.Server(home / "server-data") if mode == "server" else None
    try:
        store = _scale._open_store(mode, str(home) if server is None else server.url)
        spent = dict.fromkeys(PHASES, 0.0)
        timed = 0
        for n, (start, count) in enumerate(_batches(records)):
            build, batch = _cpu(time.thread_time, lambda s=start, c=count: _scale._records(s, c, 7))
            serialise, _ = _cpu(
                time.thread_time, lambda b=batch: [rows.outcome_metadata(o, 1.0) for o in b]
            )
            embed, _ = _cpu(
                time.thread_time,
                lambda b=batch: store.embedding([rows.outcome_document(o) for o in b]),
            )
            server_before = server.cpu_s() if server is not None else 0.0
            write, _ = _cpu(time.process_time, lambda b=batch: store.write(b))
            server_spent = server.cpu_s() - server_before if server is not None else 0.0
            if n < WARM_BATCHES:
                continue
            timed += count
            spent["build"] += build
            spent["serialise"] += serialise
            spent["embed"] += embed
            spent["chroma_client"] += max(write - serialise - embed, 0.0)
            spent["chroma_server"] += server_spent
        store.close()
    finally:
        if server is not None:
            server.stop()
    per_row = {phase: _ms(spent[phase], timed) for phase in PHASES}
    toolwise = per_row["build"] + per_row["serialise"] + per_row["embed"]
    chroma = per_row["chroma_client"] + per_row["chroma_server"]
    cores = os.cpu_count() or 1
    total = toolwise + chroma
    if mode == "server":
        # The server applies one write at a time, so its own CPU per row bounds every writer
        # together; the cores, shared by the server and its writers, bound them too.
        bounds = {"server": 1000 / per_row["chroma_server"], "cores": cores * 1000 / total}
    else:  # one process writes an embedded store, its rows one batch at a time
        bounds = {"process": 1000 / total}
    bound_by = min(bounds, key=lambda key: bounds[key])
    return {
        "mode": mode,
        "records": timed,
        "batch": BATCH,
        "ms_per_row": per_row,
        "toolwise_ms": toolwise,
        "chroma_ms": chroma,
        "total_ms": total,
        "toolwise_share": toolwise / total,
        "cores": cores,
        "bounds_rows_per_s": bounds,
        "bound_rows_per_s": bounds[bound_by],
        "bound_by": bound_by,
    }


def _made(records: int, dimension: int) -> list[tuple[list[str], list[Any], list[Any]]]:
    from toolwise.storage import rows
    from toolwise.storage.embeddings import HashingEmbedding

    embed = HashingEmbedding(dimension)
    made = []
    for start, count in _batches(records):
        batch = _scale._records(start, count, 7)
        made.append(
            (
                [o.id for o in batch],
                embed([rows.outcome_document(o) for o in batch]),
                [rows.outcome_metadata(o, 1.0) for o in batch],
            )
        )
    return made


def _recall(collection: Any, ids: list[str], truth: Any, queries: Any, asked: Any) -> float:
    """Share of HNSW's K nearest that are among the exact K nearest (ties counted)."""
    import numpy as np

    position = {record_id: n for n, record_id in enumerate(ids)}
    found = collection.query(query_embeddings=asked.tolist(), n_results=K, include=[])["ids"]
    hits = 0
    for q, got in enumerate(found):
        scores = truth @ queries[q]
        kth = np.partition(scores, -K)[-K]
        hits += sum(1 for i in got if scores[position[i]] >= kth - 1e-9)
    return hits / (K * len(found))


def measure_lever(
    name: str, records: int, home: Path, dimension: int, hnsw: dict[str, Any]
) -> dict[str, Any]:
    """Chroma alone on a fresh server: its CPU per row and recall@K for one setting."""
    import numpy as np

    from toolwise.storage import rows
    from toolwise.storage.clients import http_client
    from toolwise.storage.embeddings import HashingEmbedding

    made = _made(records, dimension)
    exact = _made(records, 256) if dimension != 256 else made
    truth = np.asarray([v for _, vectors, _ in exact for v in vectors])
    ids = [i for batch_ids, _, _ in made for i in batch_ids]
    texts = [rows.outcome_document(o) for o in _scale._records(10**7, QUERIES, 99)]
    queries = np.asarray(HashingEmbedding(256)(texts))
    asked = np.asarray(HashingEmbedding(dimension)(texts))
    server = _scale.Server(home / f"lever-{name}")
    try:
        collection = http_client(server.url).get_or_create_collection(
            "lever", configuration={"hnsw": {"space": "cosine", **hnsw}}, embedding_function=None
        )
        spent = 0.0
        for n, (batch_ids, vectors, metadatas) in enumerate(made):
            before = server.cpu_s()
            collection.upsert(ids=batch_ids, embeddings=vectors, metadatas=metadatas)
            if n >= WARM_BATCHES:
                spent += server.cpu_s() - before
        recall = _recall(collection, ids, truth, queries, asked)
    finally:
        server.stop()
    timed = len(ids) - WARM_BATCHES * BATCH
    return {
        "lever": name,
        "dimension": dimension,
        "hnsw": hnsw,
        "server_ms_per_row": _ms(spent, timed),
        "recall_at_10": recall,
    }


def _print_rows(results: Sequence[dict[str, Any]]) -> None:
    print(
        table(
            ["store", *PHASES, "toolwise", "Chroma", "total", "rows/s at most"],
            [
                [
                    r["mode"],
                    *(f"{r['ms_per_row'][p]:.3f}" for p in PHASES),
                    f"{r['toolwise_ms']:.3f} ({r['toolwise_share']:.0%})",
                    f"{r['chroma_ms']:.3f}",
                    f"{r['total_ms']:.3f}",
                    f"{r['bound_rows_per_s']:,.0f} ({r['bound_by']})",
                ]
                for r in results
            ],
        )
    )


def _print_levers(levers: Sequence[dict[str, Any]]) -> None:
    base = levers[0]["server_ms_per_row"]
    print(
        table(
            ["lever", "server ms/row", "vs default", "recall@10"],
            [
                [
                    lever["lever"],
                    f"{lever['server_ms_per_row']:.3f}",
                    f"{lever['server_ms_per_row'] / base - 1:+.0%}",
                    f"{lever['recall_at_10']:.2f}",
                ]
                for lever in levers
            ],
        )
    )
    print(f"\n{LEVERS_NOTE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="timed rows per store")
    parser.add_argument("--hnsw", action="store_true", help="also measure the HNSW levers")
    parser.add_argument("--modes", default="embedded,server")
    args = parser.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    home = Path(tempfile.mkdtemp(prefix="toolwise-write-cost-"))
    try:
        results = []
        for mode in args.modes.split(","):
            results.append(measure_store(mode, args.records, home / mode))
            print(f"  {mode}: {results[-1]['total_ms']:.3f} ms CPU per row", flush=True)
        print()
        _print_rows(results)
        payload: dict[str, Any] = {
            "args": {"records": args.records, "batch": BATCH},
            "load_average_before": load_before,
            "stores": results,
        }
        if args.hnsw:
            levers = [
                measure_lever("default", args.records, home, 256, {}),
                measure_lever("128 dimensions", args.records, home, 128, {}),
                measure_lever(
                    "ef_construction 50", args.records, home, 256, {"ef_construction": 50}
                ),
            ]
            print()
            _print_levers(levers)
            payload["levers"] = levers
            payload["levers_note"] = LEVERS_NOTE
    finally:
        shutil.rmtree(home, ignore_errors=True)
    path = write_json("write_cost", payload)
    print(f"\nwrote {path} (load average {os.getloadavg()[0]:.1f}; before {load_before[0]:.1f})")


if __name__ == "__main__":
    main()
