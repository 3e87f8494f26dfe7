"""Exploring strategies can try a tool nobody has called yet, even next to a good incumbent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolwise.learning import LearningConfig, ReliabilityView, Strategy

if TYPE_CHECKING:
    from conftest import FakeClock


def _incumbent(view: ReliabilityView, calls: int = 100) -> None:
    """kubectl_deploy: 91 % over ``calls`` calls at 1.9 s — hard to beat on a neutral speed."""
    for n in range(calls):
        view.observe("kubectl_deploy", n % 11 != 0, context_class="deploy", latency_ms=1_900.0)


def _firsts(view: ReliabilityView, seeds: int = 200) -> list[str]:
    tools = ["kubectl_deploy", "helm_upgrade"]
    return [view.recommend(task_type="deploy", tools=tools, seed=s)[0].tool for s in range(seeds)]


def test_an_untried_tool_can_outrank_a_good_fast_incumbent(view: ReliabilityView) -> None:
    """Thompson sampling puts a never-called tool first now and then, so it gets tried."""
    _incumbent(view)
    assert _firsts(view).count("helm_upgrade") >= 10


def test_without_optimism_an_untried_tool_never_wins(clock: FakeClock) -> None:
    """With a neutral 0.5 for its unknown speed, the newcomer's score is capped at 0.85."""
    view = ReliabilityView(LearningConfig(optimistic_unknowns=False), clock=clock)
    _incumbent(view, calls=300)
    assert "helm_upgrade" not in _firsts(view)


def test_greedy_and_epsilon_greedy_stay_neutral(view: ReliabilityView) -> None:
    """Only the exploring strategies are optimistic about unknown latency and cost."""
    _incumbent(view)
    strategies: tuple[Strategy, ...] = ("greedy", "epsilon_greedy")
    for strategy in strategies:
        ranked = view.recommend(
            task_type="deploy", tools=["kubectl_deploy", "helm_upgrade"], strategy=strategy, seed=1
        )
        new = next(r for r in ranked if r.tool == "helm_upgrade")
        assert (new.breakdown.speed, new.breakdown.cost) == (0.5, 0.5)


def test_the_breakdown_shows_what_was_scored(view: ReliabilityView) -> None:
    """Under Thompson sampling the untried tool's speed and cost are 1.0, and it says why."""
    _incumbent(view)
    ranked = view.recommend(task_type="deploy", tools=["kubectl_deploy", "helm_upgrade"], seed=3)
    new = next(r for r in ranked if r.tool == "helm_upgrade")
    assert (new.breakdown.speed, new.breakdown.cost) == (1.0, 1.0)
    assert "unknown latency and cost scored at their best" in new.reason


def test_a_tool_that_reports_no_latency_is_not_forever_optimistic(view: ReliabilityView) -> None:
    """Optimism is for tools never called: one that ran but reports no latency is neutral."""
    view.observe("silent", True, context_class="deploy")
    (top,) = view.recommend(task_type="deploy", tools=["silent"], seed=1)
    assert top.breakdown.speed == 0.5


def test_a_new_tool_is_adopted_after_a_few_successful_calls(clock: FakeClock) -> None:
    """A 98 % newcomer next to a 91 % incumbent takes over once it has been tried a few times."""
    view = ReliabilityView(clock=clock)
    _incumbent(view)
    calls = 0
    for seed in range(60):
        top = view.recommend(
            task_type="deploy", tools=["kubectl_deploy", "helm_upgrade"], seed=seed
        )[0].tool
        if top == "helm_upgrade":
            calls += 1
            view.observe(top, True, context_class="deploy", latency_ms=1_200.0)
        else:
            view.observe(top, seed % 11 != 0, context_class="deploy", latency_ms=1_900.0)
    greedy = view.recommend(
        task_type="deploy", tools=["kubectl_deploy", "helm_upgrade"], strategy="greedy"
    )
    assert calls >= 3
    assert greedy[0].tool == "helm_upgrade"
