"""toolwise over HTTP: the tracking and advice API for agents in any language.

Needs the ``server`` extra (``pip install 'toolwise[server]'``). Run it with ``toolwise serve``;
build it yourself with :func:`create_app` over any :class:`ServiceBackend`.
"""

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
