"""What crosses the sandbox's boundary, as values: limits in, results and steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from toolwise.errors import InvalidArgumentError

__all__ = [
    "MIB",
    "FailureReason",
    "Report",
    "ResourceLimits",
    "SandboxLevel",
    "SandboxResult",
    "Step",
    "failed",
]

SandboxLevel = Literal["sandbox", "restricted"]
"""``sandbox``: read-only view, runs as nobody when the agent is root; ``restricted``: the
filesystem is writable as the agent's user. Neither has network."""

FailureReason = Literal[
    "error", "timeout", "crashed", "invalid_result", "too_large", "unavailable", "not_sendable"
]
MIB = 1 << 20


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

    memory_bytes: int = 512 * MIB
    open_files: int = 64
    processes: int = 32
    file_bytes: int = 16 * MIB
    cpu_seconds: int | None = None

    def __post_init__(self) -> None:
        for name in ("memory_bytes", "open_files", "processes", "file_bytes", "cpu_seconds"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InvalidArgumentError(name, value, "must be a positive integer")
        if self.memory_bytes < 64 * MIB:
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


def failed(reason: FailureReason, error_type: str, message: str) -> SandboxResult:
    return SandboxResult(False, None, reason, error_type, message)


class Report(BaseModel):
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
