"""How fast ``recommend`` answers with 100,000 outcomes learnt, and how long learning them takes.

    python benchmarks/recommend.py [--records 100000] [--calls 2000] [--repeats 2] [--path DIR]
    python benchmarks/recommend.py --records 5000 --calls 300     # a quick run (~10 s)

The store is the one ``preselect.py`` uses — 10 tools x 50 task types, spread over 20 days,
about a third failures — written straight through ``tw.store.write`` in batches of 5,000 and
cached in the temp dir (~70-80 s to write 100,000 on 2 cores; reused for a day).

* **Cold rebuild**: in a fresh process each time (nothing cached by Chroma or the OS-level
  client), the time from ``Toolwise(path)`` to the first ``recommend`` answer — opening the
  store, reading every record (``iter_outcomes``), learning each, with no snapshot read (as
  after an upgrade) — and, separately, the store read alone. Reported as seconds and
  records/s; best of ``--repeats`` processes.
* **Latency**: ``Toolwise.recommend`` for 10 tools, cycling through the 50 task types, with
  the ``thompson`` (default) and ``greedy`` strategies; p50/p95 over ``--calls`` calls, the
  run with the lower p50 of ``--repeats`` kept. Then ``thompson`` again with one outcome
  learnt before each call (a random candidate of that task type), so what a recommend
  remembers between decisions of an idle view is not all it is measured on, in two rows:
  learnt through ``observe`` (the priors API; the prior it returns reads every tool of the
  task type, so the decision after it finds those reads remembered: the row earlier results
  have), and recorded as an agent's tool call is, a ``ToolOutcome``
  with its latency and cost given to ``observe_outcome`` (what ``record()`` and the
  callbacks hand the view; nothing is read back, so the decision reads afresh what changed).
  Target: p50 <= 1 ms, for each.

Prints a table and writes ``benchmarks/results/recommend.json``. Timings on a shared machine
are noisy: every figure is the best of its repeats, and each run's value is kept in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_json
from preselect import TOOLS, _contexts, cached_store, percentiles

import toolwise
from toolwise.learning import snapshot
from toolwise.models import ToolOutcome, utcnow

TARGET_P50_MS = 1.0
LEARNING = "thompson, one outcome learnt before each"  # through observe(): see the docstring
RECORDING = "thompson, one call recorded before each"
Learning = Literal["observe", "record"]
LEARNT_BY: dict[str, Learning] = {LEARNING: "observe", RECORDING: "record"}


def cold_child(root: Path, mode: str) -> None:
    """In a fresh process: time a cold rebuild (``mode`` "rebuild") or the read alone.

    The rebuild is the one a new release makes: the store's snapshots were made by other
    learning code, so none is read (else the figure would depend on what an earlier run of
    this script left in the cached store).
    """
    snapshot.learning_code = lambda: os.urandom(16)  # type: ignore[assignment]
    started = time.perf_counter()
    tw = toolwise.Toolwise(root)
    opened = time.perf_counter()
    if mode == "rebuild":
        answer = tw.recommend(_contexts()[0][0], TOOLS)
        assert len(answer) == len(TOOLS)
        records = tw.store.count("default")
    else:
        records = sum(1 for _ in tw.store.iter_outcomes(None, now=utcnow()))
    done = time.perf_counter()
    tw.close()
    print(json.dumps({"open_s": opened - started, "total_s": done - started, "records": records}))


def learning_child(root: Path, calls: int, learning: Learning) -> None:
    """In a fresh process: :func:`time_recommend` with learning. No snapshot is written at
    the close: it would hold outcomes the store never saw."""
    tw = toolwise.Toolwise(root)
    tw.recommend(_contexts()[0][0], TOOLS)
    samples = time_recommend(tw, calls, "thompson", learning=learning)
    tw.runtime.feed._keeper = None  # no public switch: a benchmark's view, taught in memory
    tw.close()
    print(json.dumps(percentiles(samples)), flush=True)


def time_learning(root: Path, calls: int, repeats: int, learning: Learning) -> list[dict[str, Any]]:
    """:func:`learning_child`'s percentiles, one fresh process per repeat."""
    command = [sys.executable, __file__, "--child", learning, "--path", str(root)]
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [*command, "--calls", str(calls)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return runs


def time_cold(root: Path, mode: str, repeats: int) -> dict[str, Any]:
    """Best (lowest ``total_s``) of ``repeats`` fresh processes running :func:`cold_child`."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--path", str(root)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["total_s"])
    return {
        "seconds": best["total_s"],
        "open_seconds": best["open_s"],
        "records": best["records"],
        "records_per_s": best["records"] / best["total_s"],
        "seconds_each_run": [r["total_s"] for r in runs],
    }


def time_recommend(
    tw: toolwise.Toolwise, calls: int, strategy: str, *, learning: Learning | None = None
) -> list[float]:
    """Milliseconds per ``recommend`` of the 10 tools, cycling through the task types.

    ``learning``: before each (untimed), the view learns one outcome of a random candidate
    for that task type, as an agent's call between two decisions would teach it — through
    ``observe`` (``"observe"``) or as a recorded call with a latency and a cost (``"record"``:
    the ``ToolOutcome`` ``record()`` hands the view). In memory only: run it in a process that
    writes no snapshot, so neither the store nor its snapshots keep what it learnt (see
    :func:`learning_child`).
    """
    contexts = [c for c, _ in _contexts()]
    for n in range(50):  # warm: every task type's entry once
        tw.recommend(contexts[n % len(contexts)], TOOLS, strategy=strategy)  # type: ignore[arg-type]
    view = tw.runtime.view()
    rng = random.Random(calls)
    samples = []
    for n in range(calls):
        task_type = contexts[(n * 7) % len(contexts)]
        if learning == "observe":
            view.observe(rng.choice(TOOLS), rng.random() < 0.7, context_class=task_type)
        elif learning == "record":
            ok = rng.random() < 0.7
            view.observe_outcome(
                ToolOutcome(
                    tool=rng.choice(TOOLS),
                    task_type=task_type,
                    outcome="success" if ok else "failure",
                    latency_ms=rng.lognormvariate(6.0, 0.8),  # as the store's records
                    cost=rng.uniform(0.0, 0.01),
                    error_type="" if ok else "TimeoutError",
                    error_message="" if ok else "timed out after 30 s",
                )
            )
        started = time.perf_counter()
        tw.recommend(task_type, TOOLS, strategy=strategy)  # type: ignore[arg-type]
        samples.append((time.perf_counter() - started) * 1_000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=2, help="runs per figure; best kept")
    parser.add_argument("--path", type=Path, default=None, help="store directory (cached)")
    parser.add_argument(
        "--child", choices=["rebuild", "read", "observe", "record"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child in ("observe", "record"):
        learning_child(args.path, args.calls, args.child)
        return
    if args.child:
        cold_child(args.path, args.child)
        return

    root, written, reused = cached_store(args.records, args.path)
    if reused:
        print(f"reusing the store in {root} (written in {written:.1f} s)", flush=True)
    cold = {mode: time_cold(root, mode, args.repeats) for mode in ("rebuild", "read")}
    for mode, figures in cold.items():
        print(f"  cold {mode}: {figures['seconds']:.1f} s, {figures['records_per_s']:,.0f}/s")

    tw = toolwise.Toolwise(root)
    tw.recommend(_contexts()[0][0], TOOLS)  # the view, built once (timed above)
    runs = {
        name: [percentiles(time_recommend(tw, args.calls, name)) for _ in range(args.repeats)]
        for name in ("thompson", "greedy")
    }
    tw.close()  # before the learning processes open the store
    for name, learning in LEARNT_BY.items():
        runs[name] = time_learning(root, args.calls, args.repeats, learning)
    latency: dict[str, dict[str, Any]] = {}
    for name, stats in runs.items():
        best = min(stats, key=lambda s: s["p50_ms"])
        latency[name] = {
            **best,
            "calls": args.calls,
            "p50_ms_each_run": [s["p50_ms"] for s in stats],
        }
        print(f"  recommend {name}: p50 {best['p50_ms']:.3f} ms", flush=True)

    rows: list[tuple[Any, ...]] = [
        (f"recommend, {name}", stats["calls"], stats["p50_ms"], stats["p95_ms"], stats["mean_ms"])
        for name, stats in latency.items()
    ]
    print()
    print(table(["10 tools, 50 task types", "calls", "p50 ms", "p95 ms", "mean ms"], rows))
    print()
    print(
        table(
            ["cold start, fresh process", "records", "seconds", "records/s"],
            [
                ("Toolwise(path) → first recommend", *_cold_row(cold["rebuild"])),
                ("store.iter_outcomes alone", *_cold_row(cold["read"])),
            ],
        )
    )
    path = write_json(
        "recommend",
        {
            "records": cold["rebuild"]["records"],
            "tools": len(TOOLS),
            "task_types": len(_contexts()),
            "store_reused": reused,
            "write_seconds": round(written, 1),
            "repeats": args.repeats,
            "note": "best of `repeats` runs; the machine was shared with other benchmarks",
            "latency": latency,
            "target_p50_ms": TARGET_P50_MS,
            "cold_rebuild": cold["rebuild"],
            "cold_read_only": cold["read"],
        },
    )
    print(f"\nwrote {path}")


def _cold_row(stats: dict[str, Any]) -> tuple[int, float, float]:
    return stats["records"], stats["seconds"], stats["records_per_s"]


if __name__ == "__main__":
    main()
