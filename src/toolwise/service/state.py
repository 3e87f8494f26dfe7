"""What one app instance holds: its backend, keys, options and small bounded caches."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from toolwise.advice.fields import SERVER_RECALL_BUDGET
from toolwise.advice.models import AdviceOptions
from toolwise.learning.quantile import load_scipy_now
from toolwise.service.backend import Advising, ServiceBackend
from toolwise.service.decisions import DecisionLog
from toolwise.service.keys import KeyRing
from toolwise.service.schemas import BriefRequest

__all__ = ["ServiceConfig", "ServiceState", "service_state", "state_of"]

_T = TypeVar("_T")


class ServiceConfig(BaseModel):
    """Options of the HTTP app, validated when built.

    Args:
        max_body_bytes: larger request bodies are refused with ``413`` (default 1 MiB).
        dashboard_refresh_seconds: how often the dashboard page reloads its data.
        overview_ttl_seconds: an agent's overview (a read of all its records) is reused this
            long, so many open dashboards cost one read.
        advisors: how many pre-selection cores (one per distinct brief option set) are kept.
        decisions: how many recent decisions are remembered to label later calls.
        drain_timeout: seconds shutdown waits for the spool to reach the store.
        recall_budget: the most seconds a brief waits for the store's recall answer
            (``AdviceOptions.recall_budget``; ``None`` waits up to the store's deadline).
        recall_index: briefs recall from an in-process index of each agent's failures
            (``AdviceOptions.recall_index``; off by default).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_body_bytes: int = Field(default=1_048_576, ge=1_024, le=64 * 1_048_576)
    dashboard_refresh_seconds: float = Field(default=10.0, ge=1.0, le=3_600.0)
    overview_ttl_seconds: float = Field(default=5.0, ge=0.0, le=3_600.0)
    advisors: int = Field(default=64, ge=1, le=10_000)
    decisions: int = Field(default=10_000, ge=1, le=10_000_000)
    drain_timeout: float = Field(default=30.0, ge=0.0, le=3_600.0)
    recall_budget: float | None = Field(
        default=SERVER_RECALL_BUDGET, ge=0.0, le=3_600.0, allow_inf_nan=False
    )
    recall_index: bool = Field(default=False, strict=True)


class _Lru:
    """A small thread-safe LRU of values built on demand, optionally expiring."""

    def __init__(self, capacity: int, ttl: float | None = None) -> None:
        self._capacity, self._ttl = capacity, ttl
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, build: Callable[[], _T]) -> _T:
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
            if found is not None and (self._ttl is None or now - found[0] < self._ttl):
                self._items.move_to_end(key)
                value: _T = found[1]
                return value
        built = build()  # outside the lock: building may read the store
        with self._lock:
            found = self._items.get(key)
            if found is not None and (self._ttl is None or now - found[0] < self._ttl):
                # Built meanwhile by a concurrent request: share that one (one recall cache
                # per core, so concurrent first briefs share their store queries too).
                self._items.move_to_end(key)
                shared: _T = found[1]
                return shared
            self._items[key] = (now, built)
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return built


@dataclass
class ServiceState:
    """Everything a request handler reaches through ``request.app.state.toolwise``."""

    backend: ServiceBackend
    keys: KeyRing | None
    config: ServiceConfig
    decisions: DecisionLog
    _advisors: _Lru = field(init=False)
    overviews: _Lru = field(init=False)
    short_path_requests: int = field(default=0, init=False)
    """``POST calls`` answered before routing (``short_path``); counted on the event loop."""

    def __post_init__(self) -> None:
        self._advisors = _Lru(self.config.advisors)
        self.overviews = _Lru(256, ttl=self.config.overview_ttl_seconds)

    def advisor(self, options: AdviceOptions) -> Advising:
        """One core per distinct option set, reused: it keeps its recall cache and task
        matcher warm, as a Python agent's advisor does across turns."""
        key = json.dumps(options.model_dump(mode="json"), sort_keys=True, default=str)
        return self._advisors.get(key, lambda: self.backend.advisor(options))

    def warm_up(self) -> None:
        """Build the core of a brief with default options now (a server's start-up), and
        load the Beta quantiles it uses, so the first brief pays for neither."""
        load_scipy_now()
        # Defaults only: no candidate tools are needed to know the options.
        defaults = BriefRequest.model_construct(tools=[])
        config = self.config
        self.advisor(
            defaults.advice_options(config.recall_budget, recall_index=config.recall_index)
        )


def state_of(request: Request) -> ServiceState:
    """The app's state, read off a request (hot routes use it instead of the dependency)."""
    state: ServiceState = request.app.state.toolwise
    return state


async def service_state(request: Request) -> ServiceState:
    """The app's state (async: a sync dependency would cost a worker-thread hand-off)."""
    return state_of(request)
