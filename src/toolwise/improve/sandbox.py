"""Running untrusted-by-default composites: a forked child with an audit hook, and a timeout.

What the sandbox guarantees (POSIX, where ``os.fork`` exists):

* The call runs in a **separate process** forked for it, killed (``SIGKILL``) at the timeout,
  so a hung tool cannot hang the agent and nothing it changes in memory leaks back.
* Before the call, the child installs a ``sys.addaudithook`` hook (which cannot be removed)
  that raises :class:`SandboxViolationError` on: network use (``socket.connect``/``bind``/
  ``sendto``/``sendmsg``, DNS lookups) unless the policy allows network; opening a file for
  writing (``open`` with write/append/create/truncate flags), deleting, renaming, creating
  directories, changing modes, ``shutil`` copies/moves and ``sqlite3.connect`` unless the
  policy allows writes; starting processes (``subprocess``, ``os.system``, ``os.exec*``,
  ``os.spawn*``, ``os.posix_spawn``, ``os.fork``) unless the policy allows network — a child
  process could do anything. Every attempt is reported, even if the tool swallows the error,
  and any attempt makes the result a failure.
* The call runs in an empty ``contextvars`` context, so LangChain callbacks of the parent are
  not inherited (nothing is recorded from inside the sandbox).

What it does **not** guarantee: audit hooks see Python-level operations only. Native code
(C extensions, ``ctypes``) and file descriptors already open in the parent (inherited by the
fork) bypass them. It is a guard against *accidental* side effects of composed tools during
validation and before promotion, not a security boundary against hostile code — run those
in a container or VM. Where ``os.fork`` is missing (Windows), the call runs in a thread
under the same hook (gated to that thread by a context variable); it cannot be killed at the
timeout (it is reported as timed out and left to finish), and other threads are not guarded.

Forking a process that runs threads (Chroma, the toolwise writer) is safe only because the
child runs one call and leaves with ``os._exit``; a tool that takes a lock another thread
held at fork time can deadlock — the timeout then kills it.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolwise.errors import ToolwiseError
from toolwise.improve.models import PermissionLevel

__all__ = [
    "POLICIES",
    "SandboxPolicy",
    "SandboxResult",
    "SandboxViolationError",
    "run_sandboxed",
]

_NETWORK_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.sendmsg",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
    }
)
_PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.spawn",
        "os.posix_spawn",
        "os.fork",
        "os.forkpty",
        "pty.spawn",
    }
)
_WRITE_EVENTS = frozenset(
    {
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.truncate",
        "os.chmod",
        "os.chown",
        "os.link",
        "os.symlink",
        "os.utime",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.move",
        "shutil.rmtree",
        "sqlite3.connect",
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_MAX_RESULT_BYTES = 16 * 1024 * 1024


class SandboxViolationError(ToolwiseError, PermissionError):
    """A sandboxed call tried something its permission level forbids (network, a write …).

    A ``PermissionError`` too, so code that already tolerates "not allowed" keeps working.
    """


@dataclass(frozen=True, slots=True)
class SandboxPolicy:
    """What a sandboxed call may do besides computing and reading files."""

    network: bool = False
    write: bool = False


POLICIES: dict[PermissionLevel, SandboxPolicy | None] = {
    "sandbox": SandboxPolicy(network=False, write=False),
    "restricted": SandboxPolicy(network=False, write=True),
    "full": None,  # runs in process, unguarded
}


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """How a sandboxed call ended. ``ok`` only if it returned and attempted nothing forbidden.

    ``value`` is the return value (its ``str`` when it cannot be pickled back).
    """

    ok: bool
    value: Any = None
    error_type: str = ""
    error_message: str = ""
    timed_out: bool = False
    violations: tuple[str, ...] = ()


def _violation(event: str, args: tuple[Any, ...], policy: SandboxPolicy) -> str | None:
    if not policy.network and (event in _NETWORK_EVENTS or event in _PROCESS_EVENTS):
        return f"{event} {_shown(args)}"
    if not policy.write:
        if event == "open" and len(args) >= 3:
            mode, flags = args[1], args[2]
            writes = isinstance(mode, str) and any(c in mode for c in "wax+")
            if writes or (isinstance(flags, int) and flags & _WRITE_FLAGS):
                return f"open for writing {args[0]!r}"
        if event in _WRITE_EVENTS:
            return f"{event} {_shown(args)}"
    return None


def _shown(args: tuple[Any, ...]) -> str:
    text = repr(args)
    return text if len(text) <= 200 else text[:199] + "…"


def _guard(policy: SandboxPolicy, violations: list[str]) -> None:
    def hook(event: str, args: tuple[Any, ...]) -> None:
        found = _violation(event, args, policy)
        if found is not None:
            violations.append(found)
            raise SandboxViolationError(f"blocked by the toolwise sandbox: {found}")

    sys.addaudithook(hook)


def _call(fn: Callable[[], Any], context: contextvars.Context) -> dict[str, Any]:
    try:
        value = context.run(fn)
    except BaseException as exc:  # report everything, SystemExit included: the child decides
        return {"ok": False, "error_type": type(exc).__name__, "error_message": str(exc)[:2_000]}
    return {"ok": True, "value": value}


def run_sandboxed(fn: Callable[[], Any], *, policy: SandboxPolicy, timeout: float) -> SandboxResult:
    """Run ``fn()`` under ``policy`` with a ``timeout`` in seconds; never raises for its errors.

    See the module docstring for exactly what is blocked and what is not.
    """
    if hasattr(os, "fork"):
        return _run_forked(fn, policy, timeout)
    return _run_threaded(fn, policy, timeout)


def _run_forked(fn: Callable[[], Any], policy: SandboxPolicy, timeout: float) -> SandboxResult:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: guard, call, report, leave without running the parent's atexit
        code = 0
        try:
            os.close(read_end)
            violations: list[str] = []
            _guard(policy, violations)
            report = _call(fn, contextvars.Context())
            report["violations"] = tuple(violations)
            try:
                data = pickle.dumps(report)
            except Exception:  # an unpicklable value travels as text
                report["value"] = str(report.get("value"))
                data = pickle.dumps(report)
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        data, timed_out, too_large = _read_report(read_end, timeout)
    finally:
        os.close(read_end)
    if timed_out or too_large:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return SandboxResult(
            ok=False,
            error_type="TimeoutError",
            error_message=f"no result within {timeout:g} s; the sandboxed call was killed",
            timed_out=True,
        )
    if too_large:
        return SandboxResult(
            ok=False, error_type="ResultTooLarge", error_message="result above 16 MiB"
        )
    try:
        report = pickle.loads(data)  # our own forked child wrote it
    except Exception:
        return SandboxResult(
            ok=False,
            error_type="SandboxCrash",
            error_message=f"the sandboxed call died without a result (status {status})",
        )
    return _result(report)


def _read_report(fd: int, timeout: float) -> tuple[bytes, bool, bool]:
    """Read the child's report until EOF: (data, timed out, too large)."""
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"", True, False
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65_536)
        if not chunk:
            return b"".join(chunks), False, False
        size += len(chunk)
        if size > _MAX_RESULT_BYTES:
            return b"", False, True
        chunks.append(chunk)


