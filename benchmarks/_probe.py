"""Run ``toolwise serve`` with a timeline of what could stall its event loop.

    python benchmarks/_probe.py OUT.json serve --url http://127.0.0.1:8000 ...

``http_service.py --probe`` starts the server this way. Before the CLI builds anything, this
wraps, in the server process only, the work that competes with request handling for the GIL
or the disk, and keeps an interval per occurrence (``time.monotonic()``, the clock the load
generator uses too):

- ``request``: one HTTP request, from the server's first look at it to the end of its answer;
- ``loop_lag``: the event loop ran a 1 ms timer this much late: only lags of 2 ms and more
  are kept, each split into the loop thread's own CPU (it ran callbacks: requests), its wait
  for a free core (the kernel's run-queue time: other processes had the cores) and the rest,
  time it was blocked (waiting for the GIL another thread held, or in a blocking call);
- ``gil_gap``: the same for a ticker thread that only sleeps 1 ms (so what is not run-queue
  time is the GIL);
- ``write``: the background writer's store write of one batch (with its records);
- ``tail``: the feed's look at what other writers stored (server stores), and ``drain``: the
  view learning its queued records; ``snapshot``: a snapshot of the view written;
- ``fsync``: the writer's fsync of the spool; ``gc``: a collection (with its generation);
- ``recall``: a vector query for similar failures (``store.similar``: embedding the query and
  Chroma's answer) — a brief's own, or a background refresh of a reused answer (its thread's
  name, ``toolwise-recall-refresh``, as detail);
- ``load``: the in-process recall index's load of an agent's newest failures
  (``store.newest_failures``, ``--recall-index``), with ``agent/task type`` as detail.

Each interval also carries the CPU time its thread spent in it (``cpu``: for Python code the
time it held the GIL). At exit (the server's clean shutdown) the timeline goes to ``OUT.json``;
``http_service.py`` reads it per phase (:func:`summarise`).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LAG_STEP = 0.001
KEEP_LAG = 0.002  # lags shorter than this are the timer's own noise

Event = tuple[str, float, float, float, Any]  # kind, start, end, CPU s, detail


class Timeline:
    """Intervals appended from any thread (a list append is atomic under the GIL)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(
        self, kind: str, start: float, end: float, cpu: float = 0.0, detail: Any = None
    ) -> None:
        self.events.append((kind, start, end, cpu, detail))

    def timed(self, kind: str, detail: Callable[..., Any] | None = None) -> Callable[..., Any]:
        """A decorator recording each call of the wrapped function as one interval."""

        def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(function)
            def run(*args: Any, **kwargs: Any) -> Any:
                start, cpu = time.monotonic(), time.thread_time()
                try:
                    return function(*args, **kwargs)
                finally:
                    info = detail(*args, **kwargs) if detail is not None else None
                    self.add(kind, start, time.monotonic(), time.thread_time() - cpu, info)

            return run

        return wrap


