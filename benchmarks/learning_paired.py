"""Paired opt-in check: toolwise's default against LearningConfig overrides, toolwise alone.

    python benchmarks/learning_paired.py --families drift --seeds 1-40 \\
        --config gate='{"stale_discount": 0.99, "stale_after_change": true}'

The worlds and streams are ``learning_heldout.py``'s (development seeds unless ``--held-out``),
replayed at one traffic rate without the standard baselines, so an option is measured at a
tenth of the cost. Prints per family the default's mean regret, each config's, and their
paired difference with its standard error (the per-seed noise, 65–75 in ``abrupt``, cancels
in the pairing); ``--output`` writes every run's regret to ``results/``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_json
from learning_sim.generator import FAMILIES, RATES, generate
from learning_sim.heldout import seeds
from learning_sim.metrics import measure
from learning_sim.policies import build
from learning_sim.runner import play_policy
from learning_sim.streams import draw

DEFAULT = "default"
HEADER = ("family", "config", "mean regret", "paired diff ± s.e.", "better/worse")


def regret(family: str, seed: int, rate: str, config: dict[str, Any] | None) -> float:
    """toolwise's total regret on one seed of a family, at ``rate``, with ``config``."""
    stream = draw(generate(family, seed), seed)
    paced = stream.at_rate(RATES[rate])
    policy = "toolwise" if config is None else "toolwise_custom"
    return measure(stream, play_policy(build(policy, paced, config), paced)).total_regret


def seed_range(text: str, *, held_out: bool) -> list[int]:
    """``"1-40"`` → the 1st to 40th seed of the development (or held-out) range."""
    first, _, last = text.partition("-")
    return seeds(int(last or first), held_out=held_out)[int(first) - 1 :]


def paired(ours: list[float], base: list[float]) -> tuple[float, float]:
    """Mean and standard error of the per-seed differences ``ours - base``."""
    diffs = [a - b for a, b in zip(ours, base, strict=True)]
    mean = sum(diffs) / len(diffs)
    if len(diffs) < 2:
        return mean, math.nan
    var = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
    return mean, math.sqrt(var / len(diffs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", required=True, help="comma-separated: " + ", ".join(FAMILIES))
    parser.add_argument("--seeds", default="1-20", help="first-last, 1-based, of the range")
    parser.add_argument("--held-out", action="store_true", help="held-out seeds (report only)")
    parser.add_argument("--rate", default="1/min", choices=list(RATES))
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="LearningConfig overrides to compare with the default (repeatable)",
    )
    parser.add_argument("--output", help="JSON name in results/ for every run's regret")
    args = parser.parse_args(argv)
    families = args.families.split(",")
    if unknown := [f for f in families if f not in FAMILIES]:
        parser.error(f"unknown families: {', '.join(unknown)}")
    configs: dict[str, dict[str, Any] | None] = {DEFAULT: None}
    for item in args.config:
        name, _, text = item.partition("=")
        configs[name] = json.loads(text)
    chosen = seed_range(args.seeds, held_out=args.held_out)

    started = time.perf_counter()
    results: dict[str, dict[str, list[float]]] = {}
    rows: list[list[object]] = []
    for family in families:
        per = {
            name: [regret(family, s, args.rate, c) for s in chosen] for name, c in configs.items()
        }
        results[family] = per
        base = per[DEFAULT]
        for name, values in per.items():
            diff, se = paired(values, base)
            worse = sum(a > b for a, b in zip(values, base, strict=True))
            better = sum(a < b for a, b in zip(values, base, strict=True))
            rows.append(
                [
                    family,
                    name,
                    f"{sum(values) / len(values):.1f}",
                    "" if name == DEFAULT else f"{diff:+.1f} ± {se:.1f}",
                    "" if name == DEFAULT else f"{better}/{worse}",
                ]
            )
        print(table(HEADER, rows[-len(per) :]), flush=True)
    elapsed = time.perf_counter() - started
    kind = "held-out" if args.held_out else "development"
    print(
        f"\n{len(chosen)} {kind} seeds ({chosen[0]}–{chosen[-1]}) at {args.rate}, {elapsed:.0f} s"
    )
    print(table(HEADER, rows))
    if args.output:
        given = argv if argv is not None else sys.argv[1:]
        payload = {
            "command": " ".join(["python benchmarks/learning_paired.py", *given]),
            "seeds": chosen,
            "rate": args.rate,
            "configs": configs,
            "regret": results,
        }
        print(f"wrote {write_json(args.output, payload)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
