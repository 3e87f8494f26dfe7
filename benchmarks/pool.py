"""Fallback pools against fixed fallbacks, round-robin and the best single provider.

Three simulated search providers behind one tool (issue 18):

* ``fast``  — cheap and quick, then **degrades**: success 0.98 until 40 % of the run, falling
  to 0.55 by 70 % and staying there; latency log-normal (median 120 ms, σ 0.6).
* ``flaky`` — cheapest, with **outages** (25–32 % and 60–68 % of the run) during which a
  request hangs 3 s and fails; latency heavy-tailed (median 150 ms, σ 0.8, 3 % of calls ×20).
* ``sure``  — **slow but sure**: success 0.995, latency median 700 ms (σ 0.25), twice the cost.

Policies, each over the same pre-drawn world (common random numbers):

* ``pool`` / ``pool + hedge`` — ``toolwise`` ``PooledTool`` (the real code: ranking, records
  through a real runtime on in-memory Chroma, fall-through, hedging at the learnt p95);
* ``fixed chain`` — ``fast.with_fallbacks([flaky, sure])`` (LangChain's ``with_fallbacks``);
* ``round-robin`` — start at the next provider each call, fall through in that order;
* ``best single (hindsight)`` — the one provider alone with the best success rate.

Time is **virtual**: an asyncio loop whose clock jumps to the next timer instead of sleeping,
so latencies are simulated exactly and the run is deterministic and unaffected by machine load;
the pool's timer, the runtime's timer and its clock all read the virtual clock. A call costs
the price of every attempt it started (hedges included, even when cancelled).

Targets: success ≥ the fixed chain's; p99 latency ≤ 0.5 × the fixed chain's with hedging on;
cost within 10 % of the cheapest policy reaching the same success (0.5 pp tolerance).

    .venv/bin/python benchmarks/pool.py [--calls 1500] [--seeds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import selectors
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.tools import BaseTool, StructuredTool, ToolException

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_json

from toolwise import Toolwise
from toolwise.integrations.langchain import PooledTool, PoolExhaustedToolError
from toolwise.pools import PoolOptions
from toolwise.storage.clients import ephemeral_client

PROVIDERS = ("fast", "flaky", "sure")
COSTS = {"fast": 1.0, "flaky": 0.8, "sure": 2.0}
GAP = 2.0  # virtual seconds between calls
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# -- virtual time ------------------------------------------------------------------------------


class _VirtualSelector:
    """A selector that, asked to wait ``t`` seconds with nothing ready, moves the clock."""

    def __init__(self, loop: VirtualLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is not None and timeout > 0:
            ready = self._real.select(0)
            if not ready:
                self._loop.now += timeout
            return ready
        return self._real.select(timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop on a virtual clock: ``sleep(3)`` takes no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_VirtualSelector(self))  # type: ignore[arg-type]

    def time(self) -> float:
        return self.now


# -- the simulated world -----------------------------------------------------------------------


@dataclass
class World:
    """Pre-drawn outcome and latency of every provider for every call."""

    ok: dict[str, np.ndarray]
    latency: dict[str, np.ndarray]
    index: int = 0
    charged: float = 0.0

    @classmethod
    def draw(cls, calls: int, seed: int) -> World:
        rng = np.random.default_rng(seed)
        x = np.arange(calls) / calls
        fast_rate = np.where(x < 0.4, 0.98, np.where(x < 0.7, 0.98 - (x - 0.4) / 0.3 * 0.43, 0.55))
        outage = ((x >= 0.25) & (x < 0.32)) | ((x >= 0.60) & (x < 0.68))
        flaky_latency = rng.lognormal(np.log(0.15), 0.8, calls)
        flaky_latency *= np.where(rng.random(calls) < 0.03, 20.0, 1.0)
        flaky_ok = (rng.random(calls) < 0.97) & ~outage
        flaky_latency = np.where(outage, 3.0, flaky_latency)
        return cls(
            ok={
                "fast": rng.random(calls) < fast_rate,
                "flaky": flaky_ok,
                "sure": rng.random(calls) < 0.995,
            },
            latency={
                "fast": rng.lognormal(np.log(0.12), 0.6, calls),
                "flaky": flaky_latency,
                "sure": rng.lognormal(np.log(0.7), 0.25, calls),
            },
        )

    def provider(self, name: str) -> BaseTool:
        async def search(query: str) -> str:
            i = self.index
            self.charged += COSTS[name]
            await asyncio.sleep(float(self.latency[name][i]))
            if not self.ok[name][i]:
                raise ToolException(f"{name}: upstream error")
            return f"{name}: results for {query}"

        return StructuredTool.from_function(
            coroutine=search, name=name, description="Search the web."
        )


# -- policies ----------------------------------------------------------------------------------

Policy = Callable[[int], Awaitable[bool]]


async def _first_success(tools: list[BaseTool]) -> bool:
    for provider in tools:
        try:
            await provider.ainvoke({"query": "q"})
        except ToolException:
            continue
        return True
    return False


def fixed_chain(world: World) -> Policy:
    tools = [world.provider(n) for n in PROVIDERS]
    chain = tools[0].with_fallbacks(tools[1:], exceptions_to_handle=(ToolException,))

    async def call(_: int) -> bool:
        try:
            await chain.ainvoke({"query": "q"})
        except ToolException:
            return False
        return True

    return call


def round_robin(world: World) -> Policy:
    tools = [world.provider(n) for n in PROVIDERS]

    async def call(i: int) -> bool:
        start = i % len(tools)
        return await _first_success(tools[start:] + tools[:start])

    return call


def single(world: World, name: str) -> Policy:
    tools = [world.provider(name)]

    async def call(_: int) -> bool:
        return await _first_success(tools)

    return call


@dataclass
class PoolRun:
    """A toolwise pool over the world's providers, on a runtime reading the virtual clock."""

    loop: VirtualLoop
    hedge: bool
    objective: Any = "balanced"
    tw: Toolwise = field(init=False)
    tool: PooledTool = field(init=False)
    spool: Path = field(init=False)

    def build(self, world: World) -> Policy:
        self.spool = Path(tempfile.mkdtemp(prefix="toolwise-pool-bench-"))
        loop = self.loop
        self.tw = Toolwise(
            client=ephemeral_client(),
            spool_dir=self.spool,
            prefix=f"b{uuid.uuid4().hex[:12]}",
            clock=lambda: START + timedelta(seconds=loop.now),
            timer=lambda: loop.now,
        )
        self.tool = PooledTool.build(
            "search",
            [world.provider(n) for n in PROVIDERS],
            runtime=self.tw.runtime,
            defaults=self.tw.defaults(task_type="web_search", costs=COSTS),
            options=PoolOptions(hedge=self.hedge, objective=self.objective),
            handle_tool_error=False,
            timer=lambda: loop.now,
        )

        async def call(_: int) -> bool:
            try:
                await self.tool.ainvoke({"query": "q"})
            except PoolExhaustedToolError:
                return False
            return True

        return call

    def close(self) -> None:
        self.tw.close(timeout=30)
        shutil.rmtree(self.spool, ignore_errors=True)


