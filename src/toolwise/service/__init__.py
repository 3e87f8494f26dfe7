"""toolwise over HTTP: the tracking and advice API for agents in any language.

Needs the ``server`` extra (``pip install 'toolwise[server]'``). Run it with ``toolwise serve``;
build it yourself with :func:`create_app` over any :class:`ServiceBackend`.

Names are imported on first use, so ``toolwise keys`` and the CLI's parser work without the
extra installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolwise.service.adapter import ToolwiseBackend
    from toolwise.service.app import create_app
    from toolwise.service.backend import Advising, ServiceBackend, StoreHealth
    from toolwise.service.keys import ApiKey, KeyRing
    from toolwise.service.state import ServiceConfig

__all__ = [
    "Advising",
    "ApiKey",
    "KeyRing",
    "ServiceBackend",
    "ServiceConfig",
    "StoreHealth",
    "ToolwiseBackend",
    "create_app",
]

_HOMES = {
    "ToolwiseBackend": "adapter",
    "create_app": "app",
    "Advising": "backend",
    "ServiceBackend": "backend",
    "StoreHealth": "backend",
    "ApiKey": "keys",
    "KeyRing": "keys",
    "ServiceConfig": "state",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'toolwise.service' has no attribute {name!r}")
    return getattr(importlib.import_module(f"toolwise.service.{home}"), name)
