"""Run a blocking endpoint in a worker thread with one hand-off instead of two.

FastAPI runs a plain ``def`` endpoint in a worker thread, and then validates its answer
against the response model in a *second* worker thread. Each hand-off waits for a free core
and wakes the event loop again: on a busy two-core machine that is most of a brief's latency
beyond its own work. :func:`blocking` makes the endpoint ``async``: the body still runs in a
worker thread (it reads the store, or computes for a millisecond), and the answer is checked
on the event loop, where checking a model instance of the declared type is an ``isinstance``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio

__all__ = ["blocking"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def blocking(endpoint: Callable[_P, _T]) -> Callable[_P, Awaitable[_T]]:
    """``endpoint`` as a coroutine that runs it in a worker thread.

    FastAPI reads the parameters and their annotations from the wrapped function
    (``functools.wraps`` sets ``__wrapped__``), so the route and its schema are unchanged.
    """

    @functools.wraps(endpoint)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await anyio.to_thread.run_sync(functools.partial(endpoint, *args, **kwargs))

    return run
