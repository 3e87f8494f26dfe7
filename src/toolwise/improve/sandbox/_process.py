"""The parent's side of one sandboxed process: feed the job, read the report, kill it whole.

The parent sends the job as a pickle (parent → child is the safe direction: the parent made
it) and reads back at most ``max_bytes`` of length-prefixed JSON, validated by
:class:`~toolwise.improve.sandbox._models.Report`. It never unpickles anything the child
wrote. Once the report is in, or at the timeout, the sandbox's pid namespace is killed (its
init, so every process in it dies with it — grandchildren and processes that left the group
included) and the process group too; :func:`kill_whole` returns only after bubblewrap has
reaped them, so no process outlives the call.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

from pydantic import ValidationError

from toolwise.improve.sandbox._models import Report, SandboxResult, failed

__all__ = ["Exchange", "drain", "exchange", "kill_whole", "verdict", "watch"]

_HEADER = 8  # bytes of the big-endian length before the child's JSON
_REAP_TIMEOUT = 10.0  # bubblewrap exits right after the namespace dies; this only bounds a bug
# A write this size never blocks a pipe that select calls writable (Windows has no PIPE_BUF).
_PIPE_CHUNK = getattr(select, "PIPE_BUF", 512)
_MAX_STDERR = 2_000  # bubblewrap's own complaints, for the "crashed" message


@dataclass(slots=True)
class Exchange:
    data: bytes = b""
    info: bytes = b""
    stderr: bytes = b""  # bubblewrap's complaints (the child silences its own at once)
    sandbox_pidfd: int | None = None  # the namespace's init, held from the moment it is known
    complete: bool = False
    timed_out: bool = False
    too_large: bool = False


def drain(fd: int) -> bytes:
    """What is in the pipe now, without waiting."""
    os.set_blocking(fd, False)
    chunks = []
    with contextlib.suppress(BlockingIOError, OSError):
        while chunk := os.read(fd, 65_536):
            chunks.append(chunk)
    return b"".join(chunks)


def exchange(
    process: subprocess.Popen[bytes],
    *,
    payload: bytes,
    info_fd: int,
    deadline: float,
    max_bytes: int,
    result: Exchange,
) -> None:
    """Write the job, read bubblewrap's info and the child's report, until done or too late."""
    if process.stdin is None or process.stdout is None or process.stderr is None:
        msg = "the sandbox was started without pipes"  # pragma: no cover - Popen had PIPEs
        raise RuntimeError(msg)
    stdin, stdout, stderr = (s.fileno() for s in (process.stdin, process.stdout, process.stderr))
    os.set_blocking(stdin, False)
    pending = memoryview(payload)
    report = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(stdin, selectors.EVENT_WRITE)
        for fd in (stdout, info_fd, stderr):
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.timed_out = True
                return
            for key, _ in selector.select(remaining):
                fd = key.fd
                if fd == stdin:
                    pending = _feed(stdin, pending)
                    if not pending:
                        selector.unregister(stdin)
                        process.stdin.close()
                    continue
                chunk = os.read(fd, 65_536)
                if not chunk:
                    selector.unregister(fd)
                elif fd == info_fd:
                    result.info += chunk
                    watch(result)
                elif fd == stderr:
                    result.stderr = (result.stderr + chunk)[-_MAX_STDERR:]
                else:
                    report += chunk
                    if _take_report(report, max_bytes, result):
                        return


def _feed(fd: int, pending: memoryview) -> memoryview:
    """Write what the pipe takes now; what is left (nothing once the child is gone)."""
    try:
        return pending[os.write(fd, pending[:_PIPE_CHUNK]) :]
    except BlockingIOError:
        return pending
    except OSError:  # the child is gone before reading it all
        return pending[:0]


def _take_report(buffer: bytearray, max_bytes: int, result: Exchange) -> bool:
    """Whether the report is complete (or too large) in ``buffer``; fills ``result``."""
    if len(buffer) < _HEADER:
        return False
    length = int.from_bytes(buffer[:_HEADER], "big")
    if length > max_bytes:
        result.too_large = True
        return True
    if len(buffer) < _HEADER + length:
        return False
    result.data = bytes(buffer[_HEADER : _HEADER + length])
    result.complete = True
    return True


def watch(result: Exchange) -> None:
    """Hold a pidfd on the sandbox's init as soon as bubblewrap names it.

    Opened while the init is surely alive (it outlives the command it just started), the
    pidfd cannot come to mean another process, however long the call lasts: killing through
    it never hits a recycled pid, and it tells when the whole namespace is gone.
    """
    if result.sandbox_pidfd is not None or not hasattr(os, "pidfd_open"):
        return
    try:
        pid = int(json.loads(result.info)["child-pid"])
        result.sandbox_pidfd = os.pidfd_open(pid)
    except (ValueError, KeyError, TypeError, OSError):
        return  # not all of the JSON yet, or the kernel has no pidfds


def kill_whole(process: subprocess.Popen[bytes], result: Exchange) -> None:
    """Kill the sandbox's pid namespace and wait until it is gone, then kill the group.

    Killing the namespace's init makes the kernel kill every process in it, and the init's
    exit completes only once they are all gone. bubblewrap's outer process may exit before
    that (as soon as the command exits, while its init still waits for grandchildren), so
    the wait is on the init itself, through its pidfd: that is what makes "nothing outlives
    the call" hold when this returns.
    """
    pidfd = result.sandbox_pidfd
    if pidfd is not None:
        try:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            with selectors.DefaultSelector() as exited:  # not select(): fds above 1023
                exited.register(pidfd, selectors.EVENT_READ)  # readable once it has exited
                exited.select(_REAP_TIMEOUT)
        finally:
            os.close(pidfd)
            result.sandbox_pidfd = None
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(_REAP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    process.wait()


def verdict(exchange: Exchange, status: int | None, timeout: float) -> SandboxResult:
    """The call's result from what the exchange saw and bubblewrap's exit status."""
    if exchange.too_large:
        return failed("too_large", "ResultTooLarge", "the result is larger than allowed")
    if exchange.complete:
        try:
            report = Report.model_validate_json(exchange.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            return failed(
                "invalid_result",
                "InvalidResult",
                f"the sandboxed call sent something other than its JSON report "
                f"({first['type']} at {tuple(first['loc'])})",
            )
        if report.ok:
            return SandboxResult(True, report.value)
        return failed("error", report.error_type, report.error_message)
    if exchange.timed_out:
        return failed(
            "timeout", "TimeoutError", f"no result within {timeout:g} s; the sandbox was killed"
        )
    said = exchange.stderr.decode(errors="replace").strip()
    return failed(
        "crashed",
        "SandboxCrash",
        f"the sandboxed call ended without a result (bubblewrap exit status {status}"
        + (f": {said[-300:]}" if said else "; a resource limit may have killed it")
        + ")",
    )
