"""Run a store directory's Chroma in a ``chroma run`` child process, and keep it running.

Embedded Chroma holds the interpreter (the GIL) for the whole of a batch write: a process
that serves requests stops answering for as long (81 ms for 50 records, ~0.35 s for 500).
:class:`ChromaChild` serves the same directory (``<path>/chroma``, the embedded layout, so the
Python API opens it as before once the child has stopped) from a child process on a free
loopback port; the parent talks to it as to any ``chroma run`` server (``url=``).

- **No orphans.** The child asks the kernel for SIGTERM when its parent dies (Linux's
  parent-death signal, set before Chroma starts; it checks the parent is still the one that
  started it), and runs in a session of its own, so a Ctrl-C in the terminal reaches only
  the parent, which drains its spool into the child before stopping it.
- **Supervised.** A thread waits on the child; if it dies, it is started again on the same
  port, with backoff (0.5 s doubling to 10 s). Meanwhile the parent's store calls fail, its
  breaker opens and records wait in the spool, as for any server outage.
- ``nice``: the child's CPU priority offset (0-19); on a machine whose cores the parent
  needs for answering requests, a higher value lets Chroma's indexing wait for idle time.
  Linux with autogroups (``/proc/sys/kernel/sched_autogroup_enabled``, on in most
  distributions) shares the cores between sessions first and weighs a thread's nice only
  against threads of its own session; the child's session is its own, so a plain
  ``nice()`` left it an equal share beside the parent. The child also sets its session's
  group that many steps below the parent's (``/proc/self/autogroup``; lowering a
  priority needs no privilege).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from toolwise.errors import InvalidArgumentError, StoreUnavailableError

__all__ = ["ChromaChild"]

log = logging.getLogger("toolwise.storage")

START_TIMEOUT = 120.0
"""Seconds a child may take to answer its heartbeat (a cold start is ~1-3 s)."""
STOP_TIMEOUT = 15.0
"""Seconds a stopping child gets after SIGTERM before SIGKILL (it stops in ~3 s)."""
_BACKOFF = (0.5, 10.0)

# Lowers this process's session group (Linux autogroups: see the module docstring) ``steps``
# below the one of ``parent`` ("/autogroup-N nice K"). Best effort: a kernel or container
# whose file is missing, empty, unreadable or read-only leaves the group as it is.
_LOWER_GROUP = """\
def lower_group(parent, own, steps):
    try:
        with open(parent) as group:
            words = group.read().split()
        if len(words) < 2 or words[-2] != "nice":
            return False
        below = min(int(words[-1]) + steps, 19)
        with open(own, "w") as group:
            group.write(str(below))
        return True
    except (OSError, ValueError):
        return False
"""

# Runs in the child: ``python -c _LAUNCH PARENT_PID NICE run --path ...``. Imports nothing of
# toolwise; Chroma's CLI is Rust, hosted by this interpreter.
_LAUNCH = f"""\
import os, signal, sys
if sys.platform == "linux":
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != int(sys.argv[1]):  # the parent died before the line above
        sys.exit(0)
{_LOWER_GROUP}
if int(sys.argv[2]):
    os.nice(int(sys.argv[2]))
    lower_group(f"/proc/{{sys.argv[1]}}/autogroup", "/proc/self/autogroup", int(sys.argv[2]))
