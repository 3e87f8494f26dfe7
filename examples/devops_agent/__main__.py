"""``python -m examples.devops_agent``: watch an agent learn which deploy tool works.

Runs simulated weeks of deploys through a real ``create_agent`` graph whose model is biased
towards ``ansible_run``; toolwise records every tool call and briefs the model before it
picks. Re-running continues from what was learnt (the store persists under ``--path``) and
extends the learning curve; ``--fresh`` starts over. ``--compare`` also runs the baselines
(no advice at all, and route) over the same weeks, and plots them beside the main run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from examples.devops_agent import history
from examples.devops_agent.report import compare, plot, table
from examples.devops_agent.run import AGENT_ID, run, run_baselines
from examples.devops_agent.world import DEPLOYS_PER_WEEK

from toolwise.cli import format_summary
from toolwise.storage.clients import default_root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m examples.devops_agent", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--weeks", type=int, default=6, help="simulated weeks to run")
    parser.add_argument(
        "--path",
        type=Path,
        default=default_root(),
        help="the store (default: $TOOLWISE_PATH, else ./.toolwise — where `toolwise` reads)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="forget what the example's agent learnt (only it)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-advice",
        action="store_true",
        help="record only, never brief the model: the baseline without learning",
    )
    parser.add_argument(
        "--mode",
        choices=("advise", "filter", "route"),
        default="advise",
        help="how the brief acts: the model decides, failing tools are hidden, or routed",
    )
    parser.add_argument(
        "--deploys-per-week", type=int, default=DEPLOYS_PER_WEEK, help="deploy requests a week"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run the no-advice and route baselines over the same weeks and plot them",
    )
    parser.add_argument("--png", type=Path, default=Path("devops_learning_curve.png"))
    args = parser.parse_args(argv)

    reports, _results, tw = run(
        weeks=args.weeks,
        path=args.path,
        seed=args.seed,
        fresh=args.fresh,
        deploys_per_week=args.deploys_per_week,
        advice=not args.no_advice,
        mode=args.mode,
    )
    main_arm = history.arm_name(advice=not args.no_advice, mode=args.mode)
    try:
        if args.compare:
            baselines = tuple(arm for arm in ("no-advice", "route") if arm != main_arm)
            run_baselines(
                path=args.path,
                arms=baselines,
                until_week=reports[-1].week + 1 if reports else 1,
                seed=args.seed,
                deploys_per_week=args.deploys_per_week,
            )
        learnt = history.load(args.path)
        print(table(reports))
        print()
        if len(learnt) > 1:
            print(compare(learnt))
            print()
        print(format_summary(tw.summary(AGENT_ID)))
        written = plot(learnt, args.png, main_arm=main_arm)
        if written:
            print(f"\nlearning curve: {written}")
        print(f"store: {args.path} (run again to continue learning; --fresh to start over)")
        where = "" if args.path == default_root() else f" --path {args.path}"
        print(f"what it learnt: toolwise priors{where} --agent {AGENT_ID}")
    finally:
        tw.close()


if __name__ == "__main__":
    main()
