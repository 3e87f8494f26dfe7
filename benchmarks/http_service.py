"""Throughput and latency of ``toolwise serve`` under 32 concurrent clients.

    python benchmarks/http_service.py [--seconds 8] [--clients 32] [--modes embedded,server]
                                      [--phases closed,open,sweep] [--sweep 200,500,1000]
                                      [--sweep-briefs 20,50] [--probe] [--repeat 3]
                                      [--serve-arg=--batch-size=100 ...] [--out NAME]

Starts a real ``toolwise serve`` process (with an API key, as deployed) on a store directory
(``embedded``: ``serve --path``, which runs the directory's Chroma in a child process;
``in-process``: ``--path --in-process-store``, Chroma inside the server), then on a ``chroma
run`` server (``server``: ``serve --url``), seeds 2,000 calls of history (4 tools x 5 task
types), and
drives it from this process with ``--clients`` keep-alive HTTP/1.1 connections (a minimal
asyncio client, so the load generator costs little CPU next to the server):

- closed loop (each client sends its next request when the last is answered): the most the
  server does — ``POST calls`` with one call per request, with batches of 20, and ``POST
  brief`` (task text, task type given, 4 candidate tools, recall of similar failures on);
- open loop at a fixed rate: 1,000 calls per second in total, sent one per request and in
  requests of 10, and 50 briefs per second: the latency a client sees at that load, measured
  from when each request was due, so a stalled server cannot hide its queue (no coordinated
  omission);
- sweep: the open loop of single calls at each ``--sweep`` rate and of briefs at each
  ``--sweep-briefs`` rate — rates the server keeps up with, so the p99 speaks to the server's
  stalls and not to a queue that grows because the offered load exceeds what it can do.

``--probe`` runs the server under ``benchmarks/_probe.py`` and adds to each phase what could
stall its event loop: the server-side request p99, the loop's lags split into its own work,
its wait for a core and time blocked (the GIL), and the writer's batches, the view's tail and
drain, fsync and gc that overlapped slow requests (the probe costs the server ~2 % of a core).

Latencies are per request, in milliseconds. "before recall" counts the briefs answered
before the store's recall because it missed the server's ``--recall-budget`` (its answer is
kept for the next brief of the same question): the price of the brief's latency bound. "stood
in" counts those of them that showed the store's answer to another request of the same task
instead (re-ranked for theirs); the rest showed only the server's unstored failures. In the
open loop the JSON also keeps ``sent_late_p99_ms``: how late this process sent its requests (a
stall of the load generator itself, which the latency includes, as a client's would).
After each phase the script waits until the server
has stored everything it accepted, and reports the server's CPU (``toolwise serve`` and its
``chroma run``, a child or a server) per recorded item over the phase and that drain: a
figure that depends on how busy the machine is much less than the latencies do. It is also
given apart — ``serve``, ``store`` and this process, the load generator, over the phase — as
the three share the machine's cores. With ``--repeat N``
every mode runs N times on a fresh server and the table shows each figure's median over the
runs (the JSON keeps every run). Prints tables and writes ``benchmarks/results/http.json``.
Targets (issue 13): >= 1,000 recorded calls/s, ``POST calls`` p99 <= 20 ms, ``POST brief``
p99 <= 30 ms. The load generator runs in this process, on the same machine as the server
(which is a process of its own); the machine may be shared: the JSON records the load average
before each run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from _common import table, write_json

TOOLS = ["kubectl_deploy", "helm_upgrade", "ansible_run", "terraform_apply"]
TASK_TYPES = ["production_deploy", "rollback", "scale_out", "db_migration", "cert_rotation"]
RELIABILITY = {
    "kubectl_deploy": 0.9,
    "helm_upgrade": 0.7,
    "ansible_run": 0.3,
    "terraform_apply": 0.8,
}
BATCH = 20
NEARBY = b"recalled for a similar request"  # the budget passed, and another question's
# answer of the same task stood in (toolwise.advice.advisor.RECALL_NEARBY)
PENDING = b"its answer is still loading"  # in a brief the recall_budget answered without
# the store's recall (toolwise.advice.advisor.RECALL_PENDING); its query's answer is kept
SMALL_BATCH = 10  # the open loop's batched requests: 1,000 calls/s as 100 requests/s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, timeout: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


class Process:
    """A child process, stopped with SIGTERM (its log kept beside the data)."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log.open("ab")
        self.popen = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()


