"""A pool: the learnt order, falling through, budgets, and one record per attempt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.pools.conftest import Provider

from toolwise import InvalidArgumentError, ToolOutcome, Toolwise, ToolwiseError
from toolwise.pools import Member, Pool, PoolExhaustedError, PoolOptions
from toolwise.recording import JudgeRules
from toolwise.recording.judge import DECLARED_JUDGE_KEY


def test_the_member_with_the_better_record_is_called_first(
    tw: Toolwise, make_pool: Callable[..., Pool], learn: Callable[..., None]
) -> None:
    a, b = Provider("search_a"), Provider("search_b")
    learn(tw, "search_a", 2, 8)
    learn(tw, "search_b", 9, 1)

    assert make_pool(a, b).call({"q": "x"}) == "answer from search_b"
    assert (len(a.calls), len(b.calls)) == (0, 1)


def test_a_failing_member_falls_through_to_the_next(make_pool: Callable[..., Pool]) -> None:
    a, b = Provider("search_a", error=ConnectionError("refused")), Provider("search_b")

    assert make_pool(a, b).call({"q": "x"}) == "answer from search_b"


def test_every_attempt_is_recorded_under_its_member_with_the_pool_tag(
    make_pool: Callable[..., Pool], records: Callable[..., list[ToolOutcome]]
) -> None:
    a, b = Provider("search_a", error=ConnectionError("refused")), Provider("search_b")
    make_pool(a, b).call({"q": "x"})

    found = [(r.tool, r.outcome, r.attempt, r.error_type) for r in records()]
    assert found == [
        ("search_a", "failure", 1, "ConnectionError"),
        ("search_b", "success", 2, ""),
    ]
    assert all("pool:search" in r.tags and r.source == "pool" for r in records())


def test_a_result_judged_a_failure_falls_through(
    tw: Toolwise, make_pool: Callable[..., Pool]
) -> None:
    a, b = Provider("search_a", answer="ERROR: quota"), Provider("search_b")

    def judge(output: Any) -> str | None:
        return "failure" if str(output).startswith("ERROR") else None

    pool = Pool(
        "search",
        [a.member(), b.member()],
        runtime=tw.runtime,
        defaults=tw.defaults(judge=judge),
        options=PoolOptions(strategy="greedy"),
    )
    assert pool.call({"q": "x"}) == "answer from search_b"


def test_a_judge_named_for_a_member_judges_its_results(
    tw: Toolwise, records: Callable[..., list[ToolOutcome]]
) -> None:
    """``judge={member: ...}`` applies to that member's attempts, as through every entry
    point; a member's own declared judge (its metadata) too (issue 17)."""
    a, b, c = Provider("search_a", answer=[]), Provider("search_b", answer=[]), Provider("search_c")
    declared = Member(
        "search_b", b.call, b.acall, metadata={DECLARED_JUDGE_KEY: JudgeRules(empty="partial")}
    )
    pool = Pool(
        "search",
        [a.member(), declared, c.member()],
        runtime=tw.runtime,
        defaults=tw.defaults(judge={"search_a": JudgeRules(empty="failure")}),
        options=PoolOptions(strategy="greedy"),
    )

    assert pool.call({"q": "x"}) == []  # search_b's nothing-found is partial: it answers
    assert [(r.tool, r.outcome, r.judged_by) for r in records()] == [
        ("search_a", "failure", "empty_result"),
        ("search_b", "partial", "empty_result"),
    ]


def test_when_every_member_fails_the_error_names_each_attempt(
    make_pool: Callable[..., Pool],
) -> None:
    a = Provider("search_a", error=ConnectionError("refused"))
    b = Provider("search_b", error=TimeoutError("slow"))

    with pytest.raises(PoolExhaustedError) as caught:
        make_pool(a, b).call({"q": "x"})

    assert isinstance(caught.value, ToolwiseError)
    assert caught.value.reason == "all failed"
    assert [(f.member, f.error_type) for f in caught.value.attempts] == [
        ("search_a", "ConnectionError"),
        ("search_b", "TimeoutError"),
    ]
    assert "search_a: ConnectionError: refused" in str(caught.value)


