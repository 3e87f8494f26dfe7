"""The directories no sandboxed call may see, registered by every runtime this process built.

Apart from the sandbox itself because every ``Toolwise`` registers its store and spool here
when it is built, and a cold start should not import the sandbox's runner (its models, its
bubblewrap probe) to do so: this module needs nothing but ``pathlib``.
"""

from __future__ import annotations

import threading
from pathlib import Path

__all__ = ["protect", "protected"]

_registry: set[Path] = set()
_registry_lock = threading.Lock()


def protect(*paths: str | Path) -> None:
    """Hide ``paths`` from every sandboxed call in this process, at every level.

    Each ``Toolwise`` registers its store root and spool directory when it is built, so no
    sandboxed code can read records or forge them — whoever built the sandbox.
    """
    with _registry_lock:
        _registry.update(Path(p).absolute() for p in paths)


def protected() -> list[Path]:
    """Every path registered so far (a copy: safe to use while others register)."""
    with _registry_lock:
        return list(_registry)
