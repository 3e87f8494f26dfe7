"""``toolwise`` on the command line: what tools were called, which fail, which are slow or cost.

    toolwise summary --agent devops            # per-tool success, latency p50/p95, cost
    toolwise calls --agent devops --tool ansible_run --failures --limit 20
    toolwise forget --agent devops --tool ansible_run --yes
    toolwise priors --agent devops             # learnt reliability per tool and context
    toolwise priors --agent devops --as-of 2026-02-27T17:00   # a simulation, at its own time
    toolwise audit --agent devops              # what self-improvement changed, and why
    toolwise spool                             # records waiting on disk for the store
    toolwise evaluate --agent devops --strategy greedy   # off-policy: how another would have done
    toolwise serve --port 8765                 # the HTTP API and dashboard (server extra)
    toolwise keys create --agent devops        # an API key for the HTTP API

``--path`` (embedded store, default ``$TOOLWISE_PATH`` or ``./.toolwise``) or ``--url`` (a
``chroma run`` server) chooses the store; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from toolwise._cli_tables import PRIOR_HEADER, call_row, format_summary, prior_rows, table
from toolwise._facade import Toolwise
from toolwise.errors import ToolwiseError
from toolwise.models import ToolOutcome, check_agent_id
from toolwise.service import cli as service_cli

__all__ = ["format_summary", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument(
        "--path", help="embedded store directory (default $TOOLWISE_PATH or ./.toolwise)"
    )
    where.add_argument("--url", help="a chroma server, e.g. http://127.0.0.1:8000")
    common.add_argument("--agent", default="default", help="agent id (namespace)")
    common.add_argument("--json", action="store_true", help="print JSON")

    parser: argparse.ArgumentParser = _Parser(prog="toolwise", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    calls = commands.add_parser("calls", parents=[common], help="list recorded calls")
    calls.add_argument("--tool")
    calls.add_argument("--session")
    calls.add_argument("--task-type")
    calls.add_argument("--environment")
    calls.add_argument("--success-only", action="store_true")
    calls.add_argument("--failures", action="store_true", help="only failed calls")
    calls.add_argument("--since", type=_parse_time, help="ISO date or time, UTC")
    calls.add_argument("--limit", type=int, default=50)
    calls.add_argument("--offset", type=int, default=0)

    summary = commands.add_parser("summary", parents=[common], help="per-tool usage summary")
    summary.add_argument("--all-agents", action="store_true")
    summary.add_argument("--since", type=_parse_time)

    forget = commands.add_parser("forget", parents=[common], help="delete records")
    target = forget.add_mutually_exclusive_group(required=True)
    target.add_argument("--tool", help="retire a tool: delete all its records")
    target.add_argument("--ids", help="comma-separated record ids")
    target.add_argument("--everything", action="store_true", help="all of the agent's records")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    audit = commands.add_parser("audit", parents=[common], help="self-improvement changes")
    audit.add_argument("--all-agents", action="store_true")
    audit.add_argument("--since", type=_parse_time, help="ISO date or time, UTC")
    audit.add_argument("--limit", type=int, default=50)

    spool = commands.add_parser(
        "spool", help="records waiting on local disk for the store (read-only)"
    )
    spool.add_argument("--path", help="embedded store directory (default ./.toolwise)")
    spool.add_argument("--spool-dir", help="the spool itself, if not <path>/spool")
    spool.add_argument("--json", action="store_true", help="print JSON")

    priors = commands.add_parser("priors", parents=[common], help="learnt reliability")
    priors.add_argument("--tool")
    priors.add_argument("--task-type", "--context", dest="context", help="task type")
    priors.add_argument("--environment")
    priors.add_argument(
        "--as-of",
        type=_parse_time,
        help="evaluate at this ISO time, UTC (time buckets, TTL, opt-in half-life; default now)",
    )
    commands.add_parser(
        "rebuild",
        parents=[common],
        help="relearn the view from every record and store a fresh snapshot of it",
    )
    evaluate = commands.add_parser(
        "evaluate",
        parents=[common],
        help="estimate another strategy or config on the logged decisions (off-policy)",
    )
    evaluate.add_argument(
        "--strategy", default="thompson", choices=["thompson", "ucb", "epsilon_greedy", "greedy"]
    )
    evaluate.add_argument(
        "--config", metavar="JSON", help="LearningConfig fields, e.g. '{\"epsilon\": 0.05}'"
    )
    evaluate.add_argument("--task-type", help="only this task type's decisions")
    evaluate.add_argument("--seed", type=int, default=0)
    service_cli.add_commands(commands)
    return parser


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date or time: {text!r} (e.g. 2026-02-27 or 2026-02-27T17:00)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 refused, 2 bad input or store)."""
    args = _parser().parse_args(argv)
    if args.command == "spool":  # read-only: opening a Toolwise would adopt what it lists
        return _spool(args)
    if args.command in service_cli.COMMANDS:
        return service_cli.run(args)
    try:
        missing = _no_store(args)
        if missing:
            print(f"toolwise: {missing}", file=sys.stderr)
            return 2
        with _open(args) as tw:
            unknown = _unknown_agent(tw, args)
            if unknown:
                print(f"toolwise: {unknown}", file=sys.stderr)
                return 2
            return _COMMANDS[args.command](tw, args)
    except (ToolwiseError, OSError) as exc:
        print(f"toolwise: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


def _no_store(args: argparse.Namespace) -> str | None:
    """Why an embedded ``--path`` cannot be read (every command here reads first), or None.

    Reading never creates a store: a directory without one is reported, not initialised.
    """
    if args.url:
        return None
    from toolwise.storage.clients import default_root

    root = Path(args.path) if args.path else default_root()
    if root.exists() and not root.is_dir():
        return f"--path {root}: not a directory"
    if not (root / "chroma").is_dir():
        hint = "" if args.path else " (--path, or set $TOOLWISE_PATH)"
        return f"no toolwise store at {root}{hint}: nothing recorded there yet"
    return None


def _unknown_agent(tw: Toolwise, args: argparse.Namespace) -> str | None:
    """An agent the store has never seen, with the ones it has (a typo, or the wrong store)."""
    if getattr(args, "all_agents", False) or args.command == "rebuild":  # every agent's
        return None
    check_agent_id(args.agent)  # a malformed id is named as such, not as an unknown one
    known = tw.runtime.calls.agents()
    if args.agent in known:
        return None
    listed = ", ".join(sorted(known)) if known else "none yet"
    return f"no agent {args.agent!r} in this store; its agents: {listed}"


def _open(args: argparse.Namespace) -> Toolwise:
    as_of: datetime | None = getattr(args, "as_of", None)
    clock = None if as_of is None else (lambda: as_of)
    if args.url:
        return Toolwise(url=args.url, path=None, clock=clock)
    return Toolwise(args.path, clock=clock)


def _calls(tw: Toolwise, args: argparse.Namespace) -> int:
    records = tw.list_calls(
        args.agent,
        tool=args.tool,
        session_id=args.session,
        task_type=args.task_type,
        environment=args.environment,
        success_only=args.success_only,
        since=args.since,
        limit=args.limit,
        offset=args.offset,
    )
    if args.failures:
        records = [r for r in records if r.outcome == "failure"]
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return 0
    print(
        table(
            ["time (UTC)", "tool", "outcome", "latency", "task type", "error"],
            [call_row(r) for r in records],
        )
    )
    return 0


def _summary(tw: Toolwise, args: argparse.Namespace) -> int:
    summary = tw.summary(None if args.all_agents else args.agent, since=args.since)
    if args.json:
        print(summary.model_dump_json(indent=2))
        return 0
    print(format_summary(summary))
    return 0


def _forget(tw: Toolwise, args: argparse.Namespace) -> int:
    what = (
        f"all records of tool {args.tool!r}"
        if args.tool
        else ("the listed records" if args.ids else "every record")
    )
    ids = None if args.ids is None else [i.strip() for i in args.ids.split(",") if i.strip()]
    if ids is not None and not ids:
        print("toolwise: --ids: no record id given (use --everything for all)", file=sys.stderr)
        return 2
    if not args.yes:
        if not sys.stdin.isatty():
            print("toolwise: forget asks before deleting: pass --yes (no terminal to ask)",
                  file=sys.stderr)  # fmt: skip
            return 2
        try:
            answer = input(f"Delete {what} of agent {args.agent!r}? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    removed = tw.forget(args.agent, tool=args.tool, ids=ids)
    print(json.dumps({"deleted": removed}) if args.json else f"deleted {removed} record(s)")
    return 0


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


_STALE_AFTER = timedelta(days=1)


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


def _spool(args: argparse.Namespace) -> int:
    from toolwise.storage.clients import default_root
    from toolwise.storage.spool import inspect_spool

    root = Path(args.spool_dir) if args.spool_dir else Path(args.path or default_root()) / "spool"
    directories, rejected = inspect_spool(root)
    waiting = sum(d.records or 0 for d in directories if d.state != "running")
    if args.json:
        listed = [
            {"directory": d.name, "state": d.state, "records": d.records} for d in directories
        ]
        print(json.dumps({"spool": str(root), "directories": listed, "rejected": rejected}))
        return 0
    print(f"spool {root}: {waiting} record(s) left by processes that ended, {rejected} rejected")
    meaning = {
        "running": "a live process (its writer stores these)",
        "closed": "closed before the store took everything",
        "ended": "its process died without closing",
    }
    rows = [
        [d.name, d.state, "-" if d.records is None else str(d.records), meaning[d.state]]
        for d in directories
    ]
    print(table(["directory", "state", "records", "meaning"], rows) if rows else "(empty)")
    if waiting:
        print("a toolwise process on this store stores them (a running one within ~10 s)")
    if rejected:
        print(f"refused records are kept in {root / 'rejected.jsonl'} with the reason")
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


_COMMANDS: dict[str, Callable[[Toolwise, argparse.Namespace], int]] = {
    "rebuild": _rebuild,
    "evaluate": _evaluate,
    "calls": _calls,
    "summary": _summary,
    "forget": _forget,
    "priors": _priors,
    "audit": _audit,
}

if __name__ == "__main__":
    raise SystemExit(main())
