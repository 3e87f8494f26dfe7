"""CPU per stored row: toolwise's part (build, serialise, embed) and Chroma's, embedded and on a
server — where a write's time goes, and what bounds the writes of one machine.

    python benchmarks/write_cost.py                   # 20,000 rows per store, batches of 1,000
    python benchmarks/write_cost.py --prefill 100000  # into a copy of scale.py's 100,000-row store
    python benchmarks/write_cost.py --records 5000    # quicker
    python benchmarks/write_cost.py --hnsw            # also the HNSW levers, with their recall

Rows are the scale benchmark's (10 tools × 50 task types, 20 % failures with an error). Each
batch is written by ``ChromaOutcomeStore.write`` into a store (a PersistentClient, then a
`chroma run` server this script starts) that is fresh, or with ``--prefill N`` a copy of the
store of N rows that ``scale.py`` caches (grown there first if missing: the same rows, failure
index and all), after two untimed batches. Per batch, CPU time of:

* **build** — making the ``ToolOutcome`` records (validation included);
* **serialise** — their Chroma metadata (``rows.outcome_metadata``: compact JSON and keys);
* **embed** — their documents and vectors (``HashingEmbedding``);
* **Chroma** — ``store.write`` minus serialise and embed (measured again on the same rows just
  before): the upserts (rows and failure index) and the write lease, in this process; on a
  server, this process's client (JSON of the request) plus the server process's CPU over the
  writes (``/proc``), both per row. The server goes on indexing after it answers, so its CPU
  is read once it has stopped rising, before the first timed batch and after the last
  (``_cpu.settled``).

On a server the same rows are also written by Chroma alone (vectors and metadata made first,
upserted into the same collection of another copy: what ``scale.py --only writes`` compares
toolwise with), and with ``--parts`` by Chroma alone plus the failure index's upserts: the
difference between the rows is what toolwise asks of the server beyond the rows themselves.
Each way has a server of its own and they are written in turns, batch by batch, so a busy
spell of the shared machine falls on all alike.

What bounds the rows/s (``rows/s at most``): embedded, the one process's CPU per row
(``1000 / ms``); on a server, its own CPU per row (``1000 / server ms``: it applies one write
at a time, whatever the number of writing processes) or the cores it shares with its writers
(``cores × 1000 / total ms``), whichever is lower.

``--hnsw`` writes the same rows with Chroma alone (vectors and metadata made first) into a fresh
server per setting (see ``LEVERS``; after ``--prefill`` rows written untimed with the same
setting) and gives the server's CPU per row and recall@10: the share of HNSW's 10 nearest (for
200 other records' documents) that are among the exact 10 nearest by the default
256-dimension vectors (ties counted as hits). ``upserts of N`` keep the default settings and
change only the rows per upsert call (the writer sends up to 2,000 to a server: its
``REMOTE_BATCH``). ``--levers`` picks
some by name; a name may repeat, to show the noise.

Prints a table and writes benchmarks/results/write_cost.json (with the load average: numbers
from a busy machine are high).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
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
_scale = _load("scale")  # its record generator, its cache of stores and its `chroma run` server
_parts = _load("_cpu")
settled, batches, summarise = _parts.settled, _parts.batches, _parts.summarise
written_bytes, rotated = _parts.written_bytes, _parts.rotated
BATCH, WARM_BATCHES, FIRST_TIMED, PHASES = (
    _parts.BATCH,
    _parts.WARM_BATCHES,
    _parts.FIRST_TIMED,
    _parts.PHASES,
)
table, write_json = _common.table, _common.write_json

QUERIES = 200
K = 10
ALONE = "server, Chroma alone"
ALONE_INDEX = "server, Chroma alone + failure index"

# name -> (dimension, HNSW configuration of a new collection), measured by --hnsw
LEVERS: dict[str, tuple[int, dict[str, Any]]] = {
    "default": (256, {}),
    "128 dimensions": (128, {}),
    "ef_construction 50": (256, {"ef_construction": 50}),
    "max_neighbors 8": (256, {"max_neighbors": 8}),
    "sync_threshold 10000": (256, {"sync_threshold": 10_000}),
    "batch_size 1000": (256, {"batch_size": 1_000}),
    "upserts of 250": (256, {}),
    "upserts of 2000": (256, {}),
    "upserts of 4000": (256, {}),
}
# else BATCH rows per call; 2,000 is what the writer sends a server (REMOTE_BATCH)
UPSERT_ROWS = {"upserts of 250": 250, "upserts of 2000": 2_000, "upserts of 4000": 4_000}


def _cpu(clock: Callable[[], float], work: Callable[[], Any]) -> tuple[float, Any]:
    began = clock()
    result = work()
    return clock() - began, result


def _data_dir(mode: str) -> str:
    return "chroma" if mode == "embedded" else "server-data"


def prefilled(mode: str, size: int, cache: Path) -> Path:
    """The data directory of scale.py's cached store of ``size`` rows, grown there first if
    it holds fewer (so this script and ``scale.py --only writes`` measure the same store)."""
    home = _scale._cached(cache / mode, size)
    meta_path = home / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    data = home / _data_dir(mode)
    server = _scale.Server(data) if mode == "server" else None
    try:
        where = str(home) if server is None else server.url
        _scale.grow(mode, where, meta, size, lambda m: meta_path.write_text(json.dumps(m)))
    finally:
        if server is not None:
            server.stop()
    return data


def _copy(source: Path | None, home: Path, mode: str) -> Path:
    data = home / _data_dir(mode)
    if source is not None:
        shutil.copytree(source, data, ignore=shutil.ignore_patterns("*.log"))
    return data


def measure_embedded(records: int, home: Path, source: Path | None) -> dict[str, Any]:
    """CPU per row of each phase, writing ``records`` rows through ``store.write``."""
    from toolwise.storage import rows

    _copy(source, home, "embedded")
    store = _scale._open_store("embedded", str(home))
    spent = dict.fromkeys(PHASES, 0.0)
    timed = 0
    for n, (start, count) in enumerate(batches(records)):
        build, batch = _cpu(time.thread_time, lambda s=start, c=count: _scale._records(s, c, 7))
        serialise, _ = _cpu(
            time.thread_time, lambda b=batch: [rows.outcome_metadata(o, 1.0) for o in b]
        )
        embed, _ = _cpu(
            time.thread_time, lambda b=batch: store.embedding([rows.outcome_document(o) for o in b])
        )
        write, _ = _cpu(time.process_time, lambda b=batch: store.write(b))
        if n < WARM_BATCHES:
            continue
        timed += count
        spent["build"] += build
        spent["serialise"] += serialise
        spent["embed"] += embed
        spent["chroma_client"] += max(write - serialise - embed, 0.0)
    store.close()
    return summarise("embedded", timed, spent, os.cpu_count() or 1)


def measure_servers(
    records: int, home: Path, source: Path | None, parts: bool
) -> list[dict[str, Any]]:
    """The same rows written three ways, each to a server of its own (a copy of ``source``),
    in turns batch by batch so a busy spell falls on all alike: through ``store.write``; by
    Chroma alone into the same collection (vectors and metadata made first); and, with
    ``parts``, by Chroma alone plus the failures' upsert into the failure index."""
    from toolwise.storage import rows
    from toolwise.storage.collections import fold, stored_dimension
    from toolwise.storage.failure_index import FailureIndex

    labels = ["server", ALONE, *([ALONE_INDEX] if parts else [])]
    servers: list[Any] = []
    try:
        stores = []
        for k in range(len(labels)):
            servers.append(_scale.Server(_copy(source, home / f"kind-{k}", "server")))
            stores.append(_scale._open_store("server", servers[-1].url))
        # Private on purpose: Chroma alone writes into the store's own collection and index,
        # as large as they are.
        collections = [store._collection("default") for store in stores]
        index = stores[-1]._failures.for_writing("default", collections[-1]) if parts else None
        spent = [dict.fromkeys(PHASES, 0.0) for _ in labels]
        began = [0.0] * len(labels)
        timed = 0
        for n, (start, count) in enumerate(batches(records)):
            if n == WARM_BATCHES:
                began = [settled(server.cpu_s) for server in servers]
            build, batch = _cpu(time.thread_time, lambda s=start, c=count: _scale._records(s, c, 7))
            serialise, metadatas = _cpu(
                time.thread_time, lambda b=batch: [rows.outcome_metadata(o, time.time()) for o in b]
            )
            embed, vectors = _cpu(
                time.thread_time,
                lambda b=batch: stores[0].embedding([rows.outcome_document(o) for o in b]),
            )
            ids = [o.id for o in batch]

            def alone(k: int, i: Any = ids, v: Any = vectors, m: Any = metadatas) -> None:
                # the vectors as the collection stores them (folded in one made now)
                v = fold(v, stored_dimension(collections[k]))
                collections[k].upsert(ids=i, embeddings=v, metadatas=m)
                if k == 2:
                    FailureIndex.add(index, i, v, m)

            used = {}
            for k in rotated(list(range(len(labels))), n):
                work = (lambda b=batch: stores[0].write(b)) if k == 0 else (lambda k=k: alone(k))
                used[k], _ = _cpu(time.process_time, work)
            if n < WARM_BATCHES:
                continue
            timed += count
            spent[0]["build"] += build
            spent[0]["serialise"] += serialise
            spent[0]["embed"] += embed
            spent[0]["chroma_client"] += max(used[0] - serialise - embed, 0.0)
            for k in range(1, len(labels)):
                spent[k]["chroma_client"] += used[k]
        for k, server in enumerate(servers):
            spent[k]["chroma_server"] = settled(server.cpu_s) - began[k]
        for store in stores:
            store.close()
    finally:
        for server in servers:
            server.stop()
    return [
        summarise(label, timed, spent[k], os.cpu_count() or 1) for k, label in enumerate(labels)
    ]


