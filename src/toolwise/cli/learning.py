"""The commands of ``toolwise`` that read what the records taught — ``priors``, ``evaluate``,
``rebuild``, ``audit`` — apart from the parser and from the record-log commands.

Each handler takes the open :class:`~toolwise.Toolwise` and the parsed arguments, prints, and
returns the exit code (0 ok, 2 bad input or a failed store).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from toolwise.cli.tables import PRIOR_HEADER, prior_rows, table
from toolwise.models import ToolOutcome

if TYPE_CHECKING:
    from toolwise._facade import Toolwise

__all__ = ["COMMANDS"]

_STALE_AFTER = timedelta(days=1)


def _priors(tw: Toolwise, args: argparse.Namespace) -> int:
    as_of = args.as_of if args.as_of is not None else _stale_store_time(tw, args.agent)
    priors = tw.priors(
        tool=args.tool,
        task_type=args.context,
        environment=args.environment,
        agent_id=args.agent,
        as_of=as_of,
    )
    if as_of is not None and args.as_of is None:
        print(
            f"evaluated as of {as_of:%Y-%m-%d %H:%M} UTC, the newest record's time "
            "(the store is old; --as-of chooses another time)",
            file=sys.stderr if args.json else sys.stdout,
        )
    if args.json:
        print(json.dumps([p.model_dump(mode="json") for p in priors], indent=2))
        return 0
    pools = {p.name: p.members for p in tw.summary(args.agent).pools} if priors else {}
    print(table(PRIOR_HEADER, prior_rows(priors, pools)))
    return 0


def _stale_store_time(tw: Toolwise, agent_id: str) -> datetime | None:
    """The newest record's time when it is older than a day (a simulation, or a store left
    alone): priors are then read at that time, not today."""
    newest = tw.list_calls(agent_id, limit=1)
    if not newest:
        return None
    when = newest[0].timestamp
    return when if tw.clock() - when > _STALE_AFTER else None


def _audit(tw: Toolwise, args: argparse.Namespace) -> int:
    from toolwise.improve import format_audit

    entries = tw.audit(None if args.all_agents else args.agent, limit=args.limit, since=args.since)
    if args.json:
        print(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
    else:
        print(format_audit(entries))
    return 0


def _rebuild(tw: Toolwise, args: argparse.Namespace) -> int:
    feed = tw.runtime.feed
    try:
        head = feed.rebuild()
    except Exception as exc:  # the store failed mid-way: no snapshot was written
        print(f"toolwise: rebuild failed: {exc}", file=sys.stderr)
        return 2
    result = {
        "records": feed.replayed,
        "snapshot": None if head is None else head.id,
        "watermark": None if head is None else head.watermark,
    }
    if args.json:
        print(json.dumps(result))
    elif head is None:
        print(f"relearnt {feed.replayed} record(s); this store keeps no snapshots")
    else:
        print(f"relearnt {feed.replayed} record(s); wrote snapshot {head.id}")
    return 0


def _evaluate(tw: Toolwise, args: argparse.Namespace) -> int:
    from toolwise.errors import InvalidArgumentError
    from toolwise.learning.config import LearningConfig
    from toolwise.learning.offpolicy import evaluate_policy

    try:
        fields = json.loads(args.config) if args.config else {}
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError("config", args.config, f"is not JSON: {exc}") from None
    if not isinstance(fields, dict):
        raise InvalidArgumentError("config", args.config, "must be a JSON object")
    config = LearningConfig(**fields)
    records: list[ToolOutcome] = []
    while True:
        page = tw.list_calls(args.agent, task_type=args.task_type, limit=1_000, offset=len(records))
        records.extend(page)
        if len(page) < 1_000:
            break
    estimate = evaluate_policy(records, strategy=args.strategy, config=config, seed=args.seed)
    if args.json:
        print(json.dumps(dataclasses.asdict(estimate), indent=2))
        return 0

    def value(point: float | None, ci: tuple[float, float] | None) -> str:
        if point is None:
            return "n/a"
        return f"{point:.3f}" + (f"  [{ci[0]:.3f}, {ci[1]:.3f}]" if ci is not None else "")

    print(f"off-policy estimate of '{args.strategy}' on {estimate.decisions} logged decisions")
    print(f"  logged policy (as run)   {value(estimate.logged, None)}")
    print(f"  self-normalised IPS      {value(estimate.snips, estimate.snips_ci)}")
    print(f"  doubly robust            {value(estimate.dr, estimate.dr_ci)}")
    print(f"  effective sample size    {estimate.ess:.1f}")
    for warning in estimate.warnings:
        print(f"warning: {warning}")
    return 0


COMMANDS: dict[str, Callable[[Toolwise, argparse.Namespace], int]] = {
    "priors": _priors,
    "evaluate": _evaluate,
    "rebuild": _rebuild,
    "audit": _audit,
}
"""The commands that read the learnt view and the self-improvement audit, by name."""