def install(timeline: Timeline, out: Path) -> None:
    """Wrap the server's background work and start the probes (before the CLI runs)."""
    from toolwise.advice.advisor import Advisor
    from toolwise.learning.feed import LearningFeed
    from toolwise.learning.inbox import ViewInbox
    from toolwise.service import app as app_module
    from toolwise.storage.chroma import ChromaOutcomeStore
    from toolwise.storage.spool import Spool
    from toolwise.storage.store_writes import StoreWrites

    StoreWrites.write = timeline.timed("write", lambda _self, batch: len(batch))(  # type: ignore[method-assign]
        StoreWrites.write
    )
    LearningFeed.refresh = timeline.timed("tail")(LearningFeed.refresh)  # type: ignore[method-assign]
    LearningFeed.write_snapshot = timeline.timed("snapshot")(LearningFeed.write_snapshot)  # type: ignore[method-assign]
    ViewInbox._drain = timeline.timed("drain")(ViewInbox._drain)  # type: ignore[method-assign]
    Spool.sync = timeline.timed("fsync")(Spool.sync)  # type: ignore[method-assign]
    ChromaOutcomeStore.similar = timeline.timed(  # type: ignore[method-assign]
        "recall", lambda *_args, **_kw: threading.current_thread().name
    )(ChromaOutcomeStore.similar)
    ChromaOutcomeStore.similar_within = timeline.timed(  # type: ignore[method-assign]
        "recall", lambda *_args, **_kw: threading.current_thread().name
    )(ChromaOutcomeStore.similar_within)
    ChromaOutcomeStore.newest_failures = timeline.timed(  # type: ignore[method-assign]
        "load", lambda _self, agent_id, **kw: f"{agent_id}/{kw.get('task_type')}"
    )(ChromaOutcomeStore.newest_failures)
    LearningFeed.view = timeline.timed("view")(LearningFeed.view)  # type: ignore[method-assign]
    Advisor.advise = timeline.timed("advise")(Advisor.advise)  # type: ignore[method-assign]

    started: dict[int, tuple[float, float]] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[threading.get_ident()] = (time.monotonic(), time.thread_time())
            return
        begun = started.pop(threading.get_ident(), None)
        if begun is not None:
            now = time.monotonic()
            timeline.add("gc", begun[0], now, time.thread_time() - begun[1], info["generation"])

    gc.callbacks.append(on_gc)
    threading.Thread(target=_ticker, args=(timeline,), name="probe-ticker", daemon=True).start()

    build = app_module.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        return _Requests(build(*args, **kwargs), timeline, out)

    app_module.create_app = create_app  # the CLI imports it from the module when it serves


class _RunQueue:
    """This thread's time spent runnable but waiting for a core (``/proc``'s schedstat), s."""

    def __init__(self) -> None:
        self._fd = os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY)

    def waited(self) -> float:
        return int(os.pread(self._fd, 128, 0).split()[1]) / 1e9


def _lags(timeline: Timeline, kind: str, sleep: Callable[[], Any]) -> Any:
    """Time ``sleep`` (a 1 ms sleep) forever; keep each wake-up late by ``KEEP_LAG`` or more,
    split into this thread's own CPU, its wait for a core, and the rest (blocked: the GIL or
    a blocking call). A generator: the loop's probe and the ticker drive it their own way."""
    queue = _RunQueue()
    while True:
        before, cpu, waited = time.monotonic(), time.thread_time(), queue.waited()
        yield sleep()
        late = time.monotonic() - before - LAG_STEP
        if late >= KEEP_LAG:
            ran, queued = time.thread_time() - cpu, queue.waited() - waited
            timeline.add(kind, before + LAG_STEP, before + LAG_STEP + late, ran, queued)


def _ticker(timeline: Timeline) -> None:
    for _ in _lags(timeline, "gil_gap", lambda: time.sleep(LAG_STEP)):
        pass


