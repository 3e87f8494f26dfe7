"""Composites run behind an OS boundary: a fresh interpreter in bubblewrap, never a fork.

See ``docs/self_improvement.md`` ("Threat model") for what sandboxed code can and cannot do.
"""

from typing import TYPE_CHECKING

from toolwise._lazy import exports
from toolwise.improve.sandbox._bwrap import SandboxSupport
from toolwise.improve.sandbox._models import (
    ResourceLimits,
    SandboxLevel,
    SandboxResult,
    Step,
)
from toolwise.improve.sandbox._runner import Sandbox, default_sandbox, protect, run_sandboxed

if TYPE_CHECKING:
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

# ``tool_step`` wraps LangChain tools: imported on first use, so the runtime (which only
# needs ``protect``) does not import LangChain (``toolwise._lazy``).
__getattr__, __dir__ = exports(__name__, {"tool_step": "toolwise.improve.sandbox._steps"})