def test_the_attempt_budget_stops_the_fall_through(make_pool: Callable[..., Pool]) -> None:
    a, b = Provider("search_a", error=ConnectionError("refused")), Provider("search_b")

    with pytest.raises(PoolExhaustedError) as caught:
        make_pool(a, b, max_attempts=1).call({"q": "x"})

    assert caught.value.reason == "attempts"
    assert b.calls == []


def test_the_deadline_gives_up_a_member_that_does_not_answer(
    make_pool: Callable[..., Pool], records: Callable[..., list[ToolOutcome]]
) -> None:
    a = Provider("search_a", blocks=True)
    try:
        with pytest.raises(PoolExhaustedError) as caught:
            make_pool(a, deadline=0.05).call({"q": "x"})
    finally:
        a.release.set()

    assert caught.value.reason == "deadline"
    assert [(r.tool, r.error_type) for r in records()] == [("search_a", "TimeoutError")]


def test_control_flow_from_a_member_is_re_raised_and_not_recorded(
    tw: Toolwise, records: Callable[..., list[ToolOutcome]]
) -> None:
    class Interrupt(Exception):  # noqa: N818 - stands for LangGraph's GraphInterrupt
        pass

    a, b = Provider("search_a", error=Interrupt()), Provider("search_b")
    pool = Pool(
        "search",
        [a.member(), b.member()],
        runtime=tw.runtime,
        defaults=tw.defaults(),
        options=PoolOptions(strategy="greedy"),  # nothing learnt: the declared order
        control_flow=lambda error: isinstance(error, Interrupt),
    )

    with pytest.raises(Interrupt):
        pool.call({"q": "x"})
    assert (b.calls, records()) == ([], [])


def test_an_adapter_turns_the_pools_arguments_into_a_members(tw: Toolwise) -> None:
    a = Provider("search_a")
    adapted = Member("search_a", a.call, a.acall, adapt=lambda args: {"query": args["q"]})
    pool = Pool("search", [adapted], runtime=tw.runtime, defaults=tw.defaults())

    pool.call({"q": "x"})
    assert a.calls == [{"query": "x"}]


async def test_the_async_twin_falls_through_the_same_way(
    make_pool: Callable[..., Pool], records: Callable[..., list[ToolOutcome]]
) -> None:
    a, b = Provider("search_a", error=ConnectionError("refused")), Provider("search_b")

    assert await make_pool(a, b).acall({"q": "x"}) == "answer from search_b"
    assert [(r.tool, r.outcome) for r in records()] == [
        ("search_a", "failure"),
        ("search_b", "success"),
    ]


@pytest.mark.parametrize(
    ("members", "field"),
    [
        ([], "members"),
        ([Provider("a").member(), Provider("a").member()], "members"),
        ([Provider("search").member()], "name"),
    ],
)
def test_a_pool_that_cannot_work_is_refused_when_built(
    tw: Toolwise, members: list[Member], field: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        Pool("search", members, runtime=tw.runtime, defaults=tw.defaults())
    assert caught.value.field == field


@pytest.mark.parametrize("flag", ["hedge", "idempotent", "requires_confirmation"])
def test_a_switch_given_as_text_is_refused_naming_it(
    make_pool: Callable[..., Pool], flag: str
) -> None:
    """``hedge="yes"`` is not read as true: a pool that hedges runs members twice."""
    with pytest.raises(InvalidArgumentError) as caught:
        make_pool(Provider("search_a"), **{flag: "yes"})
    assert caught.value.field == flag


@pytest.mark.parametrize("unsafe", [{"idempotent": False}, {"requires_confirmation": True}])
def test_hedging_is_refused_for_members_that_must_not_run_twice(
    make_pool: Callable[..., Pool], unsafe: dict[str, bool]
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        make_pool(Provider("search_a"), hedge=True, **unsafe)
    assert caught.value.field == "hedge"
