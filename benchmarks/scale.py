"""How toolwise grows with the records kept, embedded and on a `chroma run` server.

    python benchmarks/scale.py                       # 10k and 100k records (the first run
                                                     # also generates and caches the stores)
    python benchmarks/scale.py --sizes 10000         # quicker
    python benchmarks/scale.py --million             # also 1M (generated once, cached; untimed)
    python benchmarks/scale.py --only cold-start --modes embedded   # cold start with and
                                                     # without a snapshot of the view only
    python benchmarks/scale.py --only view-memory --sizes 10000,100000,1000000
                                                     # the learnt view's memory, no store
    python benchmarks/scale.py --only generate --million   # fill the cache (background)
    python benchmarks/scale.py --only writes --sizes 100000    # sustained writes into a copy
                                                     # of the cached store: toolwise against
                                                     # Chroma alone (embedded; 4 processes to
                                                     # a server)
    python benchmarks/scale.py --only fleet          # the fleet on a fresh server only

Each size's store is cached apart (``<cache>/<mode>/<size>``, grown from the next smaller one).
The machine this runs on may be shared: cold starts are repeated (``--repeat``, median kept)
and the load average is written with the results.

For each store mode (embedded PersistentClient; a real `chroma run` server this script starts)
records are generated straight into the store in batches (10 tools × 50 task types, 20 %
failures with an error message) and cached under `benchmarks/.cache/scale/` between runs. At each
size a *fresh process* opens the store (a snapshot of the view is left by an untimed process
first, as at any restart) and reports: cold start to its first recommendation,
RSS, `recommend` and brief (`Advisor.advise`, with recall) p50/p99. Disk per record is read
from the store's directory. On the server, a second process measures staleness: the time from
one process's `record()` returning to another process's `priors()` showing it. A small fleet
(4 processes × 2 agents writing to one server for `--fleet-seconds`) measures throughput to one
server and the staleness seen by an observer meanwhile.

Prints a table, writes benchmarks/results/scale.json and benchmarks/results/scale.png.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Load the shared helpers by file, with this folder off sys.path: a module here must never
# shadow the standard library (benchmarks/http.py once hid `http` from httpx).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
_spec = importlib.util.spec_from_file_location("_common", _HERE / "_common.py")
assert _spec is not None
assert _spec.loader is not None
_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_common)
RESULTS, table, write_json = _common.RESULTS, _common.table, _common.write_json
_spec = importlib.util.spec_from_file_location("_cpu", _HERE / "_cpu.py")
assert _spec is not None
assert _spec.loader is not None
_cpu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cpu)

CACHE = Path(__file__).parent / ".cache" / "scale"
TOOLS = [f"tool_{n}" for n in range(10)]
TASKS = [f"task_{n:02d}" for n in range(50)]
BATCH = 1_000
PROBES = 20


# -- a chroma run server ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`chroma run` on a data directory, until stop()."""

    def __init__(self, path: Path) -> None:
        import httpx

        path.mkdir(parents=True, exist_ok=True)
        beside = Path(sys.executable).parent / "chroma"
        executable = str(beside) if beside.exists() else shutil.which("chroma")
        if executable is None:
            raise SystemExit("the `chroma` CLI is not installed")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (path.parent / f"{path.name}.log").open("ab")
        self.process = subprocess.Popen(
            [
                executable,
                "run",
                "--path",
                str(path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("chroma run did not start")

    def cpu_s(self) -> float:
        """CPU seconds the server process has used so far (Linux: ``/proc``)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# -- generating records -------------------------------------------------------------------------


def _records(start: int, count: int, seed: int) -> list[Any]:
    from toolwise.models import ToolOutcome

    rng = random.Random(seed + start)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for n in range(start, start + count):
        tool, task = rng.choice(TOOLS), rng.choice(TASKS)
        failed = rng.random() < 0.2
        out.append(
            ToolOutcome(
                id=f"r{n:08d}",
                tool=tool,
                task_type=task,
                task=f"{task.replace('_', ' ')} for service {n % 97}",
                outcome="failure" if failed else "success",
                latency_ms=rng.uniform(50, 2_000),
                error_type="TimeoutError" if failed else "",
                error_message=f"{tool} timed out after {n % 60} s" if failed else "",
                timestamp=base + timedelta(seconds=n),
            )
        )
    return out


def _open_store(mode: str, where: str) -> Any:
    from toolwise.storage.chroma import ChromaOutcomeStore
    from toolwise.storage.clients import http_client, persistent_client

    client = persistent_client(Path(where) / "chroma") if mode == "embedded" else http_client(where)
    return ChromaOutcomeStore(client)


def grow(mode: str, where: str, meta: dict[str, Any], target: int, save: Any = None) -> None:
    """Write records until the store holds ``target``; note the throughput of what was written.
    Every 50,000 records the progress is noted (``save(meta)``), so a run cut short resumes."""
    have = int(meta.get("records", 0))
    if have >= target:
        return
    store = _open_store(mode, where)
    started, start_from = time.perf_counter(), have
    for start in range(have, target, BATCH):
        store.write(_records(start, min(BATCH, target - start), seed=7))
        done = min(start + BATCH, target)
        if done % 50_000 == 0 or done == target:
            print(f"  {mode}: {done:,} records", flush=True)
            elapsed = time.perf_counter() - started
            meta["records"] = done
            writes = meta.setdefault("writes", [])
            if writes and writes[-1].get("open"):
                writes.pop()
            writes.append(
                {
                    "from": start_from,
                    "to": done,
                    "seconds": elapsed,
                    "records_per_s": (done - start_from) / elapsed,
                    "open": done < target,
                }
            )
            if save is not None:
                save(meta)
    store.close()


def _cached(root: Path, size: int) -> Path:
    """The cache directory of a store of ``size`` records (``root/<size>``). A new one starts
    as a copy of the largest smaller store cached (then grows), so each size is kept apart:
    measuring 100,000 records after generating 1,000,000 needs no second store."""
    home = root / str(size)
    if home.exists():
        return home
    smaller = sorted(
        (int(p.name) for p in root.glob("*") if p.name.isdigit() and int(p.name) < size),
        reverse=True,
    )
    for found in smaller:
        if (root / str(found) / "meta.json").exists():
            shutil.copytree(root / str(found), home, ignore=shutil.ignore_patterns("*.log"))
            return home
    home.mkdir(parents=True)
    return home


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# -- measuring in a fresh process ---------------------------------------------------------------

CHILD = r"""
import json, os, sys, time, resource, tempfile
t0 = time.perf_counter()
from toolwise import Toolwise
from toolwise.advice import Advisor
from langchain_core.messages import HumanMessage
imported = time.perf_counter() - t0
args = json.loads(sys.argv[1])
spool = tempfile.mkdtemp()
if args["mode"] == "embedded":
    tw = Toolwise(args["where"], spool_dir=spool)
else:
    tw = Toolwise(url=args["where"], spool_dir=spool)
tools = args["tools"]
tw.recommend("task_07", tools)
cold = time.perf_counter() - t0

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

out = {"import_s": imported, "cold_start_s": cold, "rss_mb": rss_mb()}
out.update(view_memory(tw.runtime.view()))
rec = []
for n in range(200):
    s = time.perf_counter()
    tw.recommend(f"task_{n % 50:02d}", tools)
    rec.append(time.perf_counter() - s)
advisor = Advisor(tw.runtime, tools=tools, recall_ttl=0)
brief = []
for n in range(60):
    msgs = [HumanMessage(f"task {n % 50:02d} for service {n}")]
    s = time.perf_counter()
    advisor.advise(msgs, config={"metadata": {"toolwise_task_type": f"task_{n % 50:02d}"}})
    brief.append(time.perf_counter() - s)
out["recommend_s"] = rec
out["brief_s"] = brief
out["rss_after_mb"] = rss_mb()
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if args.get("observe"):
    print("ready", flush=True)
    for line in sys.stdin:
        tool = line.strip()
        if not tool:
            break
        while not tw.priors(tool=tool, agent_id="probe"):
            time.sleep(0.01)
        print(f"seen {time.time()}", flush=True)
print("RESULT " + json.dumps(out), flush=True)
tw.close(timeout=1)
"""


COLD_CHILD = r"""
import json, os, resource, sys, tempfile, time
t0 = time.perf_counter()
from toolwise import Toolwise
imported = time.perf_counter() - t0
args = json.loads(sys.argv[1])
spool = tempfile.mkdtemp()
if args["mode"] == "embedded":
    tw = Toolwise(args["where"], spool_dir=spool)
else:
    tw = Toolwise(url=args["where"], spool_dir=spool)
opened = time.perf_counter() - t0
feed = tw.runtime.feed
role = args["role"]
if role == "full":
    feed.invalidate_snapshots()  # measure the build from every record
    opened = time.perf_counter() - t0
tw.runtime.view()  # the learnt view: from the snapshot (and replay), or every record
built = time.perf_counter() - t0
tw.recommend("task_07", args["tools"])
usage = resource.getrusage(resource.RUSAGE_SELF)
out = {"cold_start_s": time.perf_counter() - t0, "import_s": imported, "open_s": opened,
       "view_s": built, "cpu_s": usage.ru_utime + usage.ru_stime,
       "replayed": feed.replayed, "from_snapshot": feed.restored is not None,
       "quiet": feed.quiet}

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

out["rss_mb"] = rss_mb()
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if role == "start":
    out.update(view_memory(tw.runtime.view()))
if role == "full":
    s = time.perf_counter()
    head = feed.write_snapshot()
    out["snapshot_write_s"] = time.perf_counter() - s
    out["snapshot_records"] = head.records if head else 0
    payload = feed._keeper.snapshots.payload(head) if head else b""
    out["snapshot_bytes"] = len(payload)
if role == "write":  # an app that records until it closes (its snapshot is written at close)
    for n in range(args["records"]):
        tw.record(tool=args["tools"][n % 10], outcome="success" if n % 5 else "failure",
                  task_type=f"task_{n % 50:02d}")
print("RESULT " + json.dumps(out), flush=True)
tw.close(timeout=60)
"""

VIEW_MEMORY = r"""
def view_memory(view):
    # What the learnt view holds, by size accounting: every object reachable from its
    # state (sys.getsizeof each, once; classes, modules, functions and the shared
    # configuration left out), and how many aggregates of each kind.
    import gc, sys, types
    state = view._state
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    seen, stack, size = {id(state._config)}, [state], 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return {"view_mb": size / 2**20, "view_objects": len(seen) - 1, "view_sizes": state.sizes()}
"""

WRITES_BEFORE_RESTART = 1_000


def compile_toolwise() -> None:
    """Write toolwise's bytecode (``.pyc``) before any fresh process is timed.

    This environment sets ``PYTHONDONTWRITEBYTECODE=1`` and toolwise is installed from its
    source tree, so without this every fresh process would compile toolwise anew — a cost a
    deployed install (pip writes the ``.pyc`` files) never pays. Its dependencies already
    have theirs. The children still do not write any: they read what is compiled here.
    """
    import compileall

    spec = importlib.util.find_spec("toolwise")
    for location in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(location, quiet=1)


def _child(args: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", VIEW_MEMORY + COLD_CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[7:]))


def cold_start(mode: str, where: str, repeat: int = 3) -> dict[str, Any]:
    """Fresh processes, each timed from its first import to its first recommendation:

    * ``full_build``: drops every snapshot and learns every record (then writes a snapshot,
      timed apart);
    * ``from_snapshot``: starts from that snapshot; nothing was stored after it;
    * ``after_writes``: an app first records ``WRITES_BEFORE_RESTART`` records and closes
      (untimed; its snapshot is written at close, just after its last write), then the next
      start is timed.

    The two timed starts are each run ``repeat`` times; the median run is kept.
    """
    base = {"mode": mode, "where": where, "tools": TOOLS}
    row: dict[str, Any] = {
        "full_build": _child({**base, "role": "full"}),
        "from_snapshot": _median([_child({**base, "role": "start"}) for _ in range(repeat)]),
    }
    starts = []
    for _ in range(repeat):
        _child({**base, "role": "write", "records": WRITES_BEFORE_RESTART})
        starts.append(_child({**base, "role": "start"}))
    row["after_writes"] = _median(starts)
    row["writes_before_restart"] = WRITES_BEFORE_RESTART
    return row


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median cold start, with every run's time (the machine may be shared)."""
    ordered = sorted(runs, key=lambda r: float(r["cold_start_s"]))
    return {**ordered[len(ordered) // 2], "runs_s": [r["cold_start_s"] for r in runs]}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _ms(values: list[float]) -> dict[str, float]:
    return {"p50": _pct(values, 0.5), "p99": _pct(values, 0.99)}


def measure(mode: str, where: str, url: str | None, probes: int) -> dict[str, Any]:
    """A fresh process opens the store, answers, is timed; on a server it also observes."""
    args = {"mode": mode, "where": where, "tools": TOOLS, "observe": url is not None}
    child = subprocess.Popen(
        [sys.executable, "-c", VIEW_MEMORY + CHILD, json.dumps(args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    lags: list[float] = []
    if url is not None:
        lags = _probe(child, url, probes, "solo")
        child.stdin.write("\n")
        child.stdin.flush()
    result: dict[str, Any] = {}
    for line in child.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    child.wait(timeout=120)
    result["recommend_ms"] = _ms(result.pop("recommend_s"))
    result["brief_ms"] = _ms(result.pop("brief_s"))
    if lags:
        result["staleness_s"] = _lag_summary(lags)
    return result


def _probe(child: subprocess.Popen[str], url: str, probes: int, tag: str) -> list[float]:
    """This process records a new tool; the child reports when its priors show it."""
    from toolwise import Toolwise

    assert child.stdin is not None
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == "ready":
            break
    lags = []
    with tempfile.TemporaryDirectory() as spool:
        tw = Toolwise(url=url, spool_dir=spool)
        for n in range(probes):
            tool = f"probe_{tag}_{os.getpid()}_{time.time_ns()}_{n}"
            child.stdin.write(tool + "\n")
            child.stdin.flush()
            tw.record(tool=tool, outcome="success", task_type="probe", agent_id="probe")
            made = time.time()
            seen = child.stdout.readline().split()
            lags.append(float(seen[1]) - made)
            time.sleep(random.uniform(0.1, 0.4))
        tw.close(timeout=10)
    return lags


def _lag_summary(lags: list[float]) -> dict[str, float]:
    ordered = sorted(lags)
    return {
        "n": len(lags),
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max": ordered[-1],
    }


# -- write throughput, and what Chroma itself takes ----------------------------------------------

WRITES_CHILD = r"""
import json, sys, time
import importlib.util
args = json.loads(sys.argv[1])
spec = importlib.util.spec_from_file_location("scale_bench", args["script"])
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)
from toolwise.storage import rows
store = scale._open_store(args["mode"], args["where"])
start, count, batch, agent = args["start"], args["count"], args["batch"], args["agent"]
batches = [[o.model_copy(update={"agent_id": agent})
            for o in scale._records(s, min(batch, start + count - s), seed=11)]
           for s in range(start, start + count, batch)]
if args["raw"]:  # Chroma alone: vectors and metadata made first, upserted into the same
    # collection (its index as large), no failure index, no lease; the vectors as the
    # collection stores them (folded to 128 dimensions in a collection made now)
    from toolwise.storage.collections import fold, stored_dimension
    embed = store.embedding
    collection = store._collection(agent)
    stored = stored_dimension(collection)
    made = [([o.id for o in b], fold(embed([rows.outcome_document(o) for o in b]), stored),
             [rows.outcome_metadata(o, time.time()) for o in b]) for b in batches]
    print("ready", flush=True)
    sys.stdin.readline()
    began, cpu = time.time(), time.process_time()
    for ids, vectors, metadatas in made:
        collection.upsert(ids=ids, embeddings=vectors, metadatas=metadatas)
else:
    print("ready", flush=True)
    sys.stdin.readline()
    began, cpu = time.time(), time.process_time()
    for b in batches:
        store.write(b)
print("RESULT " + json.dumps({"began": began, "ended": time.time(),
                              "cpu_s": time.process_time() - cpu}), flush=True)
store.close()
"""


def _writers(
    mode: str,
    where: str,
    raw: bool,
    jobs: list[tuple[int, int, str]],
    server: Server | None,
    *,
    batch: int,
) -> dict[str, float]:
    """Processes writing ``(start, count, agent)`` records each, all at once: records/s over
    them all, and CPU ms per record of the writers and of the server (read once its CPU has
    stopped rising, before the start and after the end: it indexes after it answers)."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITES_CHILD,
                json.dumps(
                    {
                        "script": str(Path(__file__).resolve()),
                        "mode": mode,
                        "where": where,
                        "start": start,
                        "count": count,
                        "batch": batch,
                        "raw": raw,
                        "agent": agent,
                    }
                ),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for start, count, agent in jobs
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    server_began = _cpu.settled(server.cpu_s) if server is not None else 0.0
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    spans = []
    for proc in procs:
        out, _ = proc.communicate(timeout=3600)
        line = next(x for x in out.splitlines() if x.startswith("RESULT "))
        spans.append(json.loads(line[7:]))
    server_spent = _cpu.settled(server.cpu_s) - server_began if server is not None else 0.0
    seconds = max(s["ended"] for s in spans) - min(s["began"] for s in spans)
    records = sum(count for _, count, _ in jobs)
    return {
        "records_per_s": records / seconds,
        "writers_ms_per_record": sum(s["cpu_s"] for s in spans) * 1000 / records,
        "server_ms_per_record": server_spent * 1000 / records,
    }


def write_batch(mode: str) -> int:
    """Records per write: to a server, what toolwise's writer sends one (``REMOTE_BATCH``: a
    call's fixed cost is shared by its rows); embedded, ``BATCH``."""
    from toolwise._write_path import REMOTE_BATCH

    return REMOTE_BATCH if mode == "server" else BATCH


def writes(mode: str, home: Path, size: int, count: int, processes: int) -> dict[str, Any]:
    """Sustained writes into a copy of the cached store of ``size`` records: toolwise's
    ``store.write`` (vectors, failure index, lease) in batches of :func:`write_batch`, then
    Chroma alone (the same rows' upserts in the same batches, vectors made beforehand), from
    ``processes`` processes at once, one agent each (the first: the cached agent, whose
    collection holds ``size`` records)."""
    batch = write_batch(mode)
    row: dict[str, Any] = {
        "mode": mode,
        "records": size,
        "batch": batch,
        "processes": processes,
        "load_average_before": os.getloadavg(),  # at the end it counts these writers too
    }
    for raw in (False, True):
        with tempfile.TemporaryDirectory(dir=home.parent) as tmp:
            data = "chroma" if mode == "embedded" else "server-data"
            shutil.copytree(home / data, Path(tmp) / data)
            server = Server(Path(tmp) / data) if mode == "server" else None
            try:
                where = tmp if server is None else server.url
                base = size + 10_000_000 * (2 if raw else 1)
                agents = ["default", *(f"writer-{k}" for k in range(1, processes))]
                jobs = [(base + k * count, count, agents[k]) for k in range(processes)]
                found = _writers(mode, where, raw, jobs, server, batch=batch)
            finally:
                if server is not None:
                    server.stop()
        rate = found["records_per_s"]
        row["chroma_records_per_s" if raw else "records_per_s"] = rate
        row["chroma_cpu" if raw else "cpu"] = {
            "writers_ms_per_record": found["writers_ms_per_record"],
            "server_ms_per_record": found["server_ms_per_record"],
        }
        print(
            f"  {mode} {size:,} {'chroma alone' if raw else 'toolwise'}: {rate:,.0f} records/s; "
            f"CPU ms per record: writers {found['writers_ms_per_record']:.3f}, "
            f"server {found['server_ms_per_record']:.3f}",
            flush=True,
        )
    return row


def _write_writes(rows_: list[dict[str, Any]]) -> None:
    print()
    print(
        table(
            [
                "mode",
                "records",
                "processes",
                "toolwise records/s",
                "Chroma alone records/s",
                "CPU ms/record, writers + server: toolwise",
                "Chroma alone",
            ],
            [
                [
                    r["mode"],
                    f"{r['records']:,}",
                    str(r["processes"]),
                    f"{r['records_per_s']:,.0f}",
                    f"{r['chroma_records_per_s']:,.0f}",
                    _cpu.cpu_sum_text(r["cpu"]),
                    _cpu.cpu_sum_text(r["chroma_cpu"]),
                ]
                for r in rows_
            ],
        )
    )
    path = RESULTS / "scale.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous["writes"] = rows_
    previous["writes_load_average"] = os.getloadavg()
    path.write_text(json.dumps(previous, indent=2) + "\n")
    print(f"\nwrote the writes part of {path} (load average {os.getloadavg()[0]:.1f})")


# -- a small fleet ------------------------------------------------------------------------------

WRITER = r"""
import json, sys, tempfile, time, random
from toolwise import Toolwise
url, k, agents = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seconds, rate = float(sys.argv[4]), float(sys.argv[5])
tw = Toolwise(url=url, spool_dir=tempfile.mkdtemp(), prefix="fleet")
rng = random.Random(k)
start = time.perf_counter(); n = 0
while (elapsed := time.perf_counter() - start) < seconds:
    if n >= rate * elapsed:  # offered load: `rate` records/s, in bursts with 20 ms pauses
        time.sleep(0.02)  # (an agent between turns: the recorder spools when calls pause)
        continue
    verdict = "success" if rng.random() < 0.8 else "failure"
    tw.record(tool=f"tool_{rng.randrange(10)}", outcome=verdict,
              task_type=f"task_{rng.randrange(50):02d}", agent_id=f"p{k}-a{n % agents}")
    n += 1
recording = time.perf_counter() - start
tw.flush(timeout=180)  # sustained: until everything recorded is stored
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"recorded": n, "written": tw.counters.written, "recording_s": recording,
                  "seconds": time.perf_counter() - start,
                  "cpu_s": usage.ru_utime + usage.ru_stime}), flush=True)
tw.close(timeout=2)
"""

OBSERVER = r"""
import sys, tempfile, time
from toolwise import Toolwise
tw = Toolwise(url=sys.argv[1], spool_dir=tempfile.mkdtemp(), prefix="fleet")
tw.recommend("probe", ["x"])
print("ready", flush=True)
for line in sys.stdin:
    tool = line.strip()
    if not tool:
        break
    while not tw.priors(tool=tool):
        time.sleep(0.01)
    print(f"seen {time.time()}", flush=True)
tw.close(timeout=1)
"""


def fleet(processes: int, agents: int, seconds: float, probes: int, rate: float) -> dict[str, Any]:
    """``processes`` writers × ``agents`` agents, each process offering ``rate`` records/s, to a
    fresh server for ``seconds``; throughput until all of it is stored, and an observer's lag
    meanwhile."""
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data")
        try:
            observer = subprocess.Popen(
                [sys.executable, "-c", OBSERVER, server.url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert observer.stdout is not None
            assert observer.stdin is not None
            for line in observer.stdout:
                if line.strip() == "ready":
                    break
            writers = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        WRITER,
                        server.url,
                        str(k),
                        str(agents),
                        str(seconds),
                        str(rate),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for k in range(processes)
            ]
            time.sleep(min(3.0, seconds / 4))  # the fleet is writing
            lags = _probe_fleet(observer, server.url, probes)
            observer.stdin.write("\n")
            observer.stdin.flush()
            results = [
                json.loads(w.communicate(timeout=seconds + 600)[0].splitlines()[-1])
                for w in writers
            ]
            observer.wait(timeout=60)
            server_cpu = server.cpu_s()
        finally:
            server.stop()
    written = sum(r["written"] for r in results)
    return {
        "processes": processes,
        "agents_per_process": agents,
        "seconds": seconds,
        "offered_records_per_s": rate * processes,
        "recorded": sum(r["recorded"] for r in results),
        "written": written,
        "records_per_s": written / max(r["seconds"] for r in results),
        "staleness_s": _lag_summary(lags),
        # Where the CPU went (2 cores shared by the server, the writers and the observer):
        "writers_cpu_s": sum(r["cpu_s"] for r in results),
        "server_cpu_s": server_cpu,
    }


def _probe_fleet(observer: subprocess.Popen[str], url: str, probes: int) -> list[float]:
    from toolwise import Toolwise

    assert observer.stdin is not None
    assert observer.stdout is not None
    lags = []
    with tempfile.TemporaryDirectory() as spool:
        tw = Toolwise(url=url, spool_dir=spool, prefix="fleet")
        for n in range(probes):
            tool = f"probe_fleet_{n}"
            observer.stdin.write(tool + "\n")
            observer.stdin.flush()
            tw.record(tool=tool, outcome="success", task_type="probe")
            made = time.time()
            lags.append(float(observer.stdout.readline().split()[1]) - made)
            time.sleep(random.uniform(0.1, 0.4))
        tw.close(timeout=30)
    return lags


def _previous(part: str) -> Any:
    """A part of scale.json measured apart (``--only``), kept when the rest is measured."""
    path = RESULTS / "scale.json"
    return json.loads(path.read_text()).get(part) if path.exists() else None


def _phases(run: dict[str, Any]) -> str:
    """``total (imported/opened/view) cpu``: seconds from the first import to each step, and
    the CPU the process had used by its first answer (less sensitive to a shared machine)."""
    return (
        f"{run['cold_start_s']:.2f} "
        f"({run['import_s']:.2f}/{run['open_s']:.2f}/{run['view_s']:.2f}) "
        f"cpu {run['cpu_s']:.2f}"
    )


def _replay(run: dict[str, Any]) -> str:
    return "quiet" if run["quiet"] else f"{run['replayed']:,} replayed"


def _write_cold_start(rows: list[dict[str, Any]]) -> None:
    """Print the cold-start rows and merge them into scale.json (``cold_start``)."""
    print()
    print(
        table(
            [
                "mode",
                "records",
                "full build s",
                "from snapshot s (imported/opened/view)",
                "after writes s (imported/opened/view)",
                "view MB",
                "RSS MB",
                "snapshot KB",
            ],
            [
                [
                    r["mode"],
                    f"{r['records']:,}",
                    f"{r['full_build']['cold_start_s']:.2f}",
                    f"{_phases(r['from_snapshot'])}, {_replay(r['from_snapshot'])}",
                    f"{_phases(r['after_writes'])}, {_replay(r['after_writes'])}",
                    f"{r['from_snapshot']['view_mb']:.1f}",
                    f"{r['from_snapshot']['rss_mb']:,.0f}",
                    f"{r['full_build']['snapshot_bytes'] / 1024:,.0f}",
                ]
                for r in rows
            ],
        )
    )
    path = RESULTS / "scale.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    kept = [  # rows of other sizes or modes, measured the same way (not by older versions)
        r
        for r in previous.get("cold_start", [])
        if (r["mode"], r["records"]) not in {(x["mode"], x["records"]) for x in rows}
        and "after_writes" in r
    ]
    # Each row keeps the load average it was measured at (rows of other runs are kept).
    before = previous.get("cold_start_load_average")
    kept = [{"load_average": before, **r} for r in kept]
    rows = [{**r, "load_average": os.getloadavg()} for r in rows]
    previous["cold_start"] = sorted(kept + rows, key=lambda r: (r["mode"], r["records"]))
    previous["cold_start_load_average"] = os.getloadavg()
    path.write_text(json.dumps(previous, indent=2) + "\n")
    print(f"\nwrote the cold_start part of {path} (load average {os.getloadavg()[0]:.1f})")


def _print_fleet(f: dict[str, Any]) -> None:
    lag = f["staleness_s"]
    print(
        f"\nfleet: {f['processes']} processes x {f['agents_per_process']} agents: "
        f"{f['offered_records_per_s']:,.0f} records/s offered, "
        f"{f['written']:,} recorded in {f['seconds']:.0f} s, "
        f"all stored at {f['records_per_s']:,.0f} records/s; "
        f"staleness p50 {lag['p50']:.2f} s, p99 {lag['p99']:.2f} s, max {lag['max']:.2f} s"
    )


def _write_fleet(result: dict[str, Any]) -> None:
    """Print the fleet's row and put it in scale.json (``fleet``, with its load average)."""
    _print_fleet(result)
    path = RESULTS / "scale.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous["fleet"] = {**result, "load_average": os.getloadavg()}
    path.write_text(json.dumps(previous, indent=2) + "\n")
    print(f"\nwrote the fleet part of {path} (load average {os.getloadavg()[0]:.1f})")


# -- the learnt view's memory, records fed straight to it ----------------------------------------

VIEW_CHILD = r"""
import json, sys, time
from datetime import UTC, datetime, timedelta
from random import Random
from toolwise.learning import ReliabilityView
from toolwise.models import ToolOutcome
args = json.loads(sys.argv[1])
tools, tasks, checkpoints = args["tools"], args["tasks"], args["checkpoints"]
ttl = timedelta(days=30)
step = ttl / checkpoints[-1]  # the last checkpoint's records span one TTL: none lapsed yet
start = datetime.now(UTC) - ttl
clock = [start]
view = ReliabilityView(clock=lambda: clock[0])
rng = Random(7)
rows, began = [], time.perf_counter()
for n in range(1, checkpoints[-1] + 1):
    t = start + step * n
    clock[0] = t
    tool, task = rng.choice(tools), rng.choice(tasks)
    failed = rng.random() < 0.2
    view.observe_outcome(ToolOutcome(
        tool=tool, task_type=task, outcome="failure" if failed else "success",
        latency_ms=rng.uniform(50, 2_000), timestamp=t, expires_at=t + ttl,
        error_type="TimeoutError" if failed else "",
        error_message=f"{tool} timed out after {n % 60} s" if failed else "",
    ))
    if n in checkpoints:
        rows.append({"records": n, "seconds": time.perf_counter() - began,
                     **view_memory(view), "snapshot_bytes": len(view.export_state())})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
print("RESULT " + json.dumps(rows), flush=True)
"""


def measure_view_memory(sizes: list[int]) -> list[dict[str, Any]]:
    """Feed one view ``max(sizes)`` records with the default 30-day TTL, spread over one TTL
    (so none has lapsed), and account its memory at each size: it should grow with the
    contexts (10 tools x 50 task types), not with the records."""
    args = {"tools": TOOLS, "tasks": TASKS, "checkpoints": sorted(sizes)}
    done = subprocess.run(
        [sys.executable, "-c", VIEW_MEMORY + VIEW_CHILD, json.dumps(args)],
        stdout=subprocess.PIPE,
        text=True,
        timeout=7200,
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    rows: list[dict[str, Any]] = json.loads(line[7:])
    print()
    print(
        table(
            ["records", "view MB", "objects", "contexts", "TTL entries", "snapshot KB"],
            [
                [
                    f"{r['records']:,}",
                    f"{r['view_mb']:.1f}",
                    f"{r['view_objects']:,}",
                    f"{r['view_sizes']['contexts']:,}",
                    f"{r['view_sizes']['ttl_entries']:,}",
                    f"{r['snapshot_bytes'] / 1024:,.0f}",
                ]
                for r in rows
            ],
        )
    )
    path = RESULTS / "scale.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous["view_memory"] = rows
    path.write_text(json.dumps(previous, indent=2) + "\n")
    print(f"\nwrote the view_memory part of {path}")
    return rows


# -- the plot -----------------------------------------------------------------------------------


def plot(growth: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'toolwise[example]'): no PNG")
        return False
    panels = [
        ("cold start to first answer (s)", lambda r: r["cold_start_s"]),
        ("learnt view (MB, size accounting)", lambda r: r["view_mb"]),
        ("process RSS after first answer (MB)", lambda r: r["rss_mb"]),
        ("process RSS after the briefs' recall (MB)", lambda r: r["rss_after_mb"]),
        ("recommend p99 (ms)", lambda r: r["recommend_ms"]["p99"]),
        ("brief p99 (ms)", lambda r: r["brief_ms"]["p99"]),
    ]
    fig, axes = plt.subplots(3, 2, figsize=(10, 10))
    for ax, (title, value) in zip(axes.flat, panels, strict=True):
        for mode in ("embedded", "server"):
            rows = [r for r in growth if r["mode"] == mode]
            if rows:
                ax.plot(
                    [r["records"] for r in rows], [value(r) for r in rows], marker="o", label=mode
                )
        ax.set_xscale("log")
        ax.set_title(title)
        ax.set_xlabel("records in the store")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle("toolwise: growth with the records kept (benchmarks/scale.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="record counts, comma-separated")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 records (hours)")
    parser.add_argument("--modes", default="embedded,server")
    parser.add_argument("--probes", type=int, default=PROBES, help="staleness probes per size")
    parser.add_argument("--fleet", default="4x2", help="processes x agents; 0 to skip")
    parser.add_argument("--fleet-seconds", type=float, default=10.0)
    parser.add_argument("--fleet-rate", type=float, default=500.0, help="records/s per process")
    parser.add_argument("--cache", default=str(CACHE), help="where generated stores are kept")
    parser.add_argument("--repeat", type=int, default=3, help="timed cold starts per kind")
    parser.add_argument(
        "--write-records", type=int, default=20_000, help="--only writes: records per process"
    )
    parser.add_argument(
        "--only",
        choices=["cold-start", "generate", "view-memory", "fleet", "writes"],
        help="cold-start: only cold start with and without a snapshot (updates that part of "
        "scale.json, leaves the rest as it was); generate: only fill the cache; view-memory: "
        "only the learnt view's memory, records fed straight to it (no store); fleet: only "
        "the fleet on a fresh server (updates that part); writes: sustained writes into a "
        "copy of each cached store, toolwise and Chroma alone (updates that part)",
    )
    args = parser.parse_args()
    sizes = sorted(
        {int(s) for s in args.sizes.split(",") if s} | ({1_000_000} if args.million else set())
    )
    modes = [m for m in args.modes.split(",") if m]
    if args.only == "view-memory":
        measure_view_memory(sizes)
        return
    if args.only == "fleet":
        processes, agents = (int(x) for x in args.fleet.split("x"))
        _write_fleet(fleet(processes, agents, args.fleet_seconds, args.probes, args.fleet_rate))
        return

    compile_toolwise()
    growth: list[dict[str, Any]] = []
    for mode in modes:
        for size in sizes:
            home = _cached(Path(args.cache) / mode, size)
            meta_path = home / "meta.json"
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            data = home / ("chroma" if mode == "embedded" else "server-data")
            server = Server(data) if mode == "server" else None
            try:
                where = str(home) if server is None else server.url
                print(f"{mode}: growing to {size:,} records", flush=True)
                grow(mode, where, meta, size, lambda m, p=meta_path: p.write_text(json.dumps(m)))
                if args.only == "generate":
                    continue
                if args.only == "writes":
                    if server is not None:
                        server.stop()
                        server = None
                    found = writes(
                        mode, home, size, args.write_records, 1 if mode == "embedded" else 4
                    )
                    growth.append(found)
                    continue
                disk = _du(data)
                print(f"{mode}: measuring at {size:,}", flush=True)
                if args.only == "cold-start":
                    found = cold_start(mode, where, args.repeat)
                    growth.append({"mode": mode, "records": size, **found})
                    continue
                # Untimed first: leaves a snapshot of the view, so the timed process starts
                # as any restart does (a start from every record is --only cold-start's).
                _child({"mode": mode, "where": where, "tools": TOOLS, "role": "start"})
                row = measure(mode, where, server.url if server else None, args.probes)
                last = meta["writes"][-1]
                growth.append(
                    {
                        "mode": mode,
                        "records": size,
                        "write_records_per_s": last["records_per_s"],
                        "write_batch": BATCH,
                        "disk_bytes_per_record": disk / size,
                        **row,
                    }
                )
            finally:
                if server is not None:
                    server.stop()

    if args.only == "generate":
        return
    if args.only == "writes":
        _write_writes(growth)
        return
    if args.only == "cold-start":
        _write_cold_start(growth)
        return
    fleet_result = None
    if args.fleet != "0" and "server" in modes:
        processes, agents = (int(x) for x in args.fleet.split("x"))
        print(
            f"fleet: {processes} processes x {agents} agents for {args.fleet_seconds:.0f} s",
            flush=True,
        )
        fleet_result = fleet(processes, agents, args.fleet_seconds, args.probes, args.fleet_rate)

    print()
    print(
        table(
            [
                "mode",
                "records",
                "write rec/s",
                "disk B/rec",
                "cold start s",
                "RSS MB (after briefs)",
                "view MB",
                "recommend p50/p99 ms",
                "brief p50/p99 ms",
                "staleness p50/p99 s",
            ],
            [
                [
                    r["mode"],
                    f"{r['records']:,}",
                    f"{r['write_records_per_s']:,.0f}",
                    f"{r['disk_bytes_per_record']:,.0f}",
                    f"{r['cold_start_s']:.2f}",
                    f"{r['rss_mb']:,.0f} ({r['rss_after_mb']:,.0f})",
                    f"{r['view_mb']:.1f}",
                    f"{r['recommend_ms']['p50']:.2f} / {r['recommend_ms']['p99']:.2f}",
                    f"{r['brief_ms']['p50']:.1f} / {r['brief_ms']['p99']:.1f}",
                    (
                        f"{r['staleness_s']['p50']:.2f} / {r['staleness_s']['p99']:.2f}"
                        if "staleness_s" in r
                        else "–"
                    ),
                ]
                for r in growth
            ],
        )
    )
    if fleet_result:
        _print_fleet(fleet_result)
    png = RESULTS / "scale.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    plotted = plot(growth, png) if growth else False
    path = write_json(
        "scale",
        {
            "args": {
                "sizes": sizes,
                "modes": modes,
                "probes": args.probes,
                "fleet": args.fleet,
                "fleet_seconds": args.fleet_seconds,
                "fleet_rate": args.fleet_rate,
            },
            "shape": {
                "tools": len(TOOLS),
                "task_types": len(TASKS),
                "failure_share": 0.2,
                "agents": 1,
            },
            "growth": growth,
            "fleet": fleet_result,
            # measured apart (--only cold-start): kept from the previous results
            "cold_start": _previous("cold_start") or [],
            "cold_start_load_average": _previous("cold_start_load_average"),
            "view_memory": _previous("view_memory"),
            "load_average": os.getloadavg(),
            "png": str(png.relative_to(RESULTS.parent.parent)) if plotted else None,
        },
    )
    print(f"\nwrote {path}" + (f" and {png}" if plotted else ""))


if __name__ == "__main__":
    main()