# -- a minimal HTTP/1.1 keep-alive client --------------------------------------------------


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``request`` returns the status and the body.

    A server may close a keep-alive connection between requests: uvicorn does after 5 s
    idle (its ``timeout_keep_alive``; this process, starved of the cores by other work, was
    measured sending 3 s late at p99), and after a response that says ``Connection: close``.
    Like an HTTP client library, :meth:`ask` then opens a new one before the next request.
    Writing to the closed one instead raised ``RuntimeError`` on uvloop (the run ended), or
    met the server's reset (``ConnectionResetError``) when the close crossed the request.

    A protocol that parses each answer as its bytes arrive, not asyncio streams: a stream
    reader costs a coroutine step per header line, and the load generator shares the two
    cores with the server it measures (~0.07 ms of CPU per request with streams, measured
    with ``/proc/self/stat``). What is timed is unchanged: from when a request was due (or
    sent) to when its whole answer has arrived.
    """

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.prefix = f"Host: {host}\r\nAuthorization: Bearer {token}\r\n"
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = True  # not open yet, or closed by either side
        self.closing = False  # the last answer said ``Connection: close``

    async def open(self) -> None:
        self.buffer.clear()
        self.closing = False
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, self.host, self.port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP transport (uvloop's too)
        self.closed = False

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                self.closing = True
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        waiter.set_result((int(head[0].split()[1]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("the server closed the connection"))

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        head = (
            f"{method} {path} HTTP/1.1\r\n{self.prefix}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(head.encode() + body)
        return await self.waiter

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True

    async def ask(self, run: Run, request: Request, started: float) -> None:
        """Send ``request`` and count its answer in ``run``, timed from ``started``. A
        connection the server closed since the last answer is opened again first (counted
        in ``reopened``, not an error: a client library does the same, and pays the same
        connect in its latency); one the server reset or closed mid-request is counted
        (``dropped``, an error) and opened again, so one reset does not end the whole run."""
        method, path, body, items = request
        if self.closed or self.closing:
            run.reopened += 1
            await self.close()
            await self.open()
        try:
            status, answer = await self.request(method, path, body)
        except OSError:  # ConnectionResetError, or closed by the server mid-request
            run.dropped += 1
            run.errors += 1
            await self.close()
            await self.open()
            return
        run.count(status, items, time.perf_counter() - started, answer)


@dataclass(frozen=True)
class Cpu:
    """CPU seconds of one phase: ``toolwise serve`` and its store (the chroma child or the
    ``chroma run`` server) over the phase and its drain; this process over the phase."""

    serve: float
    store: float
    load_generator: float


@dataclass
class Run:
    """What one phase measured."""

    requests: int = 0
    items: int = 0
    errors: int = 0
    dropped: int = 0  # requests whose connection was reset or closed (counted in errors)
    reopened: int = 0  # connections the server closed between requests, opened again
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    before_recall: int = 0  # briefs answered before the store's recall (its recall_budget)
    stood_in: int = 0  # ... of which another question's answer of the same task stood in
    # Open loop: how late this process sent each request (its own stalls, part of latency).
    sent_late_ms: list[float] = field(default_factory=list)

    def count(self, status: int, items: int, latency_s: float, body: bytes = b"") -> None:
        self.latencies_ms.append(latency_s * 1000)
        self.requests += 1
        if PENDING in body:
            self.before_recall += 1
        elif NEARBY in body:
            self.before_recall += 1
            self.stood_in += 1
        if status < 300:
            self.items += items
        else:
            self.errors += 1

    def row(self, cpu: Cpu, drain_seconds: float) -> dict[str, Any]:
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.array([np.nan])
        per_item = 1000 / max(self.items, 1)
        return {
            "requests": self.requests,
            "server_cpu_ms_per_item": round((cpu.serve + cpu.store) * per_item, 3),
            "serve_cpu_ms_per_item": round(cpu.serve * per_item, 3),
            "store_cpu_ms_per_item": round(cpu.store * per_item, 3),
            "load_generator_cpu_ms_per_item": round(cpu.load_generator * per_item, 3),
            "drain_s": round(drain_seconds, 2),
            "errors": self.errors,
            "connections_dropped": self.dropped,
            "connections_reopened": self.reopened,
            "briefs_answered_before_recall": self.before_recall,
            "briefs_with_a_neighbours_recall": self.stood_in,
            "requests_per_s": round(self.requests / self.seconds, 1),
            "items_per_s": round(self.items / self.seconds, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2),
            "sent_late_p99_ms": round(float(np.percentile(self.sent_late_ms, 99)), 2)
            if self.sent_late_ms
            else None,
            "max_ms": round(float(np.max(lat)), 2),
        }


Request = tuple[str, str, bytes, int]  # method, path, body, items it carries


@dataclass(frozen=True)
class Target:
    """Where the load goes and how much of it."""

    host: str
    port: int
    token: str
    clients: int
    seconds: float

    async def connect(self) -> list[Connection]:
        connections = [Connection(self.host, self.port, self.token) for _ in range(self.clients)]
        await asyncio.gather(*(c.open() for c in connections))
        return connections


async def closed_loop(target: Target, make: Callable[[], Request]) -> Run:
    """Each client sends its next request as soon as the previous one is answered."""
    run = Run()
    connections = await target.connect()
    end = time.perf_counter() + target.seconds

    async def client(connection: Connection) -> None:
        while time.perf_counter() < end:
            request = make()
            await connection.ask(run, request, time.perf_counter())

    began = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    run.seconds = time.perf_counter() - began
    await asyncio.gather(*(c.close() for c in connections))
    return run


async def open_loop(target: Target, rate: float, make: Callable[[], Request]) -> Run:
    """``rate`` requests per second in total, each due at a fixed time; latency counts from
    when the request was due (a late server cannot hide its queue)."""
    run = Run()
    connections = await target.connect()
    interval = target.clients / rate
    began = time.perf_counter()

    async def client(index: int, connection: Connection) -> None:
        due = began + index * interval / target.clients
        while due < began + target.seconds:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            request = make()
            run.sent_late_ms.append((time.perf_counter() - due) * 1000)
            await connection.ask(run, request, due)
            due += interval

    await asyncio.gather(*(client(i, c) for i, c in enumerate(connections)))
    run.seconds = time.perf_counter() - began
    await asyncio.gather(*(c.close() for c in connections))
    return run


# -- what the clients send -----------------------------------------------------------------


def _call(rng: random.Random) -> dict[str, Any]:
    tool = rng.choice(TOOLS)
    ok = rng.random() < RELIABILITY[tool]
    call: dict[str, Any] = {
        "tool": tool,
        "task_type": rng.choice(TASK_TYPES),
        "success": ok,
        "latency_ms": round(rng.lognormvariate(6.0, 0.6), 1),
        "tool_input": {"service": f"svc-{rng.randrange(12)}", "replicas": rng.randrange(1, 5)},
    }
    if not ok:
        call["error_type"] = "TimeoutError"
        call["error_message"] = f"{tool} timed out after {rng.randrange(5, 60)} s"
    return call


def _makers(agent: str, seed: int) -> dict[str, Callable[[], Request]]:
    rng = random.Random(seed)
    path = f"/v1/agents/{agent}"

    def one() -> Request:
        return "POST", f"{path}/calls", json.dumps(_call(rng)).encode(), 1

    def batch(size: int = BATCH) -> Request:
        return (
            "POST",
            f"{path}/calls",
            json.dumps([_call(rng) for _ in range(size)]).encode(),
            size,
        )

    def brief() -> Request:
        task_type = rng.choice(TASK_TYPES)
        body = {
            "task": f"{task_type.replace('_', ' ')} of svc-{rng.randrange(12)}",
            "task_type": task_type,
            "tools": TOOLS,
        }
        return "POST", f"{path}/brief", json.dumps(body).encode(), 1

    return {"one": one, "batch": batch, "small": lambda: batch(SMALL_BATCH), "brief": brief}


def _seed_history(url: str, token: str, agent: str) -> None:
    import httpx

    rng = random.Random(1)
    start = datetime.now(UTC) - timedelta(days=3)
    headers = {"Authorization": f"Bearer {token}"}
    for chunk in range(10):
        calls = []
        for i in range(200):
            call = _call(rng)
            call["timestamp"] = (start + timedelta(minutes=chunk * 200 + i)).isoformat()
            calls.append(call)
        response = httpx.post(
            f"{url}/v1/agents/{agent}/calls", json=calls, headers=headers, timeout=120
        )
        response.raise_for_status()
    httpx.get(f"{url}/v1/agents/{agent}/summary", headers=headers, timeout=300).raise_for_status()


# -- one mode ------------------------------------------------------------------------------


def _serve(
    home: Path, store_args: list[str], extra: list[str], timeline: Path | None
) -> tuple[Process, str, int, str]:
    from toolwise.service.keys import KeyRing

    keys = home / "keys.json"
    _, token = KeyRing(keys).create(admin=True, label="benchmark")
    port = _free_port()
    if timeline is None:
        args = [sys.executable, "-m", "toolwise.cli"]
    else:  # the same server, with a timeline of what could stall it (benchmarks/_probe.py)
        args = [sys.executable, str(Path(__file__).parent / "_probe.py"), str(timeline)]
    args += ["serve", *store_args, "--keys", str(keys)]
    args += ["--port", str(port), "--log-level", "warning", *extra]
    process = Process(args, home / "serve.log")
    _wait_http(f"http://127.0.0.1:{port}/healthz")
    return process, "127.0.0.1", port, token


def _store_child(log: Path) -> list[int]:
    """The pid of the chroma child ``serve --path`` started, if it did (from its log)."""
    found = re.search(r"store in chroma child pid (\d+)", log.read_text(errors="replace"))
    return [int(found[1])] if found else []


def _breaker_openings(log: Path) -> int:
    """How often the server's store breaker opened in this run (it logs each opening once)."""
    return log.read_text(errors="replace").count("the outcome store is unavailable (")


