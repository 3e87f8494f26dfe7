"""Does toolwise learn which tool to pick faster than the reference designs? Regret vs an oracle.

    python benchmarks/learning.py            # full run: 50 seeds × 11 scenarios (minutes)
    python benchmarks/learning.py --quick    # smoke run: 3 seeds, no plots

Every policy — uniform random, the model's fixed favourite, the memory-server recipe (seed
000), the tool-priors API with its routing rule (seed 002), toolwise's ``ReliabilityView`` and
an oracle — meets the same pre-drawn streams of outcomes. Prints a table per scenario × policy
and the targets of issue 5, writes ``benchmarks/results/learning.json`` and one regret-curve
PNG per scenario (``learning_<scenario>.png``). Definitions: ``learning_sim/metrics.py`` and
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, table, write_json
from learning_sim.report import (
    ADAPT_HEADER,
    MAIN_HEADER,
    adapt_rows,
    main_rows,
    markdown,
    payload,
    target_rows,
)
from learning_sim.runner import run_suite
from learning_sim.scenarios import catalogue
from learning_sim.targets import evaluate

FULL_RUNS = 50
QUICK_RUNS = 3


def learner_fingerprint() -> str:
    """sha256 of toolwise's learning sources: ties a result file to the learner it measured.

    Read from the files without importing them, before the run starts.
    """
    import hashlib
    from importlib.util import find_spec

    spec = find_spec("toolwise")
    if spec is None or spec.origin is None:
        return "toolwise not installed"
    digest = hashlib.sha256()
    for path in sorted((Path(spec.origin).parent / "learning").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help=f"seeds per scenario (default {FULL_RUNS})")
    parser.add_argument("--quick", action="store_true", help="3 seeds, no plots, separate JSON")
    parser.add_argument("--scenarios", help="comma-separated subset of: " + ", ".join(catalogue()))
    parser.add_argument("--jobs", type=int, help="worker processes (default: CPU count)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG regret curves")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--toolwise-config",
        metavar="JSON",
        help="LearningConfig fields for an extra 'toolwise (custom config)' policy, e.g. "
        '\'{"half_life": "P2D"}\'; results go to learning_custom.json, no plots',
    )
    parser.add_argument(
        "--output",
        help="JSON name in results/ (default: learning, learning_quick or learning_custom)",
    )
    args = parser.parse_args(argv)

    names = args.scenarios.split(",") if args.scenarios else list(catalogue())
    unknown = [name for name in names if name not in catalogue()]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    runs = args.runs or (QUICK_RUNS if args.quick else FULL_RUNS)
    custom = json.loads(args.toolwise_config) if args.toolwise_config else None

    fingerprint = learner_fingerprint()
    started = time.perf_counter()
    suite = run_suite(names, runs, jobs=args.jobs, custom=custom)
    elapsed = time.perf_counter() - started
    targets = evaluate(suite)

    show = markdown if args.markdown else table
    print(f"learning benchmark: {runs} seeds per scenario, {elapsed:.0f} s\n")
    print(show(MAIN_HEADER, main_rows(suite)))
    print("\nadaptation (median over runs; decisions unless stated)\n")
    print(show(ADAPT_HEADER, adapt_rows(suite)))
    print("\ntargets (toolwise default)\n")
    print(show(("target", "goal", "measured", "", "detail"), target_rows(targets)))

    given = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python benchmarks/learning.py", *given])
    name = args.output or (
        "learning_custom" if custom else "learning_quick" if args.quick else "learning"
    )
    path = write_json(
        name,
        {
            "command": command,
            "runs": runs,
            "toolwise_custom_config": custom,
            "learner_sha256": fingerprint,
            "elapsed_s": round(elapsed, 1),
            **payload(suite, targets),
        },
    )
    print(f"\nwrote {path}")
    if not (args.quick or args.no_plots or custom):  # a named output plots its scenarios too
        from learning_sim.plots import regret_curves

        for scenario, result in suite.items():
            print(f"wrote {regret_curves(result, RESULTS / f'learning_{scenario}.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