def _made(first: int, records: int, dimension: int) -> Iterator[tuple[list[str], Any, Any]]:
    """Batches of ``(ids, vectors, metadatas)`` as Chroma alone is given them."""
    from toolwise.storage import rows
    from toolwise.storage.embeddings import HashingEmbedding

    embed = HashingEmbedding(dimension)
    for start in range(first, first + records, BATCH):
        batch = _scale._records(start, min(BATCH, first + records - start), 7)
        yield (
            [o.id for o in batch],
            embed([rows.outcome_document(o) for o in batch]),
            [rows.outcome_metadata(o, time.time()) for o in batch],
        )


def _recall(collection: Any, ids: list[str], truth: Any, queries: Any, asked: Any) -> float:
    """Share of HNSW's K nearest that are among the exact K nearest (ties counted)."""
    import numpy as np

    position = {record_id: n for n, record_id in enumerate(ids)}
    found = collection.query(query_embeddings=asked.tolist(), n_results=K, include=[])["ids"]
    hits = 0
    for q, got in enumerate(found):
        scores = truth @ queries[q]
        kth = np.partition(scores, -K)[-K]
        hits += sum(1 for i in got if scores[position[i]] >= kth - 1e-6)
    return hits / (K * len(found))


def _exact(records: int, prefill: int) -> tuple[list[str], Any]:
    """Every row's id and default (256-dimension) vector, in the order written."""
    import numpy as np

    parts = [*_made(0, prefill, 256), *_made(FIRST_TIMED, records + WARM_BATCHES * BATCH, 256)]
    ids = [i for batch_ids, _, _ in parts for i in batch_ids]
    return ids, np.asarray([v for _, vectors, _ in parts for v in vectors], dtype=np.float32)


