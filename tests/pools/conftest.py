"""Fixtures for pools: members as plain callables over a real toolwise (in-memory Chroma).

Members record what happened to them in a :class:`Provider`, so tests assert on behaviour
(which member ran, in which order), never on how long anything took.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from toolwise import Toolwise
from toolwise.pools import Member, Pool, PoolOptions


@dataclass
class Provider:
    """A scripted member: answers, raises, or waits for ``release`` (sync) / forever (async)."""

    name: str
    answer: Any = None
    error: BaseException | None = None
    blocks: bool = False
    calls: list[Mapping[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False

    def __post_init__(self) -> None:
        if self.answer is None:
            self.answer = f"answer from {self.name}"

    def call(self, args: Mapping[str, Any]) -> Any:
        self.calls.append(args)
        if self.blocks:
            self.release.wait(timeout=30)
        if self.error is not None:
            raise self.error
        return self.answer

    async def acall(self, args: Mapping[str, Any]) -> Any:
        self.calls.append(args)
        if self.blocks:
            try:
                await asyncio.Event().wait()  # never set: only a cancel ends it
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        if self.error is not None:
            raise self.error
        return self.answer

    def member(self) -> Member:
        return Member(self.name, self.call, self.acall)


@pytest.fixture
def make_pool(tw: Toolwise) -> Callable[..., Pool]:
    """``make_pool(*providers, task_type="search", **options)``: a pool over ``tw.runtime``."""

    def make(*providers: Provider, task_type: str = "search", **options: Any) -> Pool:
        options.setdefault("strategy", "greedy")  # a fixed order: tests assert on it
        return Pool(
            "search",
            [p.member() for p in providers],
            runtime=tw.runtime,
            defaults=tw.defaults(task_type=task_type),
            options=PoolOptions(**options),
        )

    return make


def teach(tw: Toolwise, tool: str, successes: int, failures: int, **fields: Any) -> None:
    """Give ``tool`` a record for the ``search`` task type, failures spread evenly (failures
    bunched at the end would read as a change in the tool, which the view reacts to)."""
    total = successes + failures
    spread = [int((i + 1) * failures / total) > int(i * failures / total) for i in range(total)]
    for ok in (not failed for failed in spread):
        tw.observe(tool, ok, task_type="search", **fields)


@pytest.fixture
def learn() -> Callable[..., None]:
    """``learn(tw, tool, successes, failures, latency_ms=...)``: seed evidence."""
    return teach
