"""``toolwise serve`` and ``toolwise keys``: run the HTTP service and manage its API keys.

    toolwise keys create --agent devops              # prints the key once
    toolwise keys create --agent devops --read-only
    toolwise keys create --admin
    toolwise keys list
    toolwise keys revoke 3f9c0a1b2d4e
    toolwise serve --path ./.toolwise --host 127.0.0.1 --port 8765
    toolwise serve --url http://127.0.0.1:8000 --host 0.0.0.0   # needs a key first

Keys live in ``<path>/keys.json`` (``--keys FILE`` to choose). Without a key the server
refuses to listen beyond loopback. This module imports the server's dependencies only when
``serve`` runs, so the rest of the CLI works without the ``server`` extra.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

    from toolwise._settings import Settings
    from toolwise.service.keys import KeyRing
    from toolwise.storage.chroma_process import ChromaChild

__all__ = ["COMMANDS", "SERVE_BATCH", "add_commands", "run", "write_options"]

from toolwise.advice.fields import SERVER_RECALL_BUDGET

COMMANDS = frozenset({"serve", "keys"})
DEFAULT_PORT = 8765
STORE_NICE = 10
"""The chroma child's CPU priority offset: requests first, indexing in the time they leave.

The spool absorbs what Chroma has not indexed yet, so a client never waits for it; a loop
that waits for a core while Chroma indexes a batch is the tail left once the store is out
of the serving process (``benchmarks/http_service.py --probe``: run-queue time of the
loop's long lags). Short paired runs at 500 calls/s on a loaded machine (load average ~10)
gave client p99s of 137 and 85 ms at 10 against 145 and 337 ms at 0, draining as fast."""
SERVE_BATCH = 1_000
"""Records per store write of ``serve`` to a server: half a library writer's
(:data:`~toolwise._write_path.REMOTE_BATCH`). The writer encodes a batch holding the GIL
that the event loop needs: at 1,000 calls/s open loop, batches of 2,000 put POST calls' p99
at 31-107 ms, batches of 1,000 at 21-34 ms (benchmarks/results/http_batch2000.json,
http_batch1000.json and that window's http.json, ``git show 8eb59b3:benchmarks/results/http.json``).
A service answers requests first; a
fleet of library writers keeps the larger batch (benchmarks/scale.py)."""
KEEP_ALIVE = 75
"""Seconds an idle keep-alive connection stays open (uvicorn's default is 5).

An agent's model turn often lasts longer than 5 s, so its next call would open a new
connection; and client pools expire idle connections at about the same 5 s (httpx), so a
server close could cross a request the client had just sent on it (docs/http.md, *why a
connection was reset*). Longer than client pools keep idle connections, the client closes
first; 75 s is what nginx uses and outlasts the 60 s idle timeout of common load balancers."""
SWITCH_INTERVAL = 0.001
"""Seconds a thread may keep the GIL while another waits for it (Python's default: 0.005).

The event loop needs the GIL several times per request; while a background thread runs
Python (the view learning a second's records, the writer building a batch) each time costs
the loop up to one interval. Measured with ``benchmarks/http_service.py --probe``: loop
stalls overlapping that work were 10-24 ms blocked on the GIL at the default."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve`` and ``keys`` on the main parser's subcommands."""
    serve = commands.add_parser("serve", help="run the HTTP API and dashboard")
    where = serve.add_mutually_exclusive_group()
    where.add_argument(
        "--path",
        help="store directory (default ./.toolwise); its Chroma runs in a `chroma run` child "
        "process that serve starts, supervises and stops",
    )
    where.add_argument("--url", help="a chroma server, e.g. http://127.0.0.1:8000")
    serve.add_argument(
        "--in-process-store",
        action="store_true",
        help="open --path's Chroma in this process instead of a child (no second process, "
        "but each store write pauses request handling while Chroma holds the interpreter)",
    )
    serve.add_argument(
        "--store-nice",
        type=int_within(0, 19),
        default=STORE_NICE,
        help=f"CPU priority offset of the chroma child (0-19, default {STORE_NICE}): its "
        "indexing waits for cores the requests leave idle; 0 to share them equally",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, help="1-65535")
    serve.add_argument("--keys", help="API key file (default <path>/keys.json)")
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=1_048_576,
        help="larger request bodies are refused with 413 (1 KiB to 64 MiB)",
    )
    serve.add_argument(
        "--batch-size",
        type=int_within(1, None),
        default=None,
        help=f"records per store write (default {SERVE_BATCH:,} to a server or the store "
        "child, 500 in process); smaller writes pause request handling for less time",
    )
    serve.add_argument(
        "--recall-budget",
        type=_seconds_or_none,
        default=SERVER_RECALL_BUDGET,
        help=f"the most seconds a brief waits for the store's recall of similar failures "
        f"(default {SERVER_RECALL_BUDGET}); past it the brief goes without it and the next has it; "
        "'none' waits up to the store's deadline",
    )
    serve.add_argument(
        "--recall-index",
        action="store_true",
        help="briefs recall from an in-process index of each agent's failures, loaded once "
        "per agent and task type (off by default: docs/http.md)",
    )
    serve.add_argument(
        "--keep-alive",
        type=_keep_alive_seconds,
        default=KEEP_ALIVE,
        help=f"seconds an idle connection stays open (default {KEEP_ALIVE}, 1-3600)",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])

    keys = commands.add_parser("keys", help="API keys of the HTTP service")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--path", help="store directory whose keys.json to use")
    common.add_argument("--keys", help="the key file itself")
    common.add_argument("--json", action="store_true", help="print JSON")
    create = actions.add_parser("create", parents=[common], help="create a key (shown once)")
    create.add_argument("--agent", action="append", default=[], help="agent id (repeatable)")
    create.add_argument("--admin", action="store_true", help="a key for every agent")
    create.add_argument("--read-only", action="store_true", help="may read, not record")
    create.add_argument("--label", default="", help="a note on who holds it")
    actions.add_parser("list", parents=[common], help="list keys (never their secrets)")
    revoke = actions.add_parser("revoke", parents=[common], help="revoke a key by id")
    revoke.add_argument("key_id")


def write_options(batch_size: int | None, url: str | None) -> Settings:
    """The runtime's write settings for ``serve``: to a server (or the store child) in
    batches of :data:`SERVE_BATCH` unless ``--batch-size`` says otherwise."""
    options: Settings = {}
    if batch_size is not None:
        options["batch_size"] = batch_size
    elif url:
        options["batch_size"] = SERVE_BATCH
    if url:
        options["url"] = url
    return options


def _key_file(args: argparse.Namespace) -> Path:
    if args.keys:
        return Path(args.keys)
    from toolwise.storage.clients import default_root

    return Path(args.path or default_root()) / "keys.json"


def run(args: argparse.Namespace) -> int:
    """Run ``serve`` or ``keys``; the exit code (0 ok, 2 bad input or a missing extra)."""
    from toolwise.errors import ToolwiseError

    try:
        if args.command == "keys":
            return _keys(args)
        return _serve(args)
    except (ToolwiseError, ValueError, OSError) as exc:
        print(f"toolwise: {exc}", file=sys.stderr)
        return 2


def _keys(args: argparse.Namespace) -> int:
    from toolwise.service.keys import KeyRing

    ring = KeyRing(_key_file(args))
    if args.keys_command == "create":
        key, token = ring.create(
            args.agent, admin=args.admin, read_only=args.read_only, label=args.label
        )
        if args.json:
            print(json.dumps({**key.describe(), "key": token}))
        else:
            scope = "every agent" if key.admin else ", ".join(key.agents)
            mode = "read-only" if key.read_only else "read-write"
            print(f"key {key.id} ({mode}, {scope}), stored hashed in {ring.path}:")
            print(token)
            print("Shown once: keep it secret. Send it as 'Authorization: Bearer <key>'.")
        return 0
    if args.keys_command == "list":
        return _list(ring, as_json=args.json)
    revoked = ring.revoke(args.key_id)
    print(json.dumps(revoked.describe()) if args.json else f"revoked key {revoked.id}")
    return 0


def _list(ring: KeyRing, *, as_json: bool) -> int:
    from toolwise.errors import ToolwiseError

    if ring.problem:  # not "no keys": the server refuses everyone, on any address
        raise ToolwiseError(ring.problem)
    keys = ring.keys()
    if as_json:
        print(json.dumps([k.describe() for k in keys], indent=2))
        return 0
    if not keys:
        print(f"no keys in {ring.path}: the server listens on loopback only")
        return 0
    for key in keys:
        scope = "admin" if key.admin else ",".join(key.agents)
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        mode = "read-only" if key.read_only else "read-write"
        label = f"  {key.label}" if key.label else ""
        print(f"{key.id}  {scope}  {mode}  {state}  created {key.created_at:%Y-%m-%d}{label}")
    return 0


def int_within(low: int, high: int | None, *, expected: str = "") -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high`` (no upper bound when None),
    refused in one line before anything opens (``--batch-size 0`` was refused only after the
    store's child process had started). ``expected`` words the refusal."""
    if not expected:
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        expected = f"an integer {bounds}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low or (high is not None and value > high):
            msg = f"expected {expected}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


# ``--port``: checked here, as the server bound ``70000`` as port 4464 while printing 70000,
# and ``0`` as a random port while printing 0.
_port = int_within(1, 65_535, expected="a TCP port from 1 to 65535")
_keep_alive_seconds = int_within(1, 3_600, expected="whole seconds from 1 to 3600")


def _seconds_or_none(text: str) -> float | None:
    """``--recall-budget``: seconds (finite, >= 0), or ``none``."""
    if text.strip().lower() == "none":
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0.0 <= seconds < float("inf"):
        msg = f"expected seconds >= 0 or 'none', got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
        from pydantic import ValidationError

        from toolwise.errors import InvalidArgumentError
        from toolwise.service.access_log import hide_query_values
        from toolwise.service.adapter import ToolwiseBackend
        from toolwise.service.app import create_app, warm_up
        from toolwise.service.auth import check_bind
        from toolwise.service.keys import KeyRing
        from toolwise.service.state import ServiceConfig
    except ImportError as exc:
        print(
            f"toolwise serve needs the server extra ({exc.name} is missing): "
            "pip install 'toolwise[server]'",
            file=sys.stderr,
        )
        return 2
    from toolwise._runtime import Runtime  # the composition root

    keys = KeyRing(_key_file(args))
    check_bind(args.host, keys)  # before anything opens the store
    try:
        config = ServiceConfig(
            max_body_bytes=args.max_body_bytes,
            recall_budget=args.recall_budget,
            recall_index=args.recall_index,
        )
    except ValidationError as exc:  # one line naming the option, not pydantic's four
        first = exc.errors()[0]
        option = "--" + str(first["loc"][0]).replace("_", "-")
        raise InvalidArgumentError(option, first.get("input"), first["msg"]) from None
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if args.log_level != "debug":  # a line per store call otherwise
        logging.getLogger("httpx").setLevel(logging.WARNING)
    child = _store_child(args)
    url = args.url or (child.url if child is not None else None)
    options = write_options(args.batch_size, url)
    try:
        runtime = Runtime(None if args.url else args.path, **options)
        runtime.warm_up()  # learn from the store now, not on the first brief
        _ = runtime.improver  # its lessons feed every brief; building it imports langchain-core
        backend = ToolwiseBackend(runtime, on_close=None if child is None else child.stop)
        app = create_app(backend, keys=keys, config=config, close_backend=True)
        warm_up(app)
    except BaseException:
        if child is not None:
            child.stop()
        raise
    # What start-up built lives as long as the process: moved out of the collector's view,
    # a full collection no longer walks it, so the pauses in the latency tail are shorter.
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL)
    server_config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        http=_http_protocol(),
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        server_header=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=args.keep_alive,
        backlog=4_096,  # 32+ clients connecting at once must not overflow the accept queue
    )
    hide_query_values()  # at any level: after the Config, which configures uvicorn's loggers
    server = uvicorn.Server(server_config)
    mode = "with API keys" if keys.configured else "without keys (loopback only)"
    if child is not None:
        mode += f", store in chroma child pid {child.pid} at {child.url}"
    print(
        f"toolwise serve: http://{args.host}:{args.port}/ {mode}, pid {os.getpid()}",
        file=sys.stderr,
        flush=True,
    )
    server.run()
    return 0


def _http_protocol() -> type[asyncio.Protocol] | str:
    """httptools with one socket write per response (:mod:`toolwise.service.one_write`), or
    uvicorn's choice when httptools is not installed."""
    try:
        from toolwise.service.one_write import OneWriteProtocol
    except ImportError:
        return "auto"
    return OneWriteProtocol


def _store_child(args: argparse.Namespace) -> ChromaChild | None:
    """For ``--path`` (unless ``--in-process-store``): its Chroma started in a child process.

    Stopped by the app's shutdown once the spool is drained into it (the backend's
    ``on_close``), at exit if start-up fails, and by the kernel if this process dies
    (:mod:`toolwise.storage.chroma_process`).
    """
    if args.url or args.in_process_store:
        return None
    from toolwise.storage.chroma_process import ChromaChild
    from toolwise.storage.clients import default_root

    child = ChromaChild(Path(args.path or default_root()), nice=args.store_nice)
    atexit.register(child.stop)
    child.start()
    return child
