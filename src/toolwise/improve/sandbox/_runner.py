"""Running one job in a bubblewrap sandbox: launch, exchange over pipes, kill whole, validate.

The parent sends the job as a pickle (parent → child is the safe direction: the parent made
it) and reads back at most ``max_result_bytes`` of length-prefixed JSON, validated by
:class:`_Report`. It never unpickles anything the child wrote. Once the report is in, or at
the timeout, the sandbox's pid namespace is killed (its init, so every process in it dies
with it — grandchildren and processes that left the group included) and the process group
too; the call returns only after bubblewrap has reaped them, so no process outlives it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import pickle
import select
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from toolwise.errors import InvalidArgumentError
from toolwise.improve.sandbox._bwrap import (
    CHILD_SCRIPT,
    NOBODY,
    SandboxSupport,
    available,
    bwrap_argv,
    unavailable,
)
from toolwise.storage.clients import default_root

__all__ = [
    "ResourceLimits",
    "Sandbox",
    "SandboxLevel",
    "SandboxResult",
    "Step",
    "protect",
    "run_sandboxed",
]

log = logging.getLogger("toolwise.improve.sandbox")

SandboxLevel = Literal["sandbox", "restricted"]
"""``sandbox``: read-only view, runs as nobody when the agent is root; ``restricted``: the
filesystem is writable as the agent's user. Neither has network."""

FailureReason = Literal[
    "error", "timeout", "crashed", "invalid_result", "too_large", "unavailable", "not_sendable"
]
_MIB = 1 << 20
_HEADER = 8  # bytes of the big-endian length before the child's JSON
_PROBE_TIMEOUT = 30.0
_REAP_TIMEOUT = 10.0  # bubblewrap exits right after the namespace dies; this only bounds a bug
_PIPE_CHUNK = getattr(
    select, "PIPE_BUF", 512
)  # a write this size never blocks a pipe select calls writable


