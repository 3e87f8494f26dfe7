"""The sandboxed child: run one job the parent sent, report it as JSON, exit.

Started as a script (``python -I -S -B _child.py CONFIG``) in a fresh interpreter inside
bubblewrap, never imported by toolwise. It imports only the standard library — plus what the
job's pickle names (cloudpickle for functions sent by value, the tools' own modules) — and
never toolwise: here ``toolwise`` and its submodules resolve to a stub whose every name raises
when used, so a tool module that builds a ``Toolwise`` at import fails instead of opening a
store or a spool inside the sandbox (and the child does not pay toolwise's import time).

Order matters: the resource limits are set and the report channel is set aside *before* the
job is unpickled, because unpickling imports the tools' modules — the first untrusted code.
What the child reports is untrusted too: the parent validates it against a schema and treats
anything else as a failed call.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import pickle
import resource
import signal
import sys
import types
from typing import Any

_MAX_MESSAGE = 2_000
_STUB_MESSAGE = (
    "toolwise is not available inside the toolwise sandbox: a composite's steps must not "
    "use it (build the Toolwise in the agent, not in the tools' module)"
)


class _Unavailable:
    """What every name of the stubbed ``toolwise`` is: importable, raising when used."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(_STUB_MESSAGE)


class _StubModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Unavailable


class _ToolwiseStub(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``toolwise`` and ``toolwise.*`` to stub modules."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "toolwise" and not fullname.startswith("toolwise."):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        return _StubModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []


def _plain(value: Any) -> Any:
    """A step's output as the composite reports it (same rule as in the agent's process)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    content = getattr(value, "content", None)  # a ToolMessage or Command-like result
    return content if isinstance(content, str) else str(value)


def _run(job: dict[str, Any]) -> Any:
    if job["kind"] == "call":
        return job["fn"]()
    outputs = []
    steps = job["steps"]
    for index, (name, fn, args, kwargs) in enumerate(steps, start=1):
        try:
            output = fn(*args, **kwargs)
        except Exception as exc:
            msg = f"step {index}/{len(steps)} ({name}) failed: {type(exc).__name__}: {exc}"
            raise _StepFailedError(msg) from exc
        outputs.append({"tool": name, "output": _plain(output)})
    return {"steps": outputs}


class _StepFailedError(Exception):
    pass


def _failure(exc: BaseException) -> dict[str, Any]:
    kind = "StepFailed" if isinstance(exc, _StepFailedError) else type(exc).__name__
    return {"ok": False, "error_type": kind, "error_message": str(exc)[:_MAX_MESSAGE]}


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def main() -> None:
    config = json.loads(sys.argv[1])
    job_bytes = _read_all(0)
    report_fd = os.dup(1)  # not inheritable: a process the job starts does not get it
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # prints and tracebacks of the job must not corrupt the report
        os.dup2(null, fd)
    os.close(null)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails, not kills
    for name, value in config["limits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if config["run_as"] is not None:  # privileged mode: become nobody, losing every capability
        os.setgroups([])
        os.setgid(config["run_as"])
        os.setuid(config["run_as"])
    sys.path[:] = config["path"]
    sys.meta_path.insert(0, _ToolwiseStub())
    try:
        value = _run(pickle.loads(job_bytes))
    except BaseException as exc:  # report everything, SystemExit included
        report = _failure(exc)
    else:
        report = {"ok": True, "value": value}
    try:
        data = json.dumps(report, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        message = f"the result is not JSON: {type(exc).__name__}: {exc}"[:_MAX_MESSAGE]
        report = {"ok": False, "error_type": "ResultNotJSON", "error_message": message}
        data = json.dumps(report).encode()
    view = memoryview(len(data).to_bytes(8, "big") + data)
    while view:
        view = view[os.write(report_fd, view) :]
    os._exit(0)


if __name__ == "__main__":
    main()