# -- running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    policy: str
    success: float
    p50_ms: float
    p99_ms: float
    cost: float


async def _play(loop: VirtualLoop, world: World, policy: Policy, calls: int) -> Result:
    successes, latencies = 0, []
    for i in range(calls):
        world.index = i
        started = loop.time()
        successes += await policy(i)
        latencies.append(loop.time() - started)
        await asyncio.sleep(GAP)
    ms = np.array(latencies) * 1000.0
    return Result(
        "",
        successes / calls,
        float(np.percentile(ms, 50)),
        float(np.percentile(ms, 99)),
        world.charged / calls,
    )


def run(name: str, calls: int, seed: int, make: Callable[[VirtualLoop, World], Any]) -> Result:
    loop = VirtualLoop()
    world = World.draw(calls, seed)
    made = make(loop, world)
    policy = made.build(world) if isinstance(made, PoolRun) else made
    try:
        result = loop.run_until_complete(_play(loop, world, policy, calls))
    finally:
        if isinstance(made, PoolRun):
            made.close()
        loop.close()
    return Result(name, result.success, result.p50_ms, result.p99_ms, result.cost)


def _single_policy(name: str, loop: VirtualLoop, world: World) -> Policy:
    return single(world, name)


OBJECTIVE: Any = "balanced"

