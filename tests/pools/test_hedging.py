"""Hedged requests: a slow member gets company after its learnt p95; the first success wins."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from tests.pools.conftest import Provider

from toolwise import ToolOutcome, Toolwise
from toolwise.pools import Member, Pool, PoolOptions


def test_a_hedge_starts_the_next_member_when_the_first_is_slow(
    make_pool: Callable[..., Pool],
) -> None:
    slow, fast = Provider("search_a", blocks=True), Provider("search_b")
    pool = make_pool(slow, fast, hedge=True, hedge_delay=0.01)
    try:
        assert pool.call({"q": "x"}) == "answer from search_b"
    finally:
        slow.release.set()

    assert (pool.stats.hedges, pool.stats.hedge_wins) == (1, 1)


def test_a_sync_loser_that_started_first_is_given_up_and_recorded_as_a_timeout(
    make_pool: Callable[..., Pool], records: Callable[..., list[ToolOutcome]]
) -> None:
    slow, fast = Provider("search_a", blocks=True), Provider("search_b")
    pool = make_pool(slow, fast, hedge=True, hedge_delay=0.01)
    try:
        pool.call({"q": "x"})
    finally:
        slow.release.set()  # it runs to its end; what it returns is no longer recorded

    outcomes = {r.tool: r for r in records()}
    assert (outcomes["search_a"].outcome, outcomes["search_a"].error_type) == (
        "failure",
        "TimeoutError",
    )
    assert "hedge" in outcomes["search_b"].tags
    assert pool.stats.given_up == 1


async def test_an_async_loser_that_started_first_is_cancelled_and_recorded_as_a_timeout(
    make_pool: Callable[..., Pool], records: Callable[..., list[ToolOutcome]]
) -> None:
    slow, fast = Provider("search_a", blocks=True), Provider("search_b")
    pool = make_pool(slow, fast, hedge=True, hedge_delay=0.01)

    assert await pool.acall({"q": "x"}) == "answer from search_b"
    assert slow.cancelled
    assert pool.stats.given_up == 1
    outcomes = {r.tool: r.error_type for r in records()}
    assert outcomes == {"search_a": "TimeoutError", "search_b": ""}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_hedge_beaten_by_the_first_member_is_cancelled_and_not_recorded(
    tw: Toolwise, records: Callable[..., list[ToolOutcome]], mode: str
) -> None:
    hedge_started = threading.Event()
    hedge_released = threading.Event()

    def first(_: Mapping[str, Any]) -> str:
        hedge_started.wait(timeout=30)  # answers only once the hedge is running
        return "first"

    async def afirst(_: Mapping[str, Any]) -> str:
        await asyncio.to_thread(hedge_started.wait, 30)
        return "first"

    def second(_: Mapping[str, Any]) -> str:
        hedge_started.set()
        hedge_released.wait(timeout=30)
        return "second"

    async def asecond(_: Mapping[str, Any]) -> str:
        hedge_started.set()
        await asyncio.Event().wait()  # only a cancel ends it
        return "second"

    pool = Pool(
        "search",
        [Member("search_a", first, afirst), Member("search_b", second, asecond)],
        runtime=tw.runtime,
        defaults=tw.defaults(task_type="search"),
        options=PoolOptions(hedge=True, hedge_delay=0.01, strategy="greedy"),
    )
    try:
        answer = pool.call({}) if mode == "sync" else asyncio.run(pool.acall({}))
    finally:
        hedge_released.set()

    assert answer == "first"
    assert (pool.stats.cancelled, pool.stats.given_up) == (1, 0)
    assert [r.tool for r in records()] == ["search_a"]


def test_without_hedging_a_slow_member_is_waited_for(make_pool: Callable[..., Pool]) -> None:
    slow, fast = Provider("search_a"), Provider("search_b")

    assert make_pool(slow, fast).call({"q": "x"}) == "answer from search_a"
    assert fast.calls == []


def test_the_hedge_delay_is_the_members_learnt_p95_latency(
    tw: Toolwise, make_pool: Callable[..., Pool], learn: Callable[..., None]
) -> None:
    learn(tw, "search_a", 10, 0, latency_ms=200.0)
    pool = make_pool(Provider("search_a"), Provider("search_b"), hedge=True, hedge_delay=3.0)

    delays = pool.plan().hedge_after
    assert delays["search_a"] == 0.2
    assert delays["search_b"] == 3.0  # nothing learnt yet: the cold delay


def test_a_p95_from_too_few_calls_is_not_trusted(
    tw: Toolwise, make_pool: Callable[..., Pool], learn: Callable[..., None]
) -> None:
    learn(tw, "search_a", 2, 0, latency_ms=200.0)
    pool = make_pool(Provider("search_a"), hedge=True, hedge_delay=3.0)

    assert pool.plan().hedge_after["search_a"] == 3.0
