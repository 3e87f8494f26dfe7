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

This module is the grammar (every command's options) and the dispatch: it opens the store
once and hands it to a command of :mod:`toolwise.cli.records` (the record log) or
:mod:`toolwise.cli.learning` (what the records taught); ``serve`` and ``keys`` are
:mod:`toolwise.service.cli`'s.
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from toolwise._facade import Toolwise
from toolwise.cli import learning as learning_cli
from toolwise.cli import records as records_cli
from toolwise.cli.logs import warnings_unless_failed
from toolwise.cli.tables import format_summary
from toolwise.errors import ToolwiseError
from toolwise.models import check_agent_id
from toolwise.service import cli as service_cli

__all__ = ["format_summary", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    store = argparse.ArgumentParser(add_help=False)  # the options of a store-wide command
    where = store.add_mutually_exclusive_group()
    where.add_argument(
        "--path", help="embedded store directory (default $TOOLWISE_PATH or ./.toolwise)"
    )
    where.add_argument("--url", help="a chroma server, e.g. http://127.0.0.1:8000")
    store.add_argument("--json", action="store_true", help="print JSON")
    common = argparse.ArgumentParser(add_help=False, parents=[store])
    common.add_argument("--agent", default="default", help="agent id (namespace)")

    parser: argparse.ArgumentParser = _Parser(prog="toolwise", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    calls = commands.add_parser("calls", parents=[common], help="list recorded calls")
    calls.add_argument("--tool", type=_name)
    calls.add_argument("--session", type=_name)
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
    target.add_argument("--tool", type=_name, help="retire a tool: delete all its records")
    target.add_argument("--ids", help="comma-separated record ids")
    target.add_argument("--everything", action="store_true", help="all of the agent's records")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wait this long for calls recorded before to be stored (default 30); if they "
        "cannot be, nothing is deleted",
    )

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
    priors.add_argument("--tool", type=_name)
    priors.add_argument("--task-type", "--context", dest="context", help="task type")
    priors.add_argument("--environment")
    priors.add_argument(
        "--as-of",
        type=_parse_time,
        help="evaluate at this ISO time, UTC (time buckets, TTL, opt-in half-life; default now)",
    )
    commands.add_parser(  # one view learns every agent: no --agent (it was taken and ignored)
        "rebuild",
        parents=[store],
        help="relearn the view from every agent's records and store a fresh snapshot of it",
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
    evaluate.add_argument(
        # Refused before the store opens: the view refused -1 only once a logged decision
        # was ranked, and not at all without one.
        "--seed",
        type=service_cli.int_within(0, None, expected="a non-negative integer"),
        default=0,
    )
    service_cli.add_commands(commands)
    return parser


def _name(text: str) -> str:
    """A tool or session name: a blank one matches nothing (and reads like a typo)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be blank")
    return text


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
    if args.command == "serve":  # a server logs as it goes (--log-level)
        return service_cli.run(args)
    return warnings_unless_failed(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    if args.command == "spool":  # read-only: opening a Toolwise would adopt what it lists
        return records_cli.spool(args)
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
        named = "--path" if args.path else "$TOOLWISE_PATH"
        return f"{named} {root}: not a directory"
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


_COMMANDS: dict[str, Callable[[Toolwise, argparse.Namespace], int]] = {
    **records_cli.COMMANDS,
    **learning_cli.COMMANDS,
}