def _result(report: dict[str, Any]) -> SandboxResult:
    violations = tuple(report.get("violations", ()))
    ok = bool(report.get("ok")) and not violations
    error_type = str(report.get("error_type", ""))
    message = str(report.get("error_message", ""))
    if violations and not error_type:
        error_type = SandboxViolationError.__name__
        message = f"blocked by the toolwise sandbox: {violations[0]}"
    return SandboxResult(
        ok=ok,
        value=report.get("value"),
        error_type=error_type,
        error_message=message,
        violations=violations,
    )


_SANDBOXED: contextvars.ContextVar[tuple[SandboxPolicy, list[str]] | None] = contextvars.ContextVar(
    "toolwise_sandboxed", default=None
)
_thread_hook_lock = threading.Lock()
_thread_hook_installed = False


def _run_threaded(fn: Callable[[], Any], policy: SandboxPolicy, timeout: float) -> SandboxResult:
    global _thread_hook_installed  # noqa: PLW0603 - one process-wide hook, installed once
    with _thread_hook_lock:
        if not _thread_hook_installed:
            sys.addaudithook(_thread_hook)
            _thread_hook_installed = True
    violations: list[str] = []
    report: dict[str, Any] = {}

    def target() -> None:
        context = contextvars.Context()  # empty, as in the child, but marked as sandboxed
        context.run(_SANDBOXED.set, (policy, violations))
        report.update(_call(fn, context))

    worker = threading.Thread(target=target, name="toolwise-sandbox", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return SandboxResult(
            ok=False,
            error_type="TimeoutError",
            error_message=f"no result within {timeout:g} s (the thread could not be killed)",
            timed_out=True,
        )
    report["violations"] = tuple(violations)
    return _result(report)


def _thread_hook(event: str, args: tuple[Any, ...]) -> None:
    state = _SANDBOXED.get()
    if state is None:
        return
    policy, violations = state
    found = _violation(event, args, policy)
    if found is not None:
        violations.append(found)
        raise SandboxViolationError(f"blocked by the toolwise sandbox: {found}")
