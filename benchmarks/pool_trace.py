"""Which member the pool puts first, over the run of ``benchmarks/pool.py``'s world (one seed).

Prints, for each twentieth of the run, how many calls each provider was first for, the calls
that started with a long shot, and the mean cost per call: the trace behind docs/pools.md's
"where the cost went". The pool is unhedged and its Thompson draws are not seeded.

    .venv/bin/python benchmarks/pool_trace.py [--calls 1500] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import pool as bench

from toolwise.learning.models import Recommendation
from toolwise.pools import plan as planning

SEGMENTS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    plans: list[planning.Plan] = []
    bounded = planning.Planner._bounded  # the trace reads each call's plan

    def traced(self: planning.Planner, *rest: object) -> planning.Plan:
        plan = bounded(self, *rest)  # type: ignore[arg-type]
        plans.append(plan)
        return plan

    planning.Planner._bounded = traced  # type: ignore[method-assign]
    costs: list[float] = []
    play = bench._play

    async def costed(
        loop: bench.VirtualLoop, world: bench.World, policy: bench.Policy, n: int
    ) -> bench.Result:
        async def call(i: int) -> bool:
            before = world.charged
            ok = await policy(i)
            costs.append(world.charged - before)
            return ok

        return await play(loop, world, call, n)

    bench._play = costed
    result = bench.run("pool", args.calls, args.seed, lambda loop, _: bench.PoolRun(loop, False))
    print(f"seed {args.seed}: success {result.success:.3f}, cost/call {result.cost:.3f}")
    width = len(plans) // SEGMENTS
    for k in range(SEGMENTS):
        part = slice(k * width, (k + 1) * width)
        firsts = Counter(plan.order[0] for plan in plans[part])
        shares = " ".join(f"{name}={firsts[name]:3d}" for name in bench.PROVIDERS)
        long_shots = sum(plan.long_shot for plan in plans[part])
        rates = _rates(plans[k * width + width // 2].recommendations)
        print(
            f"{100 * k // SEGMENTS:3d}-{100 * (k + 1) // SEGMENTS:3d} %  {shares}  long shots"
            f" {long_shots:2d}  cost {np.mean(costs[part]):.3f}  mean success {rates}"
        )


def _rates(recommendations: tuple[Recommendation, ...]) -> str:
    rate = {r.tool: r.rate for r in recommendations}
    return " ".join(f"{name} {rate.get(name, float('nan')):.2f}" for name in bench.PROVIDERS)


if __name__ == "__main__":
    main()