def _slow_store_calls(url: str) -> int | None:
    """The server's store calls that missed their deadline on a store that still answered a
    heartbeat (``/readyz``'s ``slow_calls``; ``None`` from a server that does not count them)."""
    import httpx

    try:
        slow = httpx.get(f"{url}/readyz", timeout=30).json().get("slow_calls")
    except (httpx.HTTPError, ValueError):  # not counted is not a reason to lose the run
        return None
    return slow if isinstance(slow, int) else None


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (all their threads) so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _own_cpu_seconds() -> float:
    """User + system CPU of this process (the load generator) so far."""
    times = os.times()
    return times.user + times.system


def _drain(url: str, token: str, timeout: float = 300.0) -> float:
    """Wait until the server's spool is empty (everything accepted is in the store)."""
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        ready = httpx.get(f"{url}/readyz", headers={"Authorization": f"Bearer {token}"}, timeout=60)
        if ready.json().get("pending", 0) == 0:
            break
        time.sleep(0.2)
    return time.monotonic() - started


def _phases(
    target: Target, make: dict[str, Callable[[], Request]], chosen: list[str], sweep: Sweep
) -> list[tuple[str, Callable[[], Any]]]:
    """The phases to run, in order: ``closed``, ``open`` (the issue's rates) and ``sweep``."""
    phases: list[tuple[str, Callable[[], Any]]] = []
    if "closed" in chosen:
        phases += [
            ("closed: POST calls (1 per request)", lambda: closed_loop(target, make["one"])),
            (
                f"closed: POST calls ({BATCH} per request)",
                lambda: closed_loop(target, make["batch"]),
            ),
            ("closed: POST brief", lambda: closed_loop(target, make["brief"])),
        ]
    if "open" in chosen:
        phases += [
            (
                "open 1,000 calls/s: POST calls (1 per request)",
                lambda: open_loop(target, 1_000, make["one"]),
            ),
            (
                f"open 1,000 calls/s: POST calls ({SMALL_BATCH} per request)",
                lambda: open_loop(target, 1_000 / SMALL_BATCH, make["small"]),
            ),
            ("open 50 briefs/s: POST brief", lambda: open_loop(target, 50, make["brief"])),
        ]
    if "sweep" in chosen:
        for rate in sweep.calls:
            phases.append(
                (
                    f"sweep {rate:,} calls/s: POST calls (1 per request)",
                    functools.partial(open_loop, target, rate, make["one"]),
                )
            )
        for rate in sweep.briefs:
            phases.append(
                (
                    f"sweep {rate:,} briefs/s: POST brief",
                    functools.partial(open_loop, target, rate, make["brief"]),
                )
            )
    return phases


