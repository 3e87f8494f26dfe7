"""How a composite's steps reach the sandboxed child: each LangChain tool becomes a
:class:`~toolwise.improve.sandbox.Step` the parent pickles (parent → child is the safe
direction).

A ``@tool`` / ``StructuredTool`` / ``Tool`` with a sync function travels as that function and
arguments the parent already validated with the tool's schema, so the child does not import
LangChain (≈ 0.5 s of start-up saved per call). Functions are pickled with cloudpickle: by
reference when importable under their own name, else by value (a module-level ``@tool``'s
function is shadowed by the tool, so it travels by value; so do closures); the globals they
use travel with them, modules by reference. Any other ``BaseTool`` travels whole and runs
with ``tool.invoke`` (the child then imports LangChain). A tool holding a lock, a client or an
open file cannot be pickled: the call fails as ``not_sendable``, naming the step, and the
composite is never validated — it cannot reach the ``sandbox`` level. A tool wrapped for
recording (``tw.instrument(tool)``, anything with a ``wrapped`` tool) runs unwrapped: nothing
can record from inside the sandbox, and the composite's own call is recorded by the agent.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, Tool

from toolwise.improve.sandbox._models import Step

__all__ = ["tool_step"]

_RUNTIME_PARAMETERS = frozenset({"callbacks", "run_manager", "config"})


def _takes_runtime(fn: Any) -> bool:
    """Whether LangChain would inject callbacks or a config into ``fn`` (then run it whole)."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return any(
        name in _RUNTIME_PARAMETERS or "RunnableConfig" in str(p.annotation)
        for name, p in parameters.items()
    )


def tool_step(tool: BaseTool, arguments: Mapping[str, Any]) -> Step:
    """The step that runs ``tool`` on ``arguments`` inside the sandbox.

    Raises:
        pydantic.ValidationError (or the tool's own input error): ``arguments`` do not fit
            the tool's schema — checked here, in the parent, as ``tool.invoke`` would.
    """
    while isinstance(getattr(tool, "wrapped", None), BaseTool):  # e.g. tw.instrument(tool)
        tool = tool.wrapped  # type: ignore[attr-defined]  # nothing records inside the sandbox
    func = getattr(tool, "func", None)
    plain = (
        isinstance(tool, StructuredTool | Tool)
        and tool.response_format == "content"
        and not _takes_runtime(func)
    )
    if not plain or not callable(func):
        return Step(tool.name, tool.invoke, (dict(arguments),))
    args, kwargs = tool._to_args_and_kwargs(dict(arguments), None)
    return Step(tool.name, func, tuple(args), dict(kwargs))