@dataclass(frozen=True, slots=True)
class ResourceLimits:
    """Hard ``setrlimit`` limits of the sandboxed process (and every process it starts).

    Attributes:
        memory_bytes: address space (``RLIMIT_AS``) per process.
        open_files: file descriptors (``RLIMIT_NOFILE``).
        processes: processes and threads (``RLIMIT_NPROC``), counted inside the sandbox's
            own user namespace. The kernel exempts uid 0: it binds at level ``sandbox``,
            which runs as nobody when the agent is root, not at ``restricted`` as root.
        file_bytes: largest file it may write (``RLIMIT_FSIZE``).
        cpu_seconds: CPU time (``RLIMIT_CPU``); ``None``: the call's timeout rounded up.
    """

    memory_bytes: int = 512 * _MIB
    open_files: int = 64
    processes: int = 32
    file_bytes: int = 16 * _MIB
    cpu_seconds: int | None = None

    def __post_init__(self) -> None:
        for name in ("memory_bytes", "open_files", "processes", "file_bytes", "cpu_seconds"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InvalidArgumentError(name, value, "must be a positive integer")
        if self.memory_bytes < 64 * _MIB:
            raise InvalidArgumentError(
                "memory_bytes", self.memory_bytes, "must be at least 64 MiB (an interpreter)"
            )

    def rlimits(self, timeout: float) -> dict[str, int]:
        """``{"RLIMIT_AS": ..., ...}`` for a call with ``timeout`` seconds."""
        return {
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_FSIZE": self.file_bytes,
            "RLIMIT_CPU": self.cpu_seconds or math.ceil(timeout) + 1,
            "RLIMIT_CORE": 0,
        }


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """How a sandboxed call ended. ``ok`` only if it returned a JSON value.

    ``reason`` says why it failed: ``error`` (it raised; ``error_type``/``error_message``
    say what), ``timeout``, ``crashed`` (no report: killed by a limit, or exited),
    ``invalid_result`` (the report was not the expected JSON — e.g. a pickle), ``too_large``,
    ``unavailable`` (this machine cannot sandbox; see :class:`SandboxSupport`) or
    ``not_sendable`` (the job could not be pickled for the child).
    """

    ok: bool
    value: JsonValue = None
    reason: Literal["ok"] | FailureReason = "ok"
    error_type: str = ""
    error_message: str = ""

    @property
    def timed_out(self) -> bool:
        return self.reason == "timeout"


def _failed(reason: FailureReason, error_type: str, message: str) -> SandboxResult:
    return SandboxResult(False, None, reason, error_type, message)


class _Report(BaseModel):
    """The only thing the parent accepts from the child."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    ok: bool
    value: JsonValue = None
    error_type: str = Field(default="", max_length=200)
    error_message: str = Field(default="", max_length=2_000)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a composite as the child runs it: ``fn(*args, **kwargs)`` named ``name``.

    ``fn`` travels pickled (cloudpickle: by reference when importable, else by value).
    """

    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Exchange:
    data: bytes = b""
    info: bytes = b""
    complete: bool = False
    timed_out: bool = False
    too_large: bool = False


class Sandbox:
    """Runs jobs in a fresh interpreter behind bubblewrap; see ``docs/self_improvement.md``.

    What this machine enforces is found once, by a probe at first use, and logged in one line
    (``INFO`` when available, ``WARNING`` when the levels are refused). Thread-safe: every
    call is its own process.

    Args:
        bwrap: the bubblewrap executable (default: ``bwrap`` on ``PATH``).
        limits: resource limits of every call.
        protected: directories no call may see — toolwise's store and spool; the default
            store root (``$TOOLWISE_PATH`` or ``./.toolwise``) is always added.
        max_result_bytes: a larger report fails the call (``too_large``).
    """

    def __init__(
        self,
        *,
        bwrap: str | None = None,
        limits: ResourceLimits | None = None,
        protected: Iterable[str | Path] = (),
        max_result_bytes: int = _MIB,
    ) -> None:
        if max_result_bytes < 1:
            raise InvalidArgumentError("max_result_bytes", max_result_bytes, "must be >= 1")
        self._bwrap = bwrap
        self.limits = limits or ResourceLimits()
        self.protected = tuple(Path(p) for p in protected)
        self.max_result_bytes = max_result_bytes
        self._support: SandboxSupport | None = None
        self._lock = threading.Lock()

    @property
    def support(self) -> SandboxSupport:
        """What this machine enforces (probed on first use, then cached)."""
        with self._lock:
            if self._support is None:
                self._support = self._probe()
                level = logging.INFO if self._support.available else logging.WARNING
                log.log(level, "%s", self._support.describe())
            return self._support

    def run(
        self, fn: Callable[[], Any], *, level: SandboxLevel = "sandbox", timeout: float
    ) -> SandboxResult:
        """Run ``fn()`` in the sandbox; its return value must be JSON. Never raises for
        what happens inside: see :class:`SandboxResult`."""
        return self._run({"kind": "call", "fn": fn}, (), level, timeout)

    def run_steps(
        self, steps: Sequence[Step], *, level: SandboxLevel = "sandbox", timeout: float
    ) -> SandboxResult:
        """Run ``steps`` in order in one sandboxed process; the value is
        ``{"steps": [{"tool": name, "output": ...}, ...]}``. The first failing step fails the
        call (``error_type`` ``StepFailed``, the message names the step)."""
        job = {"kind": "steps", "steps": [(s.name, s.fn, s.args, s.kwargs) for s in steps]}
        return self._run(job, steps, level, timeout)

    # -- internals ----------------------------------------------------------------------------

    def _run(
        self, job: dict[str, Any], steps: Sequence[Step], level: SandboxLevel, timeout: float
    ) -> SandboxResult:
        if level not in ("sandbox", "restricted"):
            raise InvalidArgumentError("level", level, "must be 'sandbox' or 'restricted'")
        if not timeout > 0:
            raise InvalidArgumentError("timeout", timeout, "must be > 0 seconds")
        support = self.support
        if not support.available or support.bwrap is None:
            return _failed("unavailable", "SandboxUnavailable", support.reason)
        import cloudpickle  # ~20 ms, paid by the first sandboxed call only

        try:
            payload = cloudpickle.dumps(job)
        except Exception as exc:
            return _failed("not_sendable", "NotSendable", _unsendable(job, steps, exc))
        return self._launch(support.bwrap, payload, level, timeout, privileged=support.privileged)

    def _protected(self) -> list[Path]:
        with _registry_lock:
            registered = list(_registry)
        return [*self.protected, *registered, default_root().absolute()]

    def _launch(
        self, bwrap: str, payload: bytes, level: SandboxLevel, timeout: float, *, privileged: bool
    ) -> SandboxResult:
        deadline = time.monotonic() + timeout
        info_read, info_write = os.pipe()
        fds: list[int] = []
        try:
            drops = privileged and level == "sandbox"
            argv, fds = bwrap_argv(
                bwrap,
                writable=level == "restricted",
                privileged=privileged,
                drops_to_nobody=drops,
                protected=self._protected(),
                info_fd=info_write,
            )
            config = {
                "limits": self.limits.rlimits(timeout),
                "path": _child_path(),
                "run_as": NOBODY if drops else None,
            }
            argv += ["--", sys.executable, "-I", "-S", "-B", str(CHILD_SCRIPT), json.dumps(config)]
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                pass_fds=(info_write, *fds),
                env={},
                start_new_session=True,
            )
        except OSError as exc:
            os.close(info_read)
            return _failed("crashed", type(exc).__name__, f"the sandbox did not start: {exc}")
        finally:
            for fd in (info_write, *fds):
                os.close(fd)
        exchange = _Exchange()
        try:
            _exchange(
                process,
                payload=payload,
                info_fd=info_read,
                deadline=deadline,
                max_bytes=self.max_result_bytes,
                result=exchange,
            )
        finally:
            exchange.info += _drain(info_read)
            os.close(info_read)
            _kill_whole(process, exchange.info)
        return _verdict(exchange, process.returncode, timeout)

    def _probe(self) -> SandboxSupport:
        if not sys.platform.startswith("linux"):
            return unavailable(f"not Linux ({sys.platform})")
        found = self._bwrap or shutil.which("bwrap")
        if found is None or not Path(found).exists():
            return unavailable("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
        errors = []
        for privileged in [True, False] if os.geteuid() == 0 else [False]:
            result = self._launch(
                found, _PROBE_JOB, "sandbox", _PROBE_TIMEOUT, privileged=privileged
            )
            if result.ok and result.value == (NOBODY if privileged else os.geteuid()):
                return available(found, privileged=privileged)
            errors.append(f"{result.reason}: {result.error_type} {result.error_message}".strip())
        why = f"bubblewrap cannot start a sandbox here (user namespaces disabled?): {errors[-1]}"
        return unavailable(why, found)


_PROBE_JOB = pickle.dumps({"kind": "call", "fn": os.getuid})  # by reference: no cloudpickle


def _drain(fd: int) -> bytes:
    """What is in the pipe now, without waiting."""
    os.set_blocking(fd, False)
    chunks = []
    with contextlib.suppress(BlockingIOError, OSError):
        while chunk := os.read(fd, 65_536):
            chunks.append(chunk)
    return b"".join(chunks)


def _child_path() -> list[str]:
    return [str(Path(p or os.getcwd()).resolve()) for p in sys.path]


def _unsendable(job: dict[str, Any], steps: Sequence[Step], exc: Exception) -> str:
    import cloudpickle

    for index, step in enumerate(steps, start=1):
        try:
            cloudpickle.dumps((step.fn, step.args, step.kwargs))
        except Exception as step_exc:
            return (
                f"step {index}/{len(steps)} ({step.name}) cannot be sent to the sandbox "
                f"(define the tool in an importable module, without locks, clients or open "
                f"files in its closure): {type(step_exc).__name__}: {step_exc}"
            )
    return f"the job cannot be sent to the sandbox: {type(exc).__name__}: {exc}"


def _exchange(
    process: subprocess.Popen[bytes],
    *,
    payload: bytes,
    info_fd: int,
    deadline: float,
    max_bytes: int,
    result: _Exchange,
) -> None:
    """Write the job, read bubblewrap's info and the child's report, until done or too late."""
    if process.stdin is None or process.stdout is None:  # pragma: no cover - Popen had PIPEs
        msg = "the sandbox was started without pipes"
        raise RuntimeError(msg)
    stdin, stdout = process.stdin.fileno(), process.stdout.fileno()
    os.set_blocking(stdin, False)
    pending = memoryview(payload)
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(stdin, selectors.EVENT_WRITE)
        selector.register(stdout, selectors.EVENT_READ)
        selector.register(info_fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.timed_out = True
                return
            for key, _ in selector.select(remaining):
                fd = key.fd
                if fd == stdin:
                    try:
                        pending = pending[os.write(stdin, pending[:_PIPE_CHUNK]) :]
                    except BlockingIOError:
                        continue
                    except OSError:  # the child is gone before reading it all
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(stdin)
                        process.stdin.close()
                    continue
                chunk = os.read(fd, 65_536)
                if fd == info_fd:
                    result.info += chunk
                    if not chunk:
                        selector.unregister(fd)
                    continue
                if not chunk:
                    selector.unregister(fd)
                    continue
                chunks.append(chunk)
                size += len(chunk)
                if size >= _HEADER:
                    head = b"".join(chunks)
                    length = int.from_bytes(head[:_HEADER], "big")
                    if length > max_bytes:
                        result.too_large = True
                        return
                    if size >= _HEADER + length:
                        result.data = head[_HEADER : _HEADER + length]
                        result.complete = True
                        return


def _kill_whole(process: subprocess.Popen[bytes], info: bytes) -> None:
    """Kill the sandbox's pid namespace, wait for bubblewrap to reap it, then kill the group.

    Killing the namespace's init makes the kernel kill every process in it, and its exit
    completes only once they are all gone; bubblewrap exits when it has reaped that init.
    So waiting for bubblewrap (not killing it first) is what makes "nothing outlives the
    call" hold when this returns.
    """
    try:
        inner = int(json.loads(info or b"{}").get("child-pid", 0))
    except (ValueError, TypeError, AttributeError):
        inner = 0
    if inner > 0 and process.poll() is None:  # bwrap has not reaped it: the pid is still its
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(inner, signal.SIGKILL)  # pid 1 of the namespace: everything in it dies
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(_REAP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    process.wait()


def _verdict(exchange: _Exchange, status: int | None, timeout: float) -> SandboxResult:
    if exchange.too_large:
        return _failed("too_large", "ResultTooLarge", "the result is larger than allowed")
    if exchange.complete:
        try:
            report = _Report.model_validate_json(exchange.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            return _failed(
                "invalid_result",
                "InvalidResult",
                f"the sandboxed call sent something other than its JSON report "
                f"({first['type']} at {tuple(first['loc'])})",
            )
        if report.ok:
            return SandboxResult(True, report.value)
        return _failed("error", report.error_type, report.error_message)
    if exchange.timed_out:
        return _failed(
            "timeout", "TimeoutError", f"no result within {timeout:g} s; the sandbox was killed"
        )
    return _failed(
        "crashed",
        "SandboxCrash",
        f"the sandboxed call ended without a result (bubblewrap exit status {status}; "
        "a resource limit may have killed it)",
    )


_default: Sandbox | None = None
_default_lock = threading.Lock()
_registry: set[Path] = set()
_registry_lock = threading.Lock()


def protect(*paths: str | Path) -> None:
    """Hide ``paths`` from every sandboxed call in this process, at every level.

    Each ``Toolwise`` registers its store root and spool directory when it is built, so no
    sandboxed code can read records or forge them — whoever built the sandbox.
    """
    with _registry_lock:
        _registry.update(Path(p).absolute() for p in paths)


def default_sandbox() -> Sandbox:
    """The process-wide sandbox (probed once) that composites use unless given another."""
    global _default  # noqa: PLW0603 - one probe per process
    with _default_lock:
        if _default is None:
            _default = Sandbox()
        return _default


def run_sandboxed(
    fn: Callable[[], Any], *, level: SandboxLevel = "sandbox", timeout: float
) -> SandboxResult:
    """Run ``fn()`` in the default sandbox; see :meth:`Sandbox.run`."""
    return default_sandbox().run(fn, level=level, timeout=timeout)
