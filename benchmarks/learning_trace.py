"""Where a learning option spends its regret: calls to also-rans, re-finds, restarts.

    python benchmarks/learning_trace.py --family periodic --seeds 1-20 \\
        --config break='{"restart_on_leader_change": true, "restart_on": "break"}'
    python benchmarks/learning_trace.py --family outage --seeds 38-38 --segments \\
        --config w3='{"restart_on_leader_change": true, "restart_weight": 3}'

Replays ``learning_paired.py``'s runs (development seeds, one traffic rate) for toolwise's
default and each config, and prints per seed: total regret; the calls to *also-rans* (tools
never the best whose rate never changes, so no change detector should touch their records)
and the regret they cost; the mean decisions until the new best tool is adopted after a
change (``adapt``; changes never adopted are left out); and the restarts by trigger.
``--segments`` also prints, per run, the restarts, restores and holds with the decision they
happened at, and each tool's calls between two of the scenario's changes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import table
from learning_paired import seed_range
from learning_sim.generator import RATES, generate
from learning_sim.metrics import measure
from learning_sim.policies import build
from learning_sim.runner import play_policy
from learning_sim.streams import draw

EVENTS = ("restarts_on_break", "restarts_on_return", "restored", "holds")
HEADER = ("seed", "config", "regret", "also-ran calls", "also-ran regret", "adapt", "restarts")


def trace(family: str, seed: int, rate: str, config: dict[str, Any] | None) -> dict[str, Any]:
    """One run, with the decision at which each counted event happened."""
    stream = draw(generate(family, seed), seed).at_rate(RATES[rate])
    policy = build("toolwise" if config is None else "toolwise_custom", stream, config)
    events: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}

    def note_events(i: int, tool: str) -> None:
        stats = policy.view.stats()  # type: ignore[attr-defined]  # toolwise policies only
        for name in EVENTS:
            if stats.get(name, 0) != seen.get(name, 0):
                events.append((i, name, tool))
                seen[name] = stats.get(name, 0)

    chosen = play_policy(policy, stream, after_each=note_events)
    expected = stream.expected
    picks = np.asarray(chosen)
    regret = stream.best_value - expected[np.arange(len(picks)), picks]
    best = set(np.nanargmax(expected, axis=1).tolist())
    steady = [
        j
        for j in range(expected.shape[1])
        if j not in best and np.nanmax(expected[:, j]) == np.nanmin(expected[:, j])
    ]
    also_ran = np.isin(picks, steady)
    adapt = [v for v in measure(stream, chosen).adapt.values() if v is not None]
    bounds = [0, *(c.at for c in stream.scenario.changes if c.at < len(picks)), len(picks)]
    return {
        "regret": float(regret.sum()),
        "also_ran_calls": int(also_ran.sum()),
        "also_ran_regret": float(regret[also_ran].sum()),
        "adapt": float(np.mean(adapt)) if adapt else None,
        "events": events,
        "segments": [
            (a, np.bincount(picks[a:b], minlength=len(stream.scenario.tools)).tolist())
            for a, b in itertools.pairwise(bounds)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", required=True)
    parser.add_argument("--seeds", default="1-20", help="first-last, 1-based, development")
    parser.add_argument("--rate", default="1/min", choices=list(RATES))
    parser.add_argument("--config", action="append", default=[], metavar="NAME=JSON")
    parser.add_argument("--segments", action="store_true", help="events and calls per segment")
    args = parser.parse_args(argv)
    configs: dict[str, dict[str, Any] | None] = {"default": None}
    for item in args.config:
        name, _, text = item.partition("=")
        configs[name] = json.loads(text)
    rows: list[list[object]] = []
    totals: dict[str, list[float]] = {name: [0.0, 0.0, 0.0, 0.0] for name in configs}
    chosen = seed_range(args.seeds, held_out=False)
    for seed in chosen:
        for name, config in configs.items():
            run = trace(args.family, seed, args.rate, config)
            restarts = sum(e[1].startswith("restarts") for e in run["events"])
            adapt = "" if run["adapt"] is None else f"{run['adapt']:.0f}"
            rows.append(
                [
                    seed,
                    name,
                    f"{run['regret']:.1f}",
                    run["also_ran_calls"],
                    f"{run['also_ran_regret']:.1f}",
                    adapt,
                    restarts,
                ]
            )
            total = totals[name]
            total[0] += run["regret"]
            total[1] += run["also_ran_calls"]
            total[2] += run["also_ran_regret"]
            total[3] += run["adapt"] or 0.0
            if args.segments:
                print(f"seed {seed} {name}: {run['events']}")
                print(f"  calls per tool from each change on: {run['segments']}")
    print(table(HEADER, rows))
    n = len(chosen)
    means = [
        [f"mean of {n}", name, *(f"{v / n:.1f}" for v in total), ""]
        for name, total in totals.items()
    ]
    print(table(HEADER, means))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
