"""Composites run behind an OS boundary: a fresh interpreter in bubblewrap, never a fork.

See ``docs/self_improvement.md`` ("Threat model") for what sandboxed code can and cannot do.
"""

from toolwise.improve.sandbox._bwrap import SandboxSupport
from toolwise.improve.sandbox._models import (
    ResourceLimits,
    SandboxLevel,
    SandboxResult,
    Step,
)
from toolwise.improve.sandbox._runner import Sandbox, default_sandbox, protect, run_sandboxed
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
