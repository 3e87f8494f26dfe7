"""What a model turn pays while the Chroma server is healthy, dead or frozen.

    python benchmarks/store_outage.py [--records 5000] [--turns 300]

Starts a real ``chroma run`` server, writes ``--records`` outcomes to it (the generator of
``preselect.py``: 10 tools x 50 task types, a third failures), builds the learnt view, then
times ``Advisor.advise`` — the whole brief of a model turn, recall of similar failures included
(``recall_ttl=0``: every turn asks the store) — in four states:

* **healthy**: the server answers;
* **dead**: the server was SIGKILLed (connections refused);
* **frozen**: the server was SIGSTOPped (connections accepted, never answered).

Each state's turns alternate with turns of an advisor with ``top_k=0`` (the in-memory part
alone, no store call), so "extra" — the difference — is what the store costs a turn under the
same machine load. For dead and frozen, the first turn after the outage began (the one that
finds it: it waits at most ``StoreTimeouts.recall``, 0.5 s by default) is reported on its own;
the rows time the turns after it, while the store is known to be unhealthy and recall is
skipped. Default timeouts throughout. Prints a table and writes
``benchmarks/results/store_outage.json`` (with the machine's load average, start and end).
Target: an unhealthy store adds <= 5 ms to a turn (p50 and p99 over ``top_k=0``).

Before the breaker, a frozen server made every turn wait forever (an httpx read with no
timeout) and a dead one cost 5.6-10 s per ``agent.invoke`` through the middleware.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_json
from preselect import TOOLS, _request, populate

import toolwise
from toolwise.advice import Advisor


def _start_server(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    executable = Path(sys.executable).parent / "chroma"
    chroma = str(executable) if executable.exists() else shutil.which("chroma")
    if chroma is None:
        sys.exit("the `chroma` CLI is not installed")
    port = 8765
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    sys.exit("chroma run did not start")


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {"p50_ms": ordered[len(ordered) // 2], "p99_ms": p99, "max_ms": ordered[-1]}


def _time_turns(advisor: Advisor, turns: int, start: int) -> list[float]:
    samples = []
    for n in range(start, start + turns):
        messages = _request(n)[1]
        began = time.perf_counter()
        advisor.advise(messages)
        samples.append((time.perf_counter() - began) * 1_000)
    return samples


def _interleaved(advisor: Advisor, floor: Advisor, turns: int) -> dict[str, Any]:
    """Turns with recall and without, alternating, so both see the same machine load."""
    with_recall: list[float] = []
    without: list[float] = []
    for n in range(turns):
        with_recall += _time_turns(advisor, 1, n)
        without += _time_turns(floor, 1, n)
    row, base = _percentiles(with_recall), _percentiles(without)
    return {
        **row,
        "floor_p50_ms": base["p50_ms"],
        "floor_p99_ms": base["p99_ms"],
        "extra_p50_ms": row["p50_ms"] - base["p50_ms"],
        "extra_p99_ms": row["p99_ms"] - base["p99_ms"],
    }


def _first_turn(advisor: Advisor, n: int) -> tuple[float, str]:
    began = time.perf_counter()
    brief = advisor.advise(_request(n)[1])
    return (time.perf_counter() - began) * 1_000, brief.text.splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="toolwise-outage-"))
    process, url = _start_server(work / "chroma")
    results: dict[str, Any] = {}
    first: dict[str, Any] = {}
    tw = toolwise.Toolwise(url=url, spool_dir=work / "spool")
    try:
        populate(tw, args.records)
        options: dict[str, Any] = {"tools": TOOLS, "recall_ttl": 0, "top_k": 3}
        floor = tw.advisor(**{**options, "top_k": 0})
        advisor = tw.advisor(**options)
        tw.recommend("warm", TOOLS)  # the view is built before timing
        _time_turns(advisor, 20, 10_000)  # warm caches
        _time_turns(floor, 20, 10_000)
        results["healthy"] = _interleaved(advisor, floor, args.turns)

        process.send_signal(signal.SIGKILL)
        process.wait()
        first["dead"] = _first_turn(advisor, 20_000)
        results["dead"] = _interleaved(advisor, floor, args.turns)

        process, url = _start_server(work / "chroma")
        deadline = time.monotonic() + 60
        while not tw.store.health.healthy and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        _time_turns(advisor, 20, 10_000)
        process.send_signal(signal.SIGSTOP)
        first["frozen"] = _first_turn(advisor, 30_000)
        # The late query opens the breaker once its heartbeat goes unanswered too (connect).
        deadline = time.monotonic() + 60
        while tw.store.health.healthy and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        results["frozen"] = _interleaved(advisor, floor, args.turns)
        process.send_signal(signal.SIGCONT)
    finally:
        process.send_signal(signal.SIGCONT)
        tw.close(timeout=10)
        process.terminate()
        process.wait()
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        [
            name,
            round(row["p50_ms"], 2),
            round(row["p99_ms"], 2),
            round(row["floor_p50_ms"], 2),
            round(row["floor_p99_ms"], 2),
            round(row["extra_p50_ms"], 2),
            round(row["extra_p99_ms"], 2),
        ]
        for name, row in results.items()
    ]
    header = ["store", "p50 ms", "p99 ms", "top_k=0 p50", "top_k=0 p99", "extra p50", "extra p99"]
    print(table(header, rows))
    for name, (ms, last_line) in first.items():
        print(f"first turn once {name}: {ms:.1f} ms — {last_line}")
    timeouts = tw.store.timeouts  # type: ignore[attr-defined]
    path = write_json(
        "store_outage",
        {
            "args": vars(args),
            "load_average": {"start": load_before, "end": os.getloadavg()},
            "timeouts": timeouts.model_dump(),
            "turns_ms": results,
            "first_turn_ms": {name: round(ms, 1) for name, (ms, _) in first.items()},
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
