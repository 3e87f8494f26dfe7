"""Members go in the order of least expected effort until a success, not by success alone."""

from __future__ import annotations

from collections.abc import Callable

from tests.pools.conftest import Provider

from toolwise import Toolwise
from toolwise.pools import Pool


def test_for_cost_a_cheap_member_that_sometimes_fails_goes_before_a_dear_sure_one(
    tw: Toolwise, make_pool: Callable[..., Pool], learn: Callable[..., None]
) -> None:
    learn(tw, "search_sure", 40, 0, latency_ms=100.0, cost=2.0)
    learn(tw, "search_cheap", 36, 4, latency_ms=100.0, cost=0.5)
    members = Provider("search_sure"), Provider("search_cheap")

    assert make_pool(*members, objective="cost").plan().order[0] == "search_cheap"


def test_for_latency_a_fast_member_that_sometimes_fails_goes_before_a_slow_sure_one(
    tw: Toolwise, make_pool: Callable[..., Pool], learn: Callable[..., None]
) -> None:
    learn(tw, "search_sure", 40, 0, latency_ms=20_000.0)
    learn(tw, "search_fast", 36, 4, latency_ms=200.0)
    members = Provider("search_sure"), Provider("search_fast")

    assert make_pool(*members, objective="latency").plan().order[0] == "search_fast"


def test_when_attempts_take_and_cost_the_same_the_surer_member_goes_first(
    tw: Toolwise, make_pool: Callable[..., Pool], learn: Callable[..., None]
) -> None:
    learn(tw, "search_a", 30, 10, latency_ms=100.0, cost=1.0)
    learn(tw, "search_b", 38, 2, latency_ms=100.0, cost=1.0)
    members = Provider("search_a"), Provider("search_b")

    assert make_pool(*members, objective="cost").plan().order == ("search_b", "search_a")


def test_with_thompson_sampling_a_slow_member_is_not_put_first_by_a_lucky_speed_draw(
    tw: Toolwise, make_pool: Callable[..., Pool], learn: Callable[..., None]
) -> None:
    """A member's effort is its learnt p50, not a draw whose spread (seconds, for a score)
    swamps latencies a few hundred ms apart; with no exploration budget the slow one never
    goes first."""
    learn(tw, "search_slow", 39, 1, latency_ms=700.0)
    learn(tw, "search_fast", 39, 1, latency_ms=120.0)
    members = Provider("search_slow"), Provider("search_fast")
    pool = make_pool(*members, strategy="thompson", max_exploration_share=0.0)

    firsts = {pool.plan().order[0] for _ in range(100)}

    assert firsts == {"search_fast"}
