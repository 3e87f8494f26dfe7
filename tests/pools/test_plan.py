"""Planning a call: bounded exploration, and the declared order when the store is down."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tests.conftest import ChromaServer
from tests.pools.conftest import Provider

from toolwise import Recommendation, Toolwise
from toolwise.learning import LearningConfig, ReliabilityView
from toolwise.pools import Pool, PoolOptions
from toolwise.recording.recorder import Recorder


class ContrarianRuntime:
    """The real runtime, but its strategy always draws the member with the worst record as a
    sure success (it explores on every call), to test the pool's exploration budget."""

    def __init__(self, tw: Toolwise) -> None:
        self._runtime = tw.runtime

    @property
    def recorder(self) -> Recorder:
        return self._runtime.recorder

    def view(self) -> Contrarian:
        return Contrarian(self._runtime.view())


class Contrarian:
    def __init__(self, view: ReliabilityView) -> None:
        self._view = view

    def recommend(self, *, tools: Sequence[str], **kwargs: Any) -> list[Recommendation]:
        ranked = sorted(self._view.recommend(tools=tools, **kwargs), key=lambda r: r.rate)
        drawn = [r.model_copy(update={"sampled_success": 0.0}) for r in ranked]
        return [ranked[0].model_copy(update={"sampled_success": 1.0}), *drawn[1:]]

    def priors(self, **kwargs: Any) -> list[Any]:
        return self._view.priors(**kwargs)

    @property
    def config(self) -> LearningConfig:
        return self._view.config


def test_long_shots_get_no_more_than_the_exploration_share(
    tw: Toolwise, learn: Callable[..., None]
) -> None:
    learn(tw, "search_a", 1, 30)
    learn(tw, "search_b", 30, 1)
    bad, good = Provider("search_a", error=ConnectionError("down")), Provider("search_b")
    pool = Pool(
        "search",
        [bad.member(), good.member()],
        runtime=ContrarianRuntime(tw),
        defaults=tw.defaults(task_type="search"),
        options=PoolOptions(max_exploration_share=0.2, strategy="greedy"),
    )

    for _ in range(50):
        pool.call({"q": "x"})

    assert len(bad.calls) <= 0.2 * 50
    assert pool.stats.long_shots == len(bad.calls)
    assert pool.stats.demoted == 50 - len(bad.calls)


def test_without_evidence_no_member_is_a_long_shot(make_pool: Callable[..., Pool]) -> None:
    plan = make_pool(Provider("search_a"), Provider("search_b")).plan()

    assert (plan.long_shot, plan.demoted, plan.ranked) == (False, False, True)


def test_with_the_store_down_the_pool_keeps_its_declared_order(
    own_chroma_server: ChromaServer, tmp_path: Any, prefix: str
) -> None:
    tw = Toolwise(url=own_chroma_server.url, spool_dir=tmp_path / "spool", prefix=prefix)
    try:
        own_chroma_server.stop()
        a, b = Provider("search_a"), Provider("search_b")
        core = Pool("search", [a.member(), b.member()], runtime=tw.runtime, defaults=tw.defaults())

        assert core.call({"q": "x"}) == "answer from search_a"
        assert core.stats.unranked == 1
        assert tw.counters.recorded == 1  # recorded into the spool, stored once it is back
    finally:
        tw.close(timeout=0.1)


class Explorer:
    """The real view, but its strategy explores ``tool``: puts it first, marked explored."""

    def __init__(self, tw: Toolwise, tool: str) -> None:
        self._runtime = tw.runtime
        self._tool = tool

    @property
    def recorder(self) -> Recorder:
        return self._runtime.recorder

    def view(self) -> Explorer:
        return self

    def recommend(self, *, tools: Sequence[str], **kwargs: Any) -> list[Recommendation]:
        ranked = self._runtime.view().recommend(tools=tools, **kwargs)
        chosen = next(r for r in ranked if r.tool == self._tool)
        rest = [r.model_copy(update={"explored": False}) for r in ranked if r is not chosen]
        return [chosen.model_copy(update={"explored": True}), *rest]

    def priors(self, **kwargs: Any) -> list[Any]:
        return self._runtime.view().priors(**kwargs)

    @property
    def config(self) -> LearningConfig:
        return self._runtime.view().config


def test_a_member_the_strategy_explores_goes_first_within_the_exploration_share(
    tw: Toolwise, learn: Callable[..., None]
) -> None:
    """A re-try after an outage is the strategy's call: the effort sort, reading the outage's
    latencies, would never let the member be tried again."""
    learn(tw, "search_recovering", 20, 20, latency_ms=3_000.0)
    learn(tw, "search_steady", 39, 1, latency_ms=120.0)
    members = [Provider("search_recovering").member(), Provider("search_steady").member()]
    pool = Pool(
        "search",
        members,
        runtime=Explorer(tw, "search_recovering"),
        defaults=tw.defaults(task_type="search"),
        options=PoolOptions(max_exploration_share=1.0),
    )

    plan = pool.plan()

    assert (plan.order[0], plan.long_shot) == ("search_recovering", True)
