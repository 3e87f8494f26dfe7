"""Names a package re-exports, imported on first use (PEP 562 ``__getattr__``).

Why: importing the package is the first line of every process, and a cold start is
timed from it (``docs/performance.md``). Re-exporting the self-improvement loop or the brief
eagerly would import LangChain, LangSmith and scipy — over a second on a busy machine — in a
process that only records, or whose first answer needs none of them. A package's ``__init__``
therefore lists where each name lives; the type checker still sees plain imports (under
``TYPE_CHECKING``), and ``from package import Name`` works as before.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["exports"]


def exports(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``homes`` maps each name to its module.

    A name is imported on first access and then kept in the package's namespace, so later
    accesses are plain attribute reads.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook's name)
        home = homes.get(name)
        if home is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*vars(sys.modules[package]), *homes})

    return __getattr__, __dir__
