"""Hedged requests: a slow member gets company after its learnt p95; the first success wins."""

from __future__ import annotations

from collections.abc import Callable

from tests.pools.conftest import Provider

from toolwise import ToolOutcome, Toolwise
from toolwise.pools import Pool


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


def test_a_sync_loser_finishes_in_the_background_and_is_still_recorded(
    make_pool: Callable[..., Pool],
    records: Callable[..., list[ToolOutcome]],
    eventually: Callable[..., bool],
) -> None:
    slow, fast = Provider("search_a", blocks=True), Provider("search_b")
    make_pool(slow, fast, hedge=True, hedge_delay=0.01).call({"q": "x"})
    slow.release.set()

    assert eventually(lambda: len(records()) == 2)
    hedged = [r for r in records() if r.tool == "search_b"]
    assert "hedge" in hedged[0].tags


async def test_an_async_loser_is_cancelled_and_not_recorded(
    make_pool: Callable[..., Pool], records: Callable[..., list[ToolOutcome]]
) -> None:
    slow, fast = Provider("search_a", blocks=True), Provider("search_b")
    pool = make_pool(slow, fast, hedge=True, hedge_delay=0.01)

    assert await pool.acall({"q": "x"}) == "answer from search_b"
    assert slow.cancelled
    assert pool.stats.cancelled == 1
    assert [r.tool for r in records()] == ["search_b"]


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
