"""What sandboxed code tries: one function per escape, run in the sandbox by the tests.

Only the standard library here: the sandboxed child imports this module (functions travel
by reference), so it must stay cheap to import and must not need toolwise. Each function
attempts the escape and returns what happened, as JSON, so the test can assert from both
sides (what the child saw, and that nothing changed outside).
"""

from __future__ import annotations

import fcntl
import os
import pickle
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any


def _attempt(action: Any) -> str:
    """``"ok"`` or the exception's type and message."""
    try:
        action()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


class Evil:
    """Unpickling this runs ``marker.touch()`` — in whichever process unpickles it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Path.touch, (Path(self.marker),))


def _report_fds() -> list[int]:
    """Every descriptor this process may write to: the report channel is among them."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if flags & (os.O_WRONLY | os.O_RDWR):
            found.append(fd)
    return found


def send_pickle_instead_of_json(marker: str) -> None:
    """Write a code-bearing pickle where the report goes, then leave without reporting."""
    data = pickle.dumps({"ok": True, "value": Evil(marker), "violations": ()})
    framed = len(data).to_bytes(8, "big") + data
    for fd in _report_fds():
        os.write(fd, framed)
    os._exit(0)


def forge_report(extra: dict[str, Any]) -> None:
    """Write a well-formed JSON report with extra fields (a forged success) and leave."""
    import json

    data = json.dumps({"ok": True, "value": "all good", **extra}).encode()
    for fd in _report_fds():
        os.write(fd, len(data).to_bytes(8, "big") + data)
    os._exit(0)


def switch_policy_off(target: str) -> dict[str, str]:
    """Import toolwise's sandbox policy to turn writes on, then write."""
    result = {}
    try:
        from toolwise.improve.sandbox import default_sandbox

        default_sandbox()
        result["toolwise"] = "usable"
    except Exception as exc:
        result["toolwise"] = f"{type(exc).__name__}: {exc}"
    result["write"] = _attempt(lambda: Path(target).write_text("owned"))
    return result


def start_a_shell(target: str) -> dict[str, Any]:
    """Start ``/bin/sh`` (``subprocess`` uses ``_posixsubprocess.fork_exec``) to write a file."""
    done = subprocess.run(
        ["/bin/sh", "-c", f"echo owned > {target}; env"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {"status": done.returncode, "env": done.stdout.splitlines(), "err": done.stderr}


def signal_the_agent(agent_pid: int) -> dict[str, Any]:
    """Kill the parent (``os.getppid()``) and probe the agent's real pid."""
    parent = os.getppid()
    return {
        "parent": parent,
        "kill_parent": _attempt(lambda: os.kill(parent, signal.SIGKILL)),
        "probe_agent": _attempt(lambda: os.kill(agent_pid, 0)),
        "agent_environ": _attempt(lambda: Path(f"/proc/{agent_pid}/environ").read_bytes()),
    }


def forge_spool_records(spool_dir: str) -> dict[str, str]:
    """Write a fake spool directory of failure records, and build a Toolwise on that path."""
    forged = Path(spool_dir) / "forged-999999"

    def write() -> None:
        forged.mkdir(parents=True)
        (forged / "records.jsonl").write_text('{"tool": "kubectl_apply", "outcome": "failure"}\n')

    def build() -> None:
        from toolwise import Toolwise

        Toolwise(spool_dir=spool_dir)

    return {"write": _attempt(write), "toolwise": _attempt(build)}


def read_secrets(env_name: str, secret_file: str) -> dict[str, Any]:
    """Read an environment variable and a key file of the agent's."""
    home = Path.home()
    return {
        "env": os.environ.get(env_name),
        "environ": dict(os.environ),
        "file": _attempt(lambda: Path(secret_file).read_text()),
        "home": str(home),
        "home_entries": sorted(os.listdir(home)),
    }


def allocate(size: int) -> str:
    """Allocate ``size`` bytes."""
    return _attempt(lambda: bytearray(size))


def fork_until_refused(limit: int) -> dict[str, Any]:
    """Fork children that sleep, until the kernel refuses (or ``limit`` is reached)."""
    started = 0
    refused = ""
    while started < limit:
        try:
            pid = os.fork()
        except OSError as exc:
            refused = f"{type(exc).__name__}: {exc}"
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        started += 1
    return {"started": started, "refused": refused}


def open_descriptors() -> list[str]:
    """What this process's descriptors point to (sockets show as ``socket:[…]``)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:
            continue  # the directory listing's own descriptor, closed by now
    return sorted(found)


def connect(host: str, port: int) -> str:
    """Open a TCP connection."""
    return _attempt(lambda: socket.create_connection((host, port), timeout=2).close())


def resolve(name: str) -> str:
    """Look a host name up."""
    return _attempt(lambda: socket.getaddrinfo(name, 443))


def leave_a_grandchild(lock_path: str, *, then_hang: bool) -> str:
    """Start a grandchild in its own session that holds ``lock_path`` locked for a minute;
    return (or hang) once it holds the lock."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            time.sleep(60)
        os._exit(0)
    while True:  # until the grandchild holds the lock (a failing non-blocking try)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            break
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        time.sleep(0.01)
    if then_hang:
        time.sleep(60)
    return "grandchild holds the lock"


def write_file(path: str, size: int = 5) -> str:
    """Write ``size`` bytes to ``path``."""
    return _attempt(lambda: Path(path).write_bytes(b"x" * size))


def fail() -> None:
    """Raise."""
    msg = "kubectl: connection refused"
    raise ConnectionError(msg)


def hang() -> None:
    """Never return."""
    time.sleep(600)


def not_json() -> object:
    """Return something JSON cannot carry."""
    return {1, 2}


def big(size: int) -> str:
    """Return ``size`` characters."""
    return "x" * size


def identity() -> dict[str, Any]:
    """Who and where the child is."""
    status = Path("/proc/self/status").read_text().splitlines()
    return {
        "uid": os.getuid(),
        "cwd": os.getcwd(),
        "no_new_privs": [line for line in status if line.startswith("NoNewPrivs")],
        "cap_eff": [line for line in status if line.startswith("CapEff")],
    }


def spin() -> None:
    """Burn CPU forever."""
    while True:
        pass
