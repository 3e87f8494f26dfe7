"""What recording costs a tool call, and how fast records reach embedded Chroma.

    python benchmarks/overhead.py [--calls 2000] [--rounds 9]

Per-call time of a no-op ``@tool`` invoked (sync ``invoke`` and async ``ainvoke``) bare, with a
do-nothing callback handler, and with toolwise's handler under both durabilities (``deferred``,
the default: the record is built and spooled in the background when the agent pauses;
``immediate``: spooled before the call returns); rounds are interleaved and the median round
is reported. The background work is kept out of the timed rounds (it runs when the agent
pauses); the "amortised" row adds what it then costs, per record (build, spool, Chroma write).
Then sustained write throughput to embedded Chroma. Prints a table, writes
``benchmarks/results/overhead.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tools import tool

sys.path.insert(0, str(Path(__file__).parent))
from _common import median, table, write_json

import toolwise
from toolwise.models import ToolOutcome


class DoNothing(BaseCallbackHandler):
    """The cheapest possible handler: the floor any recording handler starts from."""

    run_inline = True


@tool
def noop(x: int) -> int:
    """Return x unchanged."""
    return x


@tool
def one_ms(x: int) -> int:
    """Wait one millisecond (a fast real tool: a cache lookup, a local query), return x."""
    time.sleep(0.001)
    return x


def measure_realistic(calls: int, rounds: int) -> dict[str, float]:
    """The same comparison for a tool that takes 1 ms, closer to what agents call."""
    tw = toolwise.Toolwise(Path(tempfile.mkdtemp(prefix="tw-realistic-")))
    handler = tw.callback(agent_id="bench", task_type="one_ms")
    bare: list[float] = []
    recorded: list[float] = []
    for _ in range(rounds):
        for config, into in (({}, bare), ({"callbacks": [handler]}, recorded)):
            start = time.perf_counter()
            for i in range(calls):
                one_ms.invoke({"x": i}, config=config)
            into.append((time.perf_counter() - start) / calls * 1e6)
            tw.flush()
    tw.close()
    return {"bare": median(bare), "toolwise": median(recorded)}


def measure_burst(calls: int) -> dict[str, float]:
    """The worst case for background work: one burst of calls with no pause, longer than the
    hand-off's 1 s window and the writer's 5 s limit, so spooling and (paced) Chroma writes
    happen inside it and are paid by the agent."""
    tw = toolwise.Toolwise(Path(tempfile.mkdtemp(prefix="tw-burst-")))
    config = {"callbacks": [tw.callback(agent_id="bench", task_type="burst")]}
    _sync_round(500, {})
    bare = _sync_round(calls, {})
    recorded = _sync_round(calls, config)
    tw.flush()
    tw.close()
    return {"calls": calls, "bare": bare, "toolwise": recorded}


def _settle() -> None:
    """Start every timed round from the same state: Chroma's native threads finish what the
    last flush started (they compete for the 2 cores), and the heap is collected."""
    time.sleep(0.2)
    gc.collect()


def _sync_round(calls: int, config: dict) -> float:
    start = time.perf_counter()
    for i in range(calls):
        noop.invoke({"x": i}, config=config)
    return (time.perf_counter() - start) / calls * 1e6


async def _async_round(calls: int, config: dict) -> float:
    start = time.perf_counter()
    for i in range(calls):
        await noop.ainvoke({"x": i}, config=config)
    return (time.perf_counter() - start) / calls * 1e6


def measure_calls(calls: int, rounds: int) -> dict[str, dict[str, float]]:
    root = Path(tempfile.mkdtemp(prefix="tw-overhead-"))
    tw = toolwise.Toolwise(root)
    immediate = toolwise.Toolwise(root / "immediate", durability="immediate")
    configs = {
        "bare": {},
        "do-nothing handler": {"callbacks": [DoNothing()]},
        "toolwise": {"callbacks": [tw.callback(agent_id="bench", task_type="noop")]},
        "toolwise, immediate": {
            "callbacks": [immediate.callback(agent_id="bench", task_type="noop")]
        },
    }
    results: dict[str, dict[str, list[float]]] = {
        mode: {name: [] for name in configs} for mode in ("invoke", "ainvoke")
    }
    drain: list[float] = []
    for mode in ("invoke", "ainvoke"):
        for config in configs.values():  # warm-up
            if mode == "invoke":
                _sync_round(200, config)
            else:
                asyncio.run(_async_round(200, config))
        tw.flush()
        immediate.flush()
        for _ in range(rounds):
            for name, config in configs.items():
                _settle()
                if mode == "invoke":
                    results[mode][name].append(_sync_round(calls, config))
                else:
                    results[mode][name].append(asyncio.run(_async_round(calls, config)))
                start = time.perf_counter()
                tw.flush()  # build, spool and write this round's records before the next round
                if name == "toolwise":
                    drain.append((time.perf_counter() - start) / calls * 1e6)
                immediate.flush()
    for instance in (tw, immediate):
        counters = instance.counters
        instance.close()
        if counters.dropped or counters.pending:
            raise SystemExit(f"records were lost or left pending: {counters}")
    out: dict[str, dict[str, float]] = {}
    for mode, by_name in results.items():
        out[mode] = {name: median(values) for name, values in by_name.items()}
    out["writer"] = {"drain_us_per_record": median(drain)}
    return out


def measure_throughput(records: int, batch: int) -> dict[str, float]:
    outcomes = [
        ToolOutcome(
            agent_id="bench",
            tool=f"tool_{i % 4}",
            task_type=f"ctx_{i % 10}",
            task=f"deploy service {i % 12} version 1.{i}",
            latency_ms=100.0 + i % 900,
            outcome="success" if i % 5 else "failure",
            error_message="" if i % 5 else "ssh timeout after 45s",
        )
        for i in range(records)
    ]
    root = Path(tempfile.mkdtemp(prefix="tw-throughput-"))
    store = toolwise.Toolwise(root).store
    start = time.perf_counter()
    for i in range(0, records, batch):
        store.write(outcomes[i : i + batch])
    direct = records / (time.perf_counter() - start)

    tw = toolwise.Toolwise(Path(tempfile.mkdtemp(prefix="tw-e2e-")), batch_size=batch)
    start = time.perf_counter()
    for outcome in outcomes:
        tw.record(outcome.model_copy(update={"id": outcome.id + "e"}))
    tw.flush()
    end_to_end = records / (time.perf_counter() - start)
    tw.close()
    return {"store_write_records_per_s": direct, "record_and_flush_records_per_s": end_to_end}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--burst", type=int, default=30_000)
    args = parser.parse_args()

    per_call = measure_calls(args.calls, args.rounds)
    rows = []
    for mode in ("invoke", "ainvoke"):
        bare = per_call[mode]["bare"]
        for name, value in per_call[mode].items():
            rows.append([mode, name, value, value / bare])
    drain = per_call["writer"]["drain_us_per_record"]
    tw_sync = per_call["invoke"]["toolwise"]
    rows.append(
        [
            "invoke",
            "toolwise, amortised with background write",
            tw_sync + drain,
            (tw_sync + drain) / per_call["invoke"]["bare"],
        ]
    )
    realistic = measure_realistic(max(200, args.calls // 10), args.rounds)
    rows.append(["invoke", "1 ms tool, bare", realistic["bare"], 1.0])
    rows.append(
        [
            "invoke",
            "1 ms tool, toolwise",
            realistic["toolwise"],
            realistic["toolwise"] / realistic["bare"],
        ]
    )
    burst = measure_burst(args.burst)
    rows.append(["invoke", f"burst of {args.burst:,} calls, bare", burst["bare"], 1.0])
    rows.append(
        [
            "invoke",
            f"burst of {args.burst:,} calls, toolwise",
            burst["toolwise"],
            burst["toolwise"] / burst["bare"],
        ]
    )
    print(f"Per-call time of a no-op @tool ({args.calls} calls x {args.rounds} rounds, median)")
    print(table(["mode", "configuration", "µs/call", "× bare"], rows))

    throughput = measure_throughput(args.records, args.batch)
    print()
    print(f"Sustained writes to embedded Chroma ({args.records} records, batches of {args.batch})")
    print(table(["path", "records/s"], [[k, v] for k, v in throughput.items()]))
    path = write_json(
        "overhead",
        {
            "args": vars(args),
            "per_call_us": per_call,
            "one_ms_tool_us": realistic,
            "burst_us": burst,
            "throughput": throughput,
            "targets": {"toolwise_over_bare": 1.25, "records_per_s": 1000},
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