from chromadb.cli.cli import app
sys.argv = ["chroma", *sys.argv[3:]]
app()
"""


class ChromaChild:
    """A ``chroma run`` child serving ``path`` on a free loopback port.

    Args:
        path: the store directory (Chroma's files are in ``path / "chroma"``, the child's
            output in ``path / "chroma-server.log"``).
        nice: CPU priority offset of the child, 0 (as the parent) to 19 (only idle time).
        start_timeout: seconds the first start may take before :meth:`start` fails.

    Call :meth:`start`, use :attr:`url`, and :meth:`stop` (also safe if never started).
    Thread-safe.
    """

    def __init__(self, path: Path, *, nice: int = 0, start_timeout: float = START_TIMEOUT) -> None:
        if not 0 <= nice <= 19:
            raise InvalidArgumentError("nice", nice, "must be between 0 and 19")
        self.path = path
        self._nice = nice
        self._start_timeout = start_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self.restarts = 0
        """How many times the child died and was started again."""

    @property
    def url(self) -> str:
        """Where the child listens (``http://127.0.0.1:PORT``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The running child's process id (``None`` before start, after stop)."""
        process = self._process
        return None if process is None or process.poll() is not None else process.pid

    def start(self) -> str:
        """Start the child, wait until it answers, start supervising it; returns its URL.

        Raises:
            StoreUnavailableError: it exited, or did not answer within ``start_timeout``
                (the message quotes the end of its log).
        """
        self.path.mkdir(parents=True, exist_ok=True)
        self._log = (self.path / "chroma-server.log").open("ab")
        self.port = _free_port()
        self._spawn()
        try:
            self._wait_ready(self._start_timeout)
        except BaseException:
            self.stop()
            raise
        self._monitor = threading.Thread(
            target=self._supervise, name="toolwise-chroma-child", daemon=True
        )
        self._monitor.start()
        log.info("toolwise: chroma child pid %s serves %s at %s", self.pid, self.path, self.url)
        return self.url

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the child, SIGKILL it after ``timeout`` s, stop supervising. Idempotent."""
        self._stopping.set()
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "toolwise: chroma child %d did not stop in %g s: killed", process.pid, timeout
                )
                process.kill()
                process.wait()
        monitor = self._monitor
        if monitor is not None and monitor is not threading.current_thread():
            monitor.join(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- inside -------------------------------------------------------------------------------

    def _spawn(self) -> None:
        """Start a child process (the thread that calls this must outlive it: the parent-death
        signal follows the thread that forked)."""
        assert self._log is not None
        args = [
            *(sys.executable, "-c", _LAUNCH, str(os.getpid()), str(self._nice)),
            *("run", "--path", str(self.path / "chroma")),
            *("--host", "127.0.0.1", "--port", str(self.port)),
        ]
        with self._lock:
            if self._stopping.is_set():
                return
            self._process = subprocess.Popen(
                args,
                env={"RUST_LOG": "warn", **os.environ},  # else a log line per request
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches only the parent
            )

    def _wait_ready(self, timeout: float) -> None:
        import httpx  # a dependency of chromadb's client

        deadline = time.monotonic() + timeout
        heartbeat = f"{self.url}/api/v2/heartbeat"
        while time.monotonic() < deadline and not self._stopping.is_set():
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise StoreUnavailableError(
                    f"chroma child for {self.path} exited ({code}): {self._log_tail()}"
                )
            try:
                if httpx.get(heartbeat, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise StoreUnavailableError(
            f"chroma child for {self.path} did not answer within {timeout:g} s: {self._log_tail()}"
        )

    def _supervise(self) -> None:
        """Wait on the child; start it again (same port, with backoff) when it dies."""
        backoff = _BACKOFF[0]
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            log.error(
                "toolwise: the chroma child for %s exited (%s); records wait in the spool, "
                "starting it again in %g s",
                self.path,
                code,
                backoff,
            )
            if self._stopping.wait(backoff):
                return
            self._spawn()
            try:
                self._wait_ready(self._start_timeout)
            except StoreUnavailableError as exc:
                log.error("toolwise: restarting the chroma child failed: %s", exc)
                backoff = min(backoff * 2, _BACKOFF[1])
                continue
            self.restarts += 1
            backoff = _BACKOFF[0]
            log.warning("toolwise: chroma child started again, pid %s", self.pid)

    def _log_tail(self) -> str:
        try:
            text = (self.path / "chroma-server.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return text[-800:].strip() or "(empty log)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
