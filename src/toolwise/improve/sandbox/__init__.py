"""Composites run behind an OS boundary: a fresh interpreter in bubblewrap, never a fork.

See ``docs/self_improvement.md`` ("Threat model") for what sandboxed code can and cannot do.
"""

from typing import TYPE_CHECKING

from toolwise._lazy import exports

if TYPE_CHECKING:
    from toolwise.improve.sandbox._bwrap import SandboxSupport
    from toolwise.improve.sandbox._models import ResourceLimits, SandboxLevel, SandboxResult, Step
    from toolwise.improve.sandbox._protected import protect
    from toolwise.improve.sandbox._runner import Sandbox, default_sandbox, run_sandboxed
    from toolwise.improve.sandbox._steps import tool_step

__all__ = [
    "ResourceLimits",
    "Sandbox",
    "SandboxLevel",
    "SandboxResult",
    "SandboxSupport",
    "Step",
    "default_sandbox",
    "protect",
    "run_sandboxed",
    "tool_step",
]

# Imported on first use (``toolwise._lazy``): every runtime calls ``protect`` when it is
# built, and should not pay for the runner, its models or ``tool_step``'s LangChain to do so.
__getattr__, __dir__ = exports(
    __name__,
    {
        "ResourceLimits": "toolwise.improve.sandbox._models",
        "Sandbox": "toolwise.improve.sandbox._runner",
        "SandboxLevel": "toolwise.improve.sandbox._models",
        "SandboxResult": "toolwise.improve.sandbox._models",
        "SandboxSupport": "toolwise.improve.sandbox._bwrap",
        "Step": "toolwise.improve.sandbox._models",
        "default_sandbox": "toolwise.improve.sandbox._runner",
        "protect": "toolwise.improve.sandbox._protected",
        "run_sandboxed": "toolwise.improve.sandbox._runner",
        "tool_step": "toolwise.improve.sandbox._steps",
    },
)
