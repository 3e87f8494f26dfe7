"""Reading a key's posterior through the levels around it (``learning/reader.py``): a tool's
first calls read against its peers' rate in the task type, a new task type borrowing the tool's
record elsewhere (capped) and from similar task types, as much as their outcomes say they are
alike."""

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


def test_weak_peers_leave_a_newcomer_on_the_flat_prior(view: ReliabilityView) -> None:
    """Peers at 20 % would bury an untried tool; it keeps the flat Beta(1, 1) and gets tried."""
    for n in range(20):
        view.observe("kubectl_deploy", n % 5 == 0, context_class="deploy")
        view.observe("terraform_apply", n % 5 == 1, context_class="deploy")
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
    # 14 of 200 against 0: terraform's 3/3 is not pulled toward a weaker peer any more
    assert with_peers > flat + 10


def _deploy_history(view: ReliabilityView) -> None:
    for n in range(30):
        view.observe("kubectl_deploy", n % 10 != 0, context_class="production_deploy")
        view.observe("ansible_run", n % 3 == 0, context_class="production_deploy")


def test_a_new_task_type_borrows_the_tools_overall_record(view: ReliabilityView) -> None:
    """On its first call, a never-seen task type ranks tools by their record elsewhere."""
    _deploy_history(view)
    ranked = view.recommend(
        task_type="canary_deploy", tools=["ansible_run", "kubectl_deploy"], strategy="greedy"
    )
    assert ranked[0].tool == "kubectl_deploy"
    assert ranked[0].observations == 0
    assert "expected from its record elsewhere" in ranked[0].reason


def test_borrowed_evidence_is_capped(view: ReliabilityView) -> None:
    """A record of n calls lends 5·n/(5 + n) pseudo-observations: never more than 5."""
    _deploy_history(view)
    (top,) = view.recommend(task_type="canary_deploy", tools=["kubectl_deploy"], strategy="greedy")
    (known,) = view.priors(tool="kubectl_deploy")
    lent = 5 * 30 / (5 + 30)
    assert top.rate == pytest.approx((1 + 0.9 * lent) / (2 + lent), abs=1e-3)
    assert known.rate > top.rate  # own evidence outweighs the capped borrowing


def test_own_evidence_soon_outweighs_borrowed(view: ReliabilityView) -> None:
    """A tool great elsewhere but failing in this task type is demoted after a few calls."""
    _deploy_history(view)
    for _ in range(6):
        view.observe("kubectl_deploy", False, context_class="db_migration")
        view.observe("ansible_run", True, context_class="db_migration")
    ranked = view.recommend(
        task_type="db_migration", tools=["kubectl_deploy", "ansible_run"], strategy="greedy"
    )
    assert ranked[0].tool == "ansible_run"


def _similarity(a: str, b: str) -> float:
    """Deploy-like task types are similar to each other, unrelated to searches."""
    return 0.9 if a.endswith("deploy") == b.endswith("deploy") else 0.1


def _runner_and_script(view: ReliabilityView) -> None:
    """runner: 10/10 on prod_deploy, 15/60 on log_search; script: 5/10 and 40/60 (interleaved)."""
    for n in range(10):
        view.observe("runner", True, context_class="prod_deploy")
        view.observe("script", n % 2 == 0, context_class="prod_deploy")
    for n in range(60):
        view.observe("runner", n % 4 == 0, context_class="log_search")
        view.observe("script", n % 3 != 0, context_class="log_search")


def test_similar_task_types_lend_more_than_unrelated_ones(clock: FakeClock) -> None:
    """A new deploy task follows the deploy record, not the tool's larger search record."""
    view = ReliabilityView(similarity=_similarity, clock=clock)
    plain = ReliabilityView(clock=clock)
    _runner_and_script(view)
    _runner_and_script(plain)
    tools = ["script", "runner"]
    with_similarity = view.recommend(task_type="eu_deploy", tools=tools, strategy="greedy")
    without = plain.recommend(task_type="eu_deploy", tools=tools, strategy="greedy")
    assert with_similarity[0].tool == "runner"
    assert without[0].tool == "script"


def _types(view: ReliabilityView, *, same: bool, calls: int) -> None:
    """Two task types; in ``chart`` helm is best, in ``plain`` kubectl — unless ``same``."""
    for n in range(calls):
        view.observe("kubectl", n % 10 != 0, context_class="plain")
        view.observe("helm", n % 10 == 0, context_class="plain")
        view.observe("kubectl", (n % 10 != 0) if same else (n % 10 == 0), context_class="chart")
        view.observe("helm", (n % 10 == 0) if same else (n % 10 != 0), context_class="chart")


def _borrowed(view: ReliabilityView) -> float:
    """How much a third, new task type similar to both borrows for helm."""
    (prior,) = view.priors(tool="helm", context_class="chart")
    return prior.alpha + prior.beta - prior.effective_observations


@pytest.mark.parametrize("same", [True, False])
def test_task_types_lend_only_as_much_as_their_outcomes_say_they_are_alike(same: bool) -> None:
    """Names say 'similar' (0.9); outcomes decide: alike types keep lending, unlike ones stop."""
    view = ReliabilityView(LearningConfig(time_buckets="none"), similarity=lambda a, b: 0.9)
    _types(view, same=same, calls=20)
    borrowed = _borrowed(view)
    if same:
        assert borrowed > 2.0
    else:
        assert borrowed < 2.5  # the base prior (2) and next to nothing from 'plain'


def test_a_new_task_type_barely_trusts_a_similar_name() -> None:
    """No shared evidence yet: a similar name lends at most ``similarity_strength`` × ½."""
    view = ReliabilityView(LearningConfig(time_buckets="none"), similarity=lambda a, b: 0.9)
    for n in range(50):
        view.observe("helm", n % 10 != 0, context_class="chart")
    (prior,) = view.priors(tool="helm", context_class="chart")
    fresh = view.recommend(task_type="lambda", tools=["helm"], strategy="greedy")[0]
    assert prior.rate > 0.85
    assert fresh.rate < 0.75  # 3 × 0.47 pseudo-observations at 90 % over the base prior


def test_outcomes_learnt_at_the_same_moment_change_the_likeness(clock: FakeClock) -> None:
    """A recommend works out each pair's likeness once for all its candidates; outcomes
    learnt since, even with the clock standing still, are read by the next one."""
    config = LearningConfig(time_buckets="none")
    view = ReliabilityView(config, similarity=lambda a, b: 0.9, clock=clock)
    _types(view, same=False, calls=2)
    early = _borrowed(view)
    _types(view, same=False, calls=40)  # no clock.advance(): the same moment
    assert _borrowed(view) < early