@dataclass(frozen=True)
class Sweep:
    """Open-loop rates below saturation, so the p99 speaks to the server, not to a queue."""

    calls: tuple[int, ...] = (200, 500, 1_000)
    briefs: tuple[int, ...] = (20, 50)


@dataclass(frozen=True)
class Options:
    """How one mode is measured."""

    clients: int
    seconds: float
    extra: list[str]
    phases: list[str]
    sweep: Sweep
    probe: bool


def measure(mode: str, home: Path, options: Options) -> dict[str, Any]:
    chroma: Process | None = None
    if mode == "server":
        chroma_port = _free_port()
        executable = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        chroma = Process(
            [
                *(executable, "run", "--path", str(home / "chroma")),
                *("--host", "127.0.0.1", "--port", str(chroma_port)),
            ],
            home / "chroma.log",
        )
        _wait_http(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat")
        os.environ["TOOLWISE_PATH"] = str(home / "local")  # the server's local spool
        store_args = ["--url", f"http://127.0.0.1:{chroma_port}"]
    elif mode == "in-process":  # the embedded store opened by the server process itself
        store_args = ["--path", str(home / "store"), "--in-process-store"]
    else:  # embedded: serve runs the directory's Chroma in a child process
        store_args = ["--path", str(home / "store")]
    load_before = os.getloadavg()[0]
    timeline = home / "timeline.json" if options.probe else None
    process, host, port, token = _serve(home, store_args, options.extra, timeline)
    results: dict[str, Any] = {"load_average_before": round(load_before, 2)}
    windows: dict[str, tuple[float, float]] = {}
    try:
        _seed_history(f"http://{host}:{port}", token, "bench")
        make = _makers("bench", seed=2)
        target = Target(host, port, token, options.clients, options.seconds)
        serve = [process.popen.pid]
        store = [chroma.popen.pid] if chroma is not None else []
        store += _store_child(home / "serve.log")
        for name, phase in _phases(target, make, options.phases, options.sweep):
            before = _cpu_seconds(serve), _cpu_seconds(store), _own_cpu_seconds()
            began = time.monotonic()
            run = _run(phase())
            load_generator = _own_cpu_seconds() - before[2]
            windows[name] = (began, time.monotonic())
            drained = _drain(f"http://{host}:{port}", token)  # storing is part of the cost
            cpu = Cpu(
                _cpu_seconds(serve) - before[0], _cpu_seconds(store) - before[1], load_generator
            )
            results[name] = run.row(cpu, drained)
            print(f"  {mode}: {name}: {results[name]}", flush=True)
        results["slow_store_calls"] = _slow_store_calls(f"http://{host}:{port}")
    finally:
        process.stop()
        if chroma is not None:
            chroma.stop()
    results["breaker_opened"] = _breaker_openings(home / "serve.log")
    print(
        f"  {mode}: the store's breaker opened {results['breaker_opened']} times; "
        f"slow store calls (busy, not down): {results.get('slow_store_calls')}",
        flush=True,
    )
    if timeline is not None:
        _read_timeline(timeline, windows, results)
    return results


def _read_timeline(
    path: Path, windows: dict[str, tuple[float, float]], results: dict[str, Any]
) -> None:
    """Add what the server's timeline (``_probe.py``) says about each phase to its row."""
    from _probe import summarise

    if not path.exists():
        print(f"  no timeline at {path}: the server did not shut down cleanly", flush=True)
        return
    events = json.loads(path.read_text())
    kept = Path(__file__).parent / ".cache" / f"timeline-{path.parent.name}.json"
    kept.parent.mkdir(exist_ok=True)
    shutil.copy(path, kept)
    print(f"  timeline kept in {kept}", flush=True)
    for name, (start, end) in windows.items():
        results[name]["probe"] = summarise(events, start, end, slow_ms=20.0)
        print(f"  probe: {name}: {json.dumps(results[name]['probe'])}", flush=True)


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each phase's figures as their median over the runs."""
    phases = [name for name, row in runs[0].items() if isinstance(row, dict)]
    return {
        name: {
            key: round(statistics.median(run[name][key] for run in runs), 2)
            for key, value in runs[0][name].items()
            if isinstance(value, int | float)  # not the probe's summary
        }
        for name in phases
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--modes", default="embedded,server", help="of embedded, in-process and server"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode; medians shown")
    parser.add_argument(
        "--serve-arg", action="append", default=[], help="passed on to toolwise serve"
    )
    parser.add_argument(
        "--phases",
        default="closed,open,sweep",
        help="which of closed, open (the issue's rates) and sweep to run",
    )
    parser.add_argument(
        "--sweep", default="200,500,1000", help="open-loop POST calls rates (calls/s) of sweep"
    )
    parser.add_argument(
        "--sweep-briefs", default="20,50", help="open-loop POST brief rates (briefs/s) of sweep"
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="run the server under benchmarks/_probe.py and report, per phase, what could "
        "stall its event loop (writer batches, the tail, gc, fsync) and the server-side p99",
    )
    parser.add_argument("--out", default="http", help="results file: benchmarks/results/OUT.json")
    args = parser.parse_args()
    modes = args.modes.split(",")
    options = Options(
        clients=args.clients,
        seconds=args.seconds,
        extra=args.serve_arg,
        phases=args.phases.split(","),
        sweep=Sweep(
            calls=tuple(int(r) for r in args.sweep.split(",") if r),
            briefs=tuple(int(r) for r in args.sweep_briefs.split(",") if r),
        ),
        probe=args.probe,
    )
    report: dict[str, Any] = {
        "clients": args.clients,
        "seconds_per_phase": args.seconds,
        "repeat": args.repeat,
        "serve_args": args.serve_arg,
        "phases": options.phases,
        "sweep": {"calls": list(options.sweep.calls), "briefs": list(options.sweep.briefs)},
        "client_loop": _loop_name(),
    }
    for mode in modes:
        runs = []
        for _ in range(args.repeat):
            home = Path(tempfile.mkdtemp(prefix=f"toolwise-http-{mode}-"))
            try:
                runs.append(measure(mode, home, options))
            finally:
                shutil.rmtree(home, ignore_errors=True)
        report[mode] = {
            "median": _medians(runs),
            "load_average_before": [run["load_average_before"] for run in runs],
            "breaker_opened": [run["breaker_opened"] for run in runs],
            "slow_store_calls": [run.get("slow_store_calls") for run in runs],
            "runs": runs,
        }
    header = ["mode", "phase", "requests/s", "items/s", "p50 ms", "p99 ms", "CPU ms/item"]
    header += ["serve", "store", "load gen", "errors", "before recall", "stood in"]
    rows = [
        [
            *(mode, name, r["requests_per_s"], r["items_per_s"], r["p50_ms"], r["p99_ms"]),
            *(r["server_cpu_ms_per_item"], r["serve_cpu_ms_per_item"]),
            *(r["store_cpu_ms_per_item"], r["load_generator_cpu_ms_per_item"], r["errors"]),
            r["briefs_answered_before_recall"],
            r.get("briefs_with_a_neighbours_recall", 0),
        ]
        for mode in modes
        for name, r in report[mode]["median"].items()
    ]
    print()
    if args.repeat > 1:
        print(f"medians of {args.repeat} runs per mode")
    print(table(header, rows))
    path = write_json(args.out, report)
    print(f"\nwrote {path}")


def _loop_name() -> str:
    return "uvloop" if _uvloop() is not None else "asyncio"


def _uvloop() -> Any:
    """uvloop when installed (the server extra): the load generator then costs less CPU."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def _run(coroutine: Any) -> Any:
    uvloop = _uvloop()
    return uvloop.run(coroutine) if uvloop is not None else asyncio.run(coroutine)


if __name__ == "__main__":
    main()
