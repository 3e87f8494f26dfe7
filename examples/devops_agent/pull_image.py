"""``python -m examples.devops_agent.pull_image``: two container registries behind one tool.

Before a deploy the agent pulls the release's image. Two registries serve the same images:

- ``dockerhub_pull`` — fast (~1.5 s) but rate-limited: after 20 pulls in a day every further
  pull that day fails at once (0.2 s) with ``toomanyrequests``, and ~2 % fail anyway;
- ``ghcr_pull`` — slower (~2.5 s), ~99 % success, except a Wednesday outage (10:00–14:00)
  during which every pull fails with ``503 Service Unavailable``.

``tw.pool("pull_image", [dockerhub_pull, ghcr_pull])`` is the one tool the agent sees; the
same week of pulls (the deploys of ``world.World``, same seed) also runs through each registry
alone and through LangChain's fixed ``with_fallbacks`` chain. Everything runs on the simulated
clock, so a week takes seconds and the registries' numbers are reproducible (the pool's move a
little between runs: its order is drawn by unseeded Thompson sampling); they are printed as a
table and written to ``--json`` (``benchmarks/results/devops_pull_image.json`` by default).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from examples.devops_agent.world import Deploy, World
from langchain_core.tools import BaseTool, StructuredTool, ToolException

import toolwise

__all__ = ["REGISTRIES", "Registries", "main", "simulate"]

REGISTRIES = ("dockerhub_pull", "ghcr_pull")
DAILY_LIMIT = 20


class Registries:
    """The two registries' behaviour on the simulated clock of ``world``."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self._rng = random.Random(seed)
        self._pulls_by_day: dict[tuple[str, str], int] = {}

    def pull(self, registry: str, image: str) -> str:
        at = self.world.now
        day = at.strftime("%Y-%m-%d")
        if registry == "dockerhub_pull":
            seconds, ok = self._latency(1.5), self._rng.random() < 0.98
            used = self._pulls_by_day.get((registry, day), 0) + 1
            self._pulls_by_day[(registry, day)] = used
            error = "toomanyrequests: pull rate limit reached" if used > DAILY_LIMIT else ""
            seconds = 0.2 if error else seconds
            error = error or ("" if ok else "unexpected EOF")
        else:
            seconds, ok = self._latency(2.5), self._rng.random() < 0.99
            outage = at.weekday() == 2 and 10 <= at.hour < 14
            error = "503 Service Unavailable" if outage else ("" if ok else "unexpected EOF")
        self.world.advance(seconds)
        if error:
            raise ToolException(f"{registry}: {error}")
        return f"pulled {image} from {registry.removesuffix('_pull')} in {seconds:.1f}s"

    def _latency(self, median: float) -> float:
        return median * math.exp(self._rng.gauss(0.0, 0.3))

    def tools(self) -> list[BaseTool]:
        def build(name: str) -> BaseTool:
            def pull(image: str) -> str:
                return self.pull(name, image)

            return StructuredTool.from_function(
                pull, name=name, description=f"Pull a container image from {name[:-5]}."
            )

        return [build(name) for name in REGISTRIES]


@dataclass(frozen=True)
class Row:
    policy: str
    pulls: int
    success_rate: float
    mean_seconds: float
    attempts_per_pull: float


def _week(seed: int) -> tuple[World, list[Deploy]]:
    world = World(seed=seed)
    return world, world.deploys(1)


def _run(policy: str, seed: int, make: Callable[[Registries, World], BaseTool]) -> Row:
    world, deploys = _week(seed)
    registries = Registries(world, seed)
    counted = {"attempts": 0}
    original = registries.pull

    def counting(registry: str, image: str) -> str:
        counted["attempts"] += 1
        return original(registry, image)

    registries.pull = counting  # type: ignore[method-assign]
    tool = make(registries, world)
    successes, seconds = 0, 0.0
    for deploy in deploys:
        world.now = max(world.now, deploy.at)
        started = world.timer()
        try:
            tool.invoke({"image": f"{deploy.service}:{deploy.version}"})
            successes += 1
        except ToolException:
            pass
        seconds += world.timer() - started
    n = len(deploys)
    return Row(policy, n, successes / n, seconds / n, counted["attempts"] / n)


def simulate(seed: int = 7) -> list[Row]:
    """The week's pulls through the pool, each registry alone, and the fixed chain."""
    store = Path(tempfile.mkdtemp(prefix="toolwise-pull-image-"))
    tws: list[toolwise.Toolwise] = []

    def pooled(registries: Registries, world: World) -> BaseTool:
        tw = toolwise.Toolwise(store / "tw", clock=world.clock, timer=world.timer, ttl=None)
        tws.append(tw)
        return tw.pool(
            "pull_image",
            registries.tools(),
            description="Pull a container image from whichever registry works.",
            agent_id="devops",
            task_type="image_pull",
            handle_tool_error=False,
        )

    def alone(name: str) -> Callable[[Registries, World], BaseTool]:
        return lambda registries, _: registries.tools()[REGISTRIES.index(name)]

    def chain(registries: Registries, _: World) -> BaseTool:
        first, second = registries.tools()
        return first.with_fallbacks([second], exceptions_to_handle=(ToolException,))  # type: ignore[return-value]

    try:
        return [
            _run("pool: pull_image", seed, pooled),
            _run("fixed chain (with_fallbacks)", seed, chain),
            _run("dockerhub_pull alone", seed, alone("dockerhub_pull")),
            _run("ghcr_pull alone", seed, alone("ghcr_pull")),
        ]
    finally:
        for tw in tws:
            tw.close()
        shutil.rmtree(store, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m examples.devops_agent.pull_image", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--json", type=Path, default=Path("benchmarks/results/devops_pull_image.json")
    )
    args = parser.parse_args(argv)
    rows = simulate(args.seed)
    header = f"{'policy':30s} {'pulls':>5s} {'success':>8s} {'mean s':>7s} {'attempts':>8s}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.policy:30s} {r.pulls:5d} {r.success_rate:8.1%} {r.mean_seconds:7.2f} "
            f"{r.attempts_per_pull:8.2f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"seed": args.seed, "rows": [asdict(r) for r in rows]}, indent=2)
    )
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