class _Requests:
    """ASGI wrapper timing each HTTP request; starts the loop-lag probe on the first one."""

    def __init__(self, app: Any, timeline: Timeline, out: Path) -> None:
        self.app, self.timeline, self.out = app, timeline, out
        self.state = app.state  # what warm_up and the CLI read
        self._probing = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._saving(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._probing:
            self._probing = True
            asyncio.get_running_loop().create_task(_loop_lag(self.timeline))
        start = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.timeline.add("request", start, time.monotonic(), 0.0, scope["path"])

    def _saving(self, send: Any) -> Any:
        """``send`` that writes the timeline once shutdown is complete (uvicorn then re-raises
        SIGTERM, and the process ends without running any more Python)."""

        async def saving(message: Any) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                self.out.write_text(json.dumps(self.timeline.events))
            await send(message)

        return saving


async def _loop_lag(timeline: Timeline) -> None:
    for pause in _lags(timeline, "loop_lag", lambda: asyncio.sleep(LAG_STEP)):
        await pause


# -- reading a timeline --------------------------------------------------------------------

# What a slow request may overlap: the background work, and a brief's own store query.
BACKGROUND = (
    "write",
    "tail",
    "drain",
    "snapshot",
    "fsync",
    "gc",
    "recall",
    "load",
    "view",
    "advise",
)


def summarise(events: list[list[Any]], start: float, end: float, slow_ms: float) -> dict[str, Any]:
    """What happened in the server between ``start`` and ``end`` (monotonic seconds).

    Returns the server-side request times (p50/p99 ms), the loop's lags and the ticker's gaps
    (count, total and longest, ms), each background activity's count, wall and CPU time, and
    for requests slower than ``slow_ms`` inside the server: how many overlapped each activity.
    """
    inside = [e for e in events if start <= e[1] < end]
    requests = sorted((e[2] - e[1]) * 1000 for e in inside if e[0] == "request")
    out: dict[str, Any] = {"requests": len(requests)}
    if requests:
        out["server_p50_ms"] = round(requests[len(requests) // 2], 2)
        out["server_p99_ms"] = round(requests[min(len(requests) - 1, len(requests) * 99 // 100)], 2)
    for kind in ("loop_lag", "gil_gap"):
        mine = [e for e in inside if e[0] == kind]
        spans = [(e[2] - e[1]) * 1000 for e in mine]
        long = [e for e in mine if (e[2] - e[1]) * 1000 > slow_ms / 2]
        total = sum((e[2] - e[1]) for e in long)
        ran = sum(e[3] for e in long)
        queued = sum(e[4] for e in long)
        out[kind] = {
            "count": len(spans),
            "total_ms": round(sum(spans), 1),
            "max_ms": round(max(spans, default=0.0), 1),
            # the long ones (> slow_ms / 2), split: own work, no core free, blocked (GIL)
            "long": len(long),
            "long_ms": round(total * 1000, 1),
            "long_ran_ms": round(ran * 1000, 1),
            "long_queued_ms": round(queued * 1000, 1),
            "long_blocked_ms": round((total - ran - queued) * 1000, 1),
        }
    background = {}
    for kind in BACKGROUND:
        mine = [e for e in inside if e[0] == kind]
        if not mine:
            continue
        entry: dict[str, Any] = {
            "count": len(mine),
            "wall_ms": round(sum(e[2] - e[1] for e in mine) * 1000, 1),
            "max_ms": round(max(e[2] - e[1] for e in mine) * 1000, 1),
            "cpu_ms": round(sum(e[3] for e in mine) * 1000, 1),
        }
        if kind == "recall":  # off the request path: a background refresh
            entry["refreshes"] = sum(1 for e in mine if e[4] == "toolwise-recall-refresh")
        if kind == "gc":
            entry["by_generation"] = {str(g): sum(1 for e in mine if e[4] == g) for g in (0, 1, 2)}
            entry["gen2_max_ms"] = round(
                max(((e[2] - e[1]) * 1000 for e in mine if e[4] == 2), default=0.0), 1
            )
        background[kind] = entry
    out["background"] = background
    slow = [e for e in inside if e[0] == "request" and (e[2] - e[1]) * 1000 > slow_ms]
    lags = [e for e in inside if e[0] == "loop_lag"]
    out["slow_requests"] = {"count": len(slow), "overlapping": _overlaps(slow, inside)}
    out["long_lags"] = {
        "count": sum(1 for e in lags if (e[2] - e[1]) * 1000 > slow_ms / 2),
        "overlapping": _overlaps([e for e in lags if (e[2] - e[1]) * 1000 > slow_ms / 2], inside),
    }
    return out


def _overlaps(spans: list[list[Any]], events: list[list[Any]]) -> dict[str, int]:
    """For each background kind, how many of ``spans`` overlap at least one of its events."""
    counts: dict[str, int] = {}
    for kind in BACKGROUND:
        mine = [(e[1], e[2]) for e in events if e[0] == kind]
        hit = sum(1 for s in spans if any(a < s[2] and s[1] < b for a, b in mine))
        if hit:
            counts[kind] = hit
    counts["none"] = sum(
        1
        for s in spans
        if not any(e[0] in BACKGROUND and e[1] < s[2] and s[1] < e[2] for e in events)
    )
    return counts


def main() -> None:
    out = Path(sys.argv[1])
    timeline = Timeline()
    install(timeline, out)
    from toolwise.cli import main as cli

    raise SystemExit(cli(sys.argv[2:]))


if __name__ == "__main__":
    main()