POLICIES: dict[str, Callable[[VirtualLoop, World], Any]] = {
    "pool": lambda loop, world: PoolRun(loop, hedge=False, objective=OBJECTIVE),
    "pool + hedge": lambda loop, world: PoolRun(loop, hedge=True, objective=OBJECTIVE),
    "fixed chain (with_fallbacks)": lambda loop, world: fixed_chain(world),
    "round-robin": lambda loop, world: round_robin(world),
    **{f"single: {n}": partial(_single_policy, n) for n in PROVIDERS},
}


def _mean(results: list[Result], name: str) -> Result:
    return Result(
        name,
        float(np.mean([r.success for r in results])),
        float(np.mean([r.p50_ms for r in results])),
        float(np.mean([r.p99_ms for r in results])),
        float(np.mean([r.cost for r in results])),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--objective", default="balanced", help="balanced, latency or cost")
    args = parser.parse_args()
    global OBJECTIVE  # noqa: PLW0603 - the policies table reads it
    OBJECTIVE = args.objective
    by_policy: dict[str, list[Result]] = {name: [] for name in POLICIES}
    for seed in range(args.seeds):
        for name, make in POLICIES.items():
            by_policy[name].append(run(name, args.calls, seed, make))
    means = {name: _mean(results, name) for name, results in by_policy.items()}
    singles = [means[f"single: {n}"] for n in PROVIDERS]
    best = max(singles, key=lambda r: (r.success, -r.p99_ms))
    rows = [means["pool"], means["pool + hedge"], means["fixed chain (with_fallbacks)"]]
    hindsight = f"best single (hindsight: {best.policy[8:]})"
    rows += [means["round-robin"], Result(hindsight, *astuple(best)[1:])]
    rows += [r for r in singles if r is not best]
    print(
        f"{args.calls} calls × {args.seeds} seeds, objective {args.objective!r}, virtual time"
        " (means over seeds)\n"
        + table(
            ["policy", "success", "p50 ms", "p99 ms", "cost/call"],
            [[r.policy, r.success, r.p50_ms, r.p99_ms, r.cost] for r in rows],
        )
    )
    chain, hedged, pool = (
        means["fixed chain (with_fallbacks)"],
        means["pool + hedge"],
        means["pool"],
    )
    targets = {}
    for label, mine in (("pool", pool), ("pool + hedge", hedged)):
        rivals = [r for r in means.values() if r.success >= mine.success - 0.005]
        cheapest = min(rivals, key=lambda r: r.cost)
        targets[label] = {
            "success_vs_chain": [mine.success, chain.success, mine.success >= chain.success],
            "p99_ratio_vs_chain": [mine.p99_ms / chain.p99_ms, mine.p99_ms <= 0.5 * chain.p99_ms],
            "cost_vs_cheapest_as_good": [
                cheapest.policy,
                mine.cost / cheapest.cost,
                mine.cost <= 1.1 * cheapest.cost,
            ],
        }
    print("\ntargets (value, met?):")
    for label, checks in targets.items():
        for check, value in checks.items():
            print(f"  {label:13s} {check:26s} {value}")
    path = write_json(
        "pool",
        {
            "calls": args.calls,
            "seeds": args.seeds,
            "objective": args.objective,
            "virtual_time": True,
            "costs": COSTS,
            "means": {name: vars(r) for name, r in means.items()},
            "per_seed": {name: [vars(r) for r in rs] for name, rs in by_policy.items()},
            "targets": targets,
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
