"""Where periodic regret comes from: detection after each regime swap, or learning inside a regime.

    python benchmarks/learning_phases.py                  # development seeds 1–20, 1/min
    python benchmarks/learning_phases.py --runs 5 --toolwise-config '{"change_scan_delta": 0.2}'

Plays toolwise (at 1 decision a minute) and GLR-klUCB on the ``periodic`` family's development
worlds and splits each run's regret by phase: the first regime (learning from scratch), then
per swap the *detection* phase — until the new regime's best tool is the most picked of the
last ``--window`` decisions — and the rest of the regime (steady state). A swap whose regime
ends before that is *never adopted*. Swaps alternate: odd ones hand the lead to the challenger
(the first regime's best tool breaks), even ones give it back (the challenger falls back to
its old rate, the first best recovers). Prints per-seed rows and the means, and writes them to
``benchmarks/results/learning_phases.json`` (``--output`` names another file).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_json
from learning_sim.generator import DEVELOPMENT, RATES, generate
from learning_sim.policies import build
from learning_sim.runner import play, play_policy
from learning_sim.streams import Stream, draw

WINDOW = 10


@dataclass(frozen=True)
class Swap:
    """One regime swap of one run."""

    back: bool  # the lead goes back to the first regime's best tool
    delay: int  # decisions until the new best is the most picked of the last window
    never: bool  # the regime ended first
    detection: float  # regret during the delay
    steady: float  # regret in the rest of the regime


@dataclass(frozen=True)
class Phases:
    """One policy's regret on one periodic run, split by phase."""

    total: float
    first: float  # the first regime
    swaps: tuple[Swap, ...]

    @property
    def detection(self) -> float:
        return sum(s.detection for s in self.swaps)

    @property
    def steady(self) -> float:
        return sum(s.steady for s in self.swaps)

    @property
    def never(self) -> int:
        return sum(s.never for s in self.swaps)


def _delay(chosen: np.ndarray, start: int, end: int, best: int, window: int) -> int | None:
    for i in range(start + min(window, end - start) - 1, end):
        recent = chosen[max(start, i - window + 1) : i + 1]
        if int(np.bincount(recent, minlength=best + 1).argmax()) == best:
            return i - start + 1
    return None


def split(stream: Stream, chosen: Sequence[int], window: int = WINDOW) -> Phases:
    """Split a run's regret at the scenario's swaps (its ``break`` changes)."""
    picks = np.asarray(chosen, dtype=int)
    n = len(picks)
    regret = stream.best_value - stream.expected[np.arange(n), picks]
    bounds = [0, *(c.at for c in stream.scenario.changes if c.at < n), n]
    swaps = []
    for number, (start, end) in enumerate(itertools.pairwise(bounds[1:])):
        best = int(np.argmax(stream.best_mask[start]))
        delay = _delay(picks, start, end, best, window)
        cut = start + (end - start if delay is None else delay)
        swaps.append(
            Swap(
                back=number % 2 == 1,
                delay=end - start if delay is None else delay,
                never=delay is None,
                detection=float(regret[start:cut].sum()),
                steady=float(regret[cut:end].sum()),
            )
        )
    return Phases(float(regret.sum()), float(regret[: bounds[1]].sum()), tuple(swaps))


def _run(seed: int, custom: dict[str, Any] | None, window: int) -> dict[str, Phases]:
    stream = draw(generate("periodic", seed), seed)
    paced = stream.at_rate(RATES["1/min"])
    name = "toolwise" if custom is None else "toolwise_custom"
    ours = play_policy(build(name, paced, custom), paced, name)
    return {
        "toolwise": split(stream, ours, window),
        "glr_klucb": split(stream, play("glr_klucb", stream), window),
    }


def _summary(name: str, runs: Sequence[Phases]) -> list[object]:
    swaps = [s for r in runs for s in r.swaps]
    rows: list[object] = [name]
    rows += [np.mean([getattr(r, a) for r in runs]) for a in ("total", "first", "detection")]
    rows.append(np.mean([r.steady for r in runs]))
    for back in (False, True):
        chosen = [s for s in swaps if s.back == back]
        delays = [s.delay for s in chosen]
        rows.append(f"{np.median(delays):.0f} / {np.mean(delays):.0f}")
        never = [s for s in chosen if s.never]
        rows.append(f"{len(never)}/{len(chosen)}")
    never_regret = sum(s.detection for s in swaps if s.never)
    rows.append(never_regret / len(runs))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="development seeds from 1")
    parser.add_argument("--window", type=int, default=WINDOW, help="decisions read")
    parser.add_argument("--toolwise-config", metavar="JSON", help="LearningConfig fields")
    parser.add_argument("--output", default="learning_phases", help="JSON name in results/")
    args = parser.parse_args(argv)
    custom = json.loads(args.toolwise_config) if args.toolwise_config else None
    runs = {seed: _run(seed, custom, args.window) for seed in DEVELOPMENT[: args.runs]}
    rows = [
        [seed, name, p.total, p.first, p.detection, p.steady, len(p.swaps), p.never]
        for seed, by in runs.items()
        for name, p in by.items()
    ]
    print(f"periodic, {args.runs} development seeds, toolwise at 1/min\n")
    header = ("seed", "policy", "regret", "first regime", "detection", "steady", "swaps", "never")
    print(table(header, rows))
    print("\nmeans per run (delay: median / mean decisions; to: lead to the challenger, back)\n")
    summary = [
        _summary(name, [by[name] for by in runs.values()]) for name in ("toolwise", "glr_klucb")
    ]
    columns = (
        "policy",
        "regret",
        "first regime",
        "detection",
        "steady",
        "delay to",
        "never to",
        "delay back",
        "never back",
        "regret in never-adopted swaps",
    )
    print(table(columns, summary))
    path = write_json(
        args.output,
        {
            "args": {"runs": args.runs, "window": args.window, "toolwise_config": custom},
            "seeds": [dict(zip(header, map(_plain, row), strict=True)) for row in rows],
            "means": [dict(zip(columns, map(_plain, row), strict=True)) for row in summary],
        },
    )
    print(f"\nwrote {path}")
    return 0


def _plain(value: object) -> object:
    """A JSON-ready cell (NumPy numbers as floats, rounded)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return round(float(value), 2)
    return value


if __name__ == "__main__":
    raise SystemExit(main())
