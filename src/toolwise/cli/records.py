"""The record-log commands of ``toolwise`` — ``calls``, ``summary``, ``forget``, ``spool`` —
apart from the parser and from the commands that read what the records taught.

Each handler takes the open :class:`~toolwise.Toolwise` and the parsed arguments, prints, and
returns the exit code (0 ok, 1 refused, 2 bad input); ``spool`` reads the spool directory
without opening a store, so it never adopts what it lists.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from toolwise.cli.tables import call_row, format_summary, table

if TYPE_CHECKING:
    from toolwise._facade import Toolwise

__all__ = ["COMMANDS", "spool"]


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
    wait = {} if args.timeout is None else {"timeout": args.timeout}
    removed = tw.forget(args.agent, tool=args.tool, ids=ids, **wait)
    print(json.dumps({"deleted": removed}) if args.json else f"deleted {removed} record(s)")
    return 0


def spool(args: argparse.Namespace) -> int:
    """``toolwise spool``: the records waiting on local disk for the store (read-only)."""
    from toolwise.storage.clients import default_root
    from toolwise.storage.spool import inspect_spool

    root = Path(args.spool_dir) if args.spool_dir else Path(args.path or default_root()) / "spool"
    missing = _no_spool(root, store=None if args.spool_dir else root.parent)
    if missing:
        print(f"toolwise: {missing}", file=sys.stderr)
        return 2
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


def _no_spool(root: Path, *, store: Path | None) -> str | None:
    """Why ``root`` (under the ``store`` directory, or given itself) holds no spool to read,
    or None: a mistyped path must not read as "(empty)", nothing waiting."""
    for where in (store, root):
        if where is not None and where.exists() and not where.is_dir():
            return f"{where}: not a directory"
    if store is not None and not store.exists():
        return f"no toolwise store at {store}: nothing recorded there yet"
    if store is None and not root.exists():
        return f"no spool at {root}"
    return None


COMMANDS: dict[str, Callable[[Toolwise, argparse.Namespace], int]] = {
    "calls": _calls,
    "summary": _summary,
    "forget": _forget,
}
"""The commands that read or delete recorded calls, by name (``spool`` opens no store)."""