def measure_levers(
    names: list[str], records: int, prefill: int, home: Path, exact: tuple[list[str], Any]
) -> list[dict[str, Any]]:
    """Chroma alone with each setting on a server of its own: CPU per row and recall@K.

    The servers are written in turns, batch by batch (``prefill`` rows first, untimed, with
    the same setting: it is fixed when a collection is made), so a busy spell of the machine
    falls on every setting alike; a name may repeat, to see the noise."""
    import numpy as np

    from toolwise.storage import rows
    from toolwise.storage.clients import http_client
    from toolwise.storage.embeddings import HashingEmbedding

    texts = [rows.outcome_document(o) for o in _scale._records(10**8, QUERIES, 99)]
    queries = np.asarray(HashingEmbedding(256)(texts), dtype=np.float32)
    dimensions = sorted({LEVERS[name][0] for name in names})
    servers: list[Any] = []
    try:
        collections = []
        for n, name in enumerate(names):
            servers.append(_scale.Server(home / f"lever-{n}"))
            collections.append(
                http_client(servers[-1].url).get_or_create_collection(
                    "lever",
                    configuration={"hnsw": {"space": "cosine", **LEVERS[name][1]}},
                    embedding_function=None,
                )
            )
        turns = list(range(len(names)))
        size = [UPSERT_ROWS.get(name, BATCH) for name in names]
        pending: list[list[Any]] = [[] for _ in names]

        def flush(k: int, at_least: int = 1) -> None:
            """Upsert what setting ``k`` holds once it has ``at_least`` rows, in its size."""
            held = sum(len(ids) for ids, _, _ in pending[k])
            if held < at_least or not held:
                return
            ids, vectors, metadatas = (
                [x for part in pending[k] for x in part[i]] for i in range(3)
            )
            pending[k].clear()
            for at in range(0, len(ids), size[k]):
                cut = slice(at, at + size[k])
                collections[k].upsert(
                    ids=ids[cut], embeddings=vectors[cut], metadatas=metadatas[cut]
                )

        def write(first: int, count: int, timed: bool) -> None:
            made = {d: _made(first, count, d) for d in dimensions}
            for n, parts in enumerate(zip(*(made[d] for d in dimensions), strict=True)):
                by_dimension = dict(zip(dimensions, parts, strict=True))
                if timed and n == WARM_BATCHES:
                    for k in turns:
                        flush(k)
                        began[k] = settled(servers[k].cpu_s)
                        wrote[k] = written_bytes(servers[k].process.pid)
                for k in rotated(turns, n):
                    pending[k].append(by_dimension[LEVERS[names[k]][0]])
                    flush(k, at_least=size[k])
            for k in turns:
                flush(k)

        began, wrote = [0.0] * len(names), [0.0] * len(names)
        write(0, prefill, timed=False)
        write(FIRST_TIMED, records + WARM_BATCHES * BATCH, timed=True)
        results = []
        for k, name in enumerate(names):
            spent = settled(servers[k].cpu_s) - began[k]
            written = written_bytes(servers[k].process.pid) - wrote[k]
            dimension, hnsw = LEVERS[name]
            asked = np.asarray(HashingEmbedding(dimension)(texts))
            results.append(
                {
                    "lever": name,
                    "dimension": dimension,
                    "hnsw": hnsw,
                    "prefill": prefill,
                    "server_ms_per_row": spent * 1000 / records,
                    "server_kb_written_per_row": written / 1024 / records,
                    "recall_at_10": _recall(collections[k], exact[0], exact[1], queries, asked),
                }
            )
    finally:
        for server in servers:
            server.stop()
    return results


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
            ["lever", "server ms/row", "vs first", "server KiB written/row", "recall@10"],
            [
                [
                    lever["lever"],
                    f"{lever['server_ms_per_row']:.3f}",
                    f"{lever['server_ms_per_row'] / base - 1:+.0%}",
                    f"{lever['server_kb_written_per_row']:.1f}",
                    f"{lever['recall_at_10']:.3f}",
                ]
                for lever in levers
            ],
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="timed rows per store")
    parser.add_argument("--prefill", type=int, default=0, help="rows in the store beforehand")
    parser.add_argument("--cache", default=str(_scale.CACHE), help="scale.py's cached stores")
    parser.add_argument("--modes", default="embedded,server")
    parser.add_argument("--parts", action="store_true", help="also Chroma alone + failure index")
    parser.add_argument("--hnsw", action="store_true", help="also measure the HNSW levers")
    parser.add_argument("--levers", default=",".join(LEVERS), help="names, comma-separated")
    args = parser.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    home = Path(tempfile.mkdtemp(prefix="toolwise-write-cost-"))
    try:
        results = []
        for mode in [m for m in args.modes.split(",") if m]:
            source = prefilled(mode, args.prefill, Path(args.cache)) if args.prefill else None
            found = (
                [measure_embedded(args.records, home / mode, source)]
                if mode == "embedded"
                else measure_servers(args.records, home / mode, source, args.parts)
            )
            for result in found:
                print(f"  {result['mode']}: {result['total_ms']:.3f} ms CPU per row", flush=True)
            results += found
        print()
        _print_rows(results)
        payload: dict[str, Any] = {
            "args": {"records": args.records, "batch": BATCH, "prefill": args.prefill},
            "load_average_before": load_before,
            "stores": results,
        }
        if args.hnsw:
            exact = _exact(args.records, args.prefill)
            levers = measure_levers(args.levers.split(","), args.records, args.prefill, home, exact)
            print()
            _print_levers(levers)
            payload["levers"] = levers
    finally:
        shutil.rmtree(home, ignore_errors=True)
    path = write_json("write_cost", payload)
    print(f"\nwrote {path} (load average {os.getloadavg()[0]:.1f}; before {load_before[0]:.1f})")


if __name__ == "__main__":
    main()
