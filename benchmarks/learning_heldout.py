"""Held-out randomised worlds: toolwise against the best classical bandit, at every traffic rate.

    python benchmarks/learning_heldout.py                 # 20 held-out seeds per family
    python benchmarks/learning_heldout.py --runs 3 --rates 1/min,1/day --families abrupt
    python benchmarks/learning_heldout.py --development   # tune on these seeds, never the others

Every seed draws its own world from a family (``learning_sim/generator.py``: stationary with
K 3–20 and gaps 0.05–0.3, abrupt breaks, slow drift, periodic swaps, a new tool, outages,
task types with different best tools, cost/latency trade-offs). The classical baselines
(``learning_sim/baselines.py``: Thompson, discounted Thompson γ 0.99 and 0.995, sliding-window
UCB, GLR-klUCB, Bayes-UCB, ε-greedy with recency) ignore time and play each stream once;
toolwise and the 000 recipe replay the same stream at each traffic rate (one decision a
minute to one a day). Prints per family × rate toolwise's mean regret beside the best
baseline's and the ratio with its 95 % paired-bootstrap interval, then the issue-11 targets;
writes ``benchmarks/results/learning_heldout.json`` (seed ranges, every run's totals).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_json
from learning_sim.generator import FAMILIES, RATES
from learning_sim.heldout import (
    Suite,
    false_alarm_rows,
    payload,
    ratio_interval,
    run_families,
    targets,
)

FULL_RUNS = 20


def versus_rows(suite: Suite) -> list[list[object]]:
    """Per family × rate: toolwise, the best baseline, the ratio and its interval."""
    rows: list[list[object]] = []
    for family in suite.families:
        best = suite.best_baseline(family)
        theirs = suite.regrets(family, best)
        for rate in suite.rates:
            ours = suite.regrets(family, "toolwise", rate)
            ratio = float(ours.mean() / theirs.mean()) if theirs.mean() > 0 else float("inf")
            low, high = ratio_interval(ours, theirs)
            rows.append(
                [
                    family,
                    rate,
                    f"{ours.mean():.1f}",
                    best,
                    f"{theirs.mean():.1f}",
                    f"{ratio:.2f}",
                    f"[{low:.2f}, {high:.2f}]",
                ]
            )
    return rows


VERSUS_HEADER = ("family", "rate", "toolwise", "best baseline", "its regret", "ratio", "95 % CI")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=FULL_RUNS, help="seeds per family")
    parser.add_argument("--families", help="comma-separated subset of: " + ", ".join(FAMILIES))
    parser.add_argument("--rates", help="comma-separated subset of: " + ", ".join(RATES))
    parser.add_argument("--development", action="store_true", help="development seeds")
    parser.add_argument("--jobs", type=int, help="worker processes (default: CPU count)")
    parser.add_argument("--output", default="learning_heldout", help="JSON name in results/")
    parser.add_argument(
        "--toolwise-config",
        metavar="JSON",
        help="LearningConfig fields for an extra 'toolwise_custom' policy at every rate",
    )
    args = parser.parse_args(argv)
    families = args.families.split(",") if args.families else list(FAMILIES)
    rates = args.rates.split(",") if args.rates else list(RATES)
    unknown = [f for f in families if f not in FAMILIES] + [r for r in rates if r not in RATES]
    if unknown:
        parser.error(f"unknown families or rates: {', '.join(unknown)}")

    started = time.perf_counter()
    custom = json.loads(args.toolwise_config) if args.toolwise_config else None
    suite = run_families(
        families,
        args.runs,
        held_out=not args.development,
        rates=rates,
        jobs=args.jobs,
        custom=custom,
    )
    elapsed = time.perf_counter() - started
    rows = targets(suite)
    kind = "development" if args.development else "held-out"
    print(f"learning, randomised worlds: {args.runs} {kind} seeds per family, {elapsed:.0f} s\n")
    print(table(VERSUS_HEADER, versus_rows(suite)))
    alarms = false_alarm_rows(suite)
    if alarms:
        print("\noutage events declared in worlds without outages (toolwise default)\n")
        print(table(("family", "rate", "events per run", "runs with any"), alarms))
    print("\ntargets (toolwise default)\n")
    print(
        table(
            ("target", "family", "rate", "goal", "measured", "pass", "detail"),
            [
                [
                    r.target,
                    r.family,
                    r.rate,
                    r.goal,
                    "never" if r.measured is None else f"{r.measured:.2f}",
                    "yes" if r.passed else "NO",
                    r.detail,
                ]
                for r in rows
            ],
        )
    )
    given = argv if argv is not None else sys.argv[1:]
    path = write_json(
        args.output,
        {
            "command": " ".join(["python benchmarks/learning_heldout.py", *given]),
            "runs": args.runs,
            "elapsed_s": round(elapsed, 1),
            "jobs": args.jobs or os.cpu_count(),
            "cpus": os.cpu_count(),
            "toolwise_custom_config": custom,
            **payload(suite, rows),
        },
    )
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
