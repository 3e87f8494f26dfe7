"""How old is the oldest call a SIGKILL loses, under load, with deferred durability?

    python benchmarks/kill_under_load.py [--kills 5] [--run 4.0]

A child process calls a ``@tool`` through toolwise's callback handler as fast as it can, with
``durability="deferred"`` (the default): every call returns a ~10 KB log full of secrets —
JWTs, passwords in connection URLs, Stripe ``sk_live_`` keys — that the redactor has to
scrub, so building records is far slower than making calls and the hand-off thread falls
behind. After each call returns, the child appends ``<call number> <monotonic time>`` to a
side file with one ``write(2)`` (in the kernel once written, so it survives the SIGKILL). The
parent kills the child ``--run`` seconds (varied per kill) after its first call, opens a new
``Toolwise`` on the same path — which replays the dead process's spool — and compares: a
call the child saw return but the store does not hold is lost, and its age is the time from
its return to the kill. Every raw file under the store path is also searched for the
secrets' tag. Prints a table, writes ``benchmarks/results/kill_under_load.json``.

``tests/storage/test_kill_under_load.py`` runs the same child once and asserts that nothing
older than the hand-off bound (plus a margin) is lost and that no secret reached disk.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

AGENT = "load"
LEAK_TAG = "L3AKxQ9v"
"""In the random core of every secret the child's tool returns: found on disk means leaked."""
OUTPUT_LINES = 40  # x ~250 characters: a ~10 KB tool output
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _core(call: int, kind: str, size: int) -> str:
    """A secret's random part, different for every call (no cache can skip the work)."""
    digest = hashlib.sha256(f"{kind}:{call}".encode()).digest()
    body = "".join(_ALNUM[b % len(_ALNUM)] for b in digest * 2)
    return (LEAK_TAG + body)[:size]


def secret_output(call: int) -> str:
    """A ~10 KB deployment log of call ``call``, each line carrying three secrets."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ" + _core(call, "jwt", 40) + "." + _core(call, "sig", 43)
    password = _core(call, "pw", 16)
    stripe = "sk_live_" + _core(call, "stripe", 24)
    return "\n".join(
        f"2026-01-05T10:{n % 60:02d}:00Z INFO pod web-{n} ready; auth token={jwt} "
        f"db=postgresql://deploy:{password}@db.internal:5432/orders billing={stripe} "
        f"latency={n * 7 % 300}ms status=200"
        for n in range(OUTPUT_LINES)
    )


def child(root: Path, acks: Path) -> None:
    """Call the tool forever; after each call returns, note its number and the time."""
    from langchain_core.tools import tool

    from toolwise import Toolwise

    @tool
    def fetch_logs(call: int) -> str:
        """Fetch the deployment log of one rollout."""
        return secret_output(call)

    tw = Toolwise(root, durability="deferred")
    handler = tw.callback(agent_id=AGENT, task_type="rollout")
    fd = os.open(acks, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    call = 0
    while True:
        fetch_logs.invoke({"call": call}, config={"callbacks": [handler]})
        os.write(fd, f"{call} {time.monotonic()}\n".encode())
        call += 1


@dataclass(frozen=True)
class Kill:
    """One killed child: when it was killed, and when each call it saw return returned."""

    killed_at: float  # monotonic seconds (CLOCK_MONOTONIC: shared by every process)
    returned: dict[int, float]  # call number -> monotonic time it returned

    def lost(self, recovered: set[int]) -> dict[int, float]:
        """Calls that returned but were not recovered, with their age at the kill (s)."""
        return {c: self.killed_at - t for c, t in self.returned.items() if c not in recovered}


def _acknowledged(acks: Path) -> dict[int, float]:
    """The side file's complete lines (a line cut by the kill was never written whole)."""
    returned: dict[int, float] = {}
    for line in acks.read_bytes().split(b"\n")[:-1]:
        call, moment = line.split()
        returned[int(call)] = float(moment)
    return returned


def _first_ack_time(acks: Path) -> float | None:
    try:
        with acks.open("rb") as handle:
            line = handle.readline()
    except FileNotFoundError:
        return None
    return float(line.split()[1]) if line.endswith(b"\n") else None


def run_and_kill(root: Path, acks: Path, run: float, *, stderr: Path) -> Kill:
    """Start the child, SIGKILL it ``run`` seconds after its first call returned."""
    with stderr.open("wb") as errors:
        process = subprocess.Popen(  # the same interpreter and venv
            [sys.executable, __file__, "--child", str(root), str(acks)], stderr=errors
        )
    try:
        deadline = time.monotonic() + 120.0  # start-up (imports, Chroma) on a busy machine
        while (first := _first_ack_time(acks)) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the child did not start: {stderr.read_text()[-2_000:]}")
            time.sleep(0.05)
        time.sleep(max(0.0, first + run - time.monotonic()))
        killed_at = time.monotonic()
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    return Kill(killed_at, _acknowledged(acks))


def recovered(root: Path) -> set[int]:
    """The calls a new process on ``root`` holds once it has replayed the dead one's spool."""
    import json

    from toolwise import Toolwise

    with Toolwise(root) as tw:
        if not tw.flush(timeout=120):
            raise RuntimeError("the replayed records were not stored within 120 s")
        calls = []
        while page := tw.list_calls(AGENT, limit=1_000, offset=len(calls)):
            calls.extend(page)
    return {int(json.loads(c.tool_input)["call"]) for c in calls}


def leaked(root: Path) -> list[Path]:
    """Files under ``root`` that hold any of the child's secrets (by their tag)."""
    tag = LEAK_TAG.encode()
    return [p for p in sorted(root.rglob("*")) if p.is_file() and tag in p.read_bytes()]


def main() -> None:
    from _common import table, write_json

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--run", type=float, default=4.0, help="seconds before the first kill")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]  # this shares the cores with whatever else runs: say so
    rows = []
    for n in range(args.kills):
        run = args.run + n * 0.7  # kill at different points of the hand-off's cycle
        work = Path(tempfile.mkdtemp(prefix="tw-kill-"))
        kill = run_and_kill(work / "store", work / "acks", run, stderr=work / "stderr")
        lost = kill.lost(recovered(work / "store"))
        rows.append(
            {
                "run_s": run,
                "calls_returned": len(kill.returned),
                "calls_per_s": len(kill.returned) / run,
                "lost": len(lost),
                "oldest_lost_s": max(lost.values(), default=0.0),
                "files_with_secrets": len(leaked(work / "store")),
            }
        )
    header = list(rows[0])
    print(table(header, [[row[k] for k in header] for row in rows]))
    worst = max(row["oldest_lost_s"] for row in rows)
    load = (load_before, os.getloadavg()[0])
    print(f"\noldest call lost over {len(rows)} kills: {worst:.2f} s (hand-off bound: 1 s)")
    cores = os.cpu_count()
    print(f"load average (1 min) before / after: {load[0]:.1f} / {load[1]:.1f}, {cores} cores")
    path = write_json(
        "kill_under_load", {"kills": rows, "oldest_lost_s": worst, "load_average": load}
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
