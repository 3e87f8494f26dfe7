"""Cold start within a task type: a tool's first calls are read against its peers' rate there."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from toolwise.learning import LearningConfig, ReliabilityView

if TYPE_CHECKING:
    from conftest import FakeClock


def _good_peers(view: ReliabilityView) -> None:
    """Two tools at 90 % over 20 calls each in the task type."""
    for n in range(20):
        view.observe("kubectl_deploy", n % 10 != 0, context_class="deploy")
        view.observe("terraform_apply", n % 10 != 3, context_class="deploy")


def _rate(view: ReliabilityView, tool: str) -> float:
    (top,) = view.recommend(task_type="deploy", tools=[tool], strategy="greedy")
    return top.rate


def test_a_newcomer_starts_near_its_peers(view: ReliabilityView) -> None:
    """Untried among two 90 % tools, a tool starts close to 90 %, not at the flat 50 %."""
    _good_peers(view)
    assert _rate(view, "helm_upgrade") == pytest.approx((36 + 1) / (40 + 2))


def test_one_early_failure_does_not_bury_a_tool(view: ReliabilityView) -> None:
    """A first call that fails leaves the tool near its peers instead of at a flat 33 %."""
    _good_peers(view)
    view.observe("helm_upgrade", False, context_class="deploy")
    assert _rate(view, "helm_upgrade") > 0.7


def test_the_peer_prior_gives_way_to_own_evidence(view: ReliabilityView) -> None:
    """After peer_prior_strength (8) calls of its own, a tool is judged on them alone."""
    _good_peers(view)
    for n in range(8):
        view.observe("helm_upgrade", n < 4, context_class="deploy")
    assert _rate(view, "helm_upgrade") == pytest.approx(5 / 10)


def test_a_tool_that_just_broke_gets_no_peer_prior(view: ReliabilityView, clock: FakeClock) -> None:
    """A reset tool's four failures speak for themselves: its peers do not prop it up."""
    _good_peers(view)
    for n in range(40):
        clock.advance()
        view.observe("helm_upgrade", n % 10 != 0, context_class="deploy")
    for _ in range(4):
        clock.advance()
        prior = view.observe("helm_upgrade", False, context_class="deploy")
    assert prior.changes == 1
    assert prior.rate == pytest.approx(1 / 6, rel=1e-3)


def test_the_peer_prior_can_be_switched_off(clock: FakeClock) -> None:
    """peer_prior_strength=0 keeps the plain Beta(1, 1) base."""
    view = ReliabilityView(LearningConfig(peer_prior_strength=0.0), clock=clock)
    _good_peers(view)
    assert _rate(view, "helm_upgrade") == pytest.approx(0.5)


def _unlucky_start(config: LearningConfig, clock: FakeClock) -> int:
    """How often (of 200 draws) the fast tool is put first after its first call failed."""
    view = ReliabilityView(config, clock=clock)
    view.observe("kubectl", False, context_class="deploy", latency_ms=1_900.0)
    for _ in range(3):
        view.observe("terraform", True, context_class="deploy", latency_ms=15_000.0)
    tools = ["kubectl", "terraform"]
    return sum(
        view.recommend(task_type="deploy", tools=tools, seed=seed)[0].tool == "kubectl"
        for seed in range(200)
    )


def test_an_unlucky_first_call_keeps_the_tool_in_play(clock: FakeClock) -> None:
    """After one failure the fast tool is still drawn first more often than on a flat prior."""
    with_peers = _unlucky_start(LearningConfig(), clock)
    flat = _unlucky_start(LearningConfig(peer_prior_strength=0.0), clock)
    assert with_peers > flat + 20
