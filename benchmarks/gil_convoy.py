"""How long an event loop waits for the GIL while another thread runs Python.

    python benchmarks/gil_convoy.py [--round-trips 2000]

An event loop releases the GIL whenever it waits for its sockets and needs it back for every
callback. While a background thread runs Python (``toolwise serve``'s writer building a
batch, the view learning a second's records), each time the loop asks for the GIL it waits
up to the interpreter's switch interval (``sys.setswitchinterval``; 5 ms by default), and a
request needs it several times: the convoy effect. This measures a socket round trip through
the loop (uvloop when installed, as uvicorn uses) with one busy thread, at the default switch
interval and at the 1 ms ``toolwise serve`` sets, each in a fresh interpreter. It does not
depend on the machine's other load nearly as much as the HTTP benchmark does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _common import table, write_json

_ONE = """
import asyncio, json, os, socket, sys, threading, time
sys.setswitchinterval(float(sys.argv[1]))
trips = int(sys.argv[2])

stop = False

def busy():
    x = 0
    while not stop:
        for i in range(1000):
            x += i * i

threading.Thread(target=busy, daemon=True).start()

async def main():
    a, b = socket.socketpair()
    r1, w1 = await asyncio.open_connection(sock=a)
    r2, w2 = await asyncio.open_connection(sock=b)

    async def echo():
        while True:
            data = await r2.read(100)
            w2.write(data)

    asyncio.create_task(echo())
    times = []
    for _ in range(trips):
        started = time.perf_counter()
        w1.write(b"x")
        await r1.read(100)
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.001)
    times.sort()
    result = {"p50_ms": times[len(times) // 2], "p99_ms": times[len(times) * 99 // 100],
              "max_ms": times[-1], "loop": type(asyncio.get_running_loop()).__module__}
    print(json.dumps(result), flush=True)
    os._exit(0)  # not a loop shutdown under a busy thread: it can take minutes

try:
    import uvloop
    uvloop.run(main())
except ImportError:
    asyncio.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round-trips", type=int, default=2_000)
    args = parser.parse_args()
    rows, results = [], []
    for interval in (0.005, 0.001):
        out = subprocess.run(
            [sys.executable, "-c", _ONE, str(interval), str(args.round_trips)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        result = {"switch_interval_ms": interval * 1000, **json.loads(out.stdout)}
        results.append(result)
        rows.append(
            [result["switch_interval_ms"], result["p50_ms"], result["p99_ms"], result["max_ms"]]
        )
    print(f"socket round trip through the event loop ({results[0]['loop']}), one busy thread")
    print(table(["switch interval ms", "p50 ms", "p99 ms", "max ms"], rows))
    print(f"\nwrote {write_json('gil_convoy', {'results': results})}")


if __name__ == "__main__":
    main()
