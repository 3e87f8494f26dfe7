"""The sandbox: probe what the machine enforces once, then run jobs in it, one process each.

See ``docs/self_improvement.md`` ("Threat model") for what is enforced and how; the process
plumbing is in :mod:`toolwise.improve.sandbox._process`, the child in ``_child.py``.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from toolwise.errors import InvalidArgumentError
from toolwise.improve.sandbox._bwrap import (
    CHILD_SCRIPT,
    NOBODY,
    SandboxSupport,
    available,
    bwrap_argv,
    unavailable,
)
from toolwise.improve.sandbox._models import (
    MIB,
    ResourceLimits,
    SandboxLevel,
    SandboxResult,
    Step,
    failed,
)
from toolwise.improve.sandbox._process import Exchange, drain, kill_whole, verdict, watch
from toolwise.improve.sandbox._process import exchange as exchange_job
from toolwise.improve.sandbox._protected import protect, protected
from toolwise.storage.clients import default_root

__all__ = ["Sandbox", "default_sandbox", "protect", "run_sandboxed"]  # protect: re-exported

log = logging.getLogger("toolwise.improve.sandbox")

_PROBE_TIMEOUT = 30.0


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
        max_result_bytes: int = MIB,
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
            return failed("unavailable", "SandboxUnavailable", support.reason)
        import cloudpickle  # ~20 ms, paid by the first sandboxed call only

        try:
            payload = cloudpickle.dumps(job)
        except Exception as exc:
            return failed("not_sendable", "NotSendable", _unsendable(job, steps, exc))
        return self._launch(support.bwrap, payload, level, timeout, privileged=support.privileged)

    def _protected(self) -> list[Path]:
        return [*self.protected, *protected(), default_root().absolute()]

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
                stderr=subprocess.PIPE,
                pass_fds=(info_write, *fds),
                env={},
                start_new_session=True,
            )
        except OSError as exc:
            os.close(info_read)
            return failed("crashed", type(exc).__name__, f"the sandbox did not start: {exc}")
        finally:
            for fd in (info_write, *fds):
                os.close(fd)
        result = Exchange()
        try:
            exchange_job(
                process,
                payload=payload,
                info_fd=info_read,
                deadline=deadline,
                max_bytes=self.max_result_bytes,
                result=result,
            )
        finally:
            result.info += drain(info_read)
            watch(result)
            os.close(info_read)
            kill_whole(process, result)
        return verdict(result, process.returncode, timeout)

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


_default: Sandbox | None = None
_default_lock = threading.Lock()


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
