"""``recommend`` with no environment pools every environment's evidence, with shrinkage.

Issue 14.2: a store recorded under ``environment="prod"`` must not read as untried when the
user asks without naming an environment; ``priors(environment=None)`` already meant "all of
them", and ``recommend`` agrees. Each recommendation says whose evidence it used.
"""

from __future__ import annotations

import pytest

from toolwise import Toolwise

TOOLS = ["helm_upgrade", "kubectl_apply"]


def _record(tw: Toolwise, tool: str, environment: str, successes: int, failures: int) -> None:
    for n in range(successes + failures):
        tw.record(
            tool=tool,
            outcome="success" if n < successes else "failure",
            task_type="deploy",
            agent_id="devops",
            environment=environment,
        )


def test_recommend_without_an_environment_uses_the_evidence_recorded_under_one(
    tw: Toolwise,
) -> None:
    """20 calls each under ``prod``: ``recommend`` without an environment ranks on them."""
    _record(tw, "helm_upgrade", "prod", 19, 1)
    _record(tw, "kubectl_apply", "prod", 6, 14)
    tw.flush()

    best, worst = tw.recommend("deploy", TOOLS, agent_id="devops", strategy="greedy")

    assert (best.tool, best.observations, best.environments) == ("helm_upgrade", 20, ("prod",))
    assert best.rate > 0.8
    assert worst.rate < 0.4
    assert "success over 20 calls in prod," in best.reason


def test_naming_an_environment_still_keeps_it_apart(tw: Toolwise) -> None:
    """``environment="staging"`` reads staging only: prod's record is not its evidence."""
    _record(tw, "helm_upgrade", "prod", 19, 1)
    tw.flush()

    [rec, _] = tw.recommend(
        "deploy", TOOLS, agent_id="devops", environment="staging", strategy="greedy"
    )
    assert rec.observations == 0
    assert rec.environments == ()


def test_environments_that_agree_pool_their_evidence(tw: Toolwise) -> None:
    """A little staging evidence that agrees with prod's is added to it in full."""
    _record(tw, "helm_upgrade", "prod", 18, 2)
    _record(tw, "helm_upgrade", "staging", 3, 0)
    tw.flush()

    [helm, _] = tw.recommend("deploy", TOOLS, agent_id="devops", strategy="greedy")

    assert helm.environments == ("prod", "staging")  # the anchor (most evidence) first
    assert helm.observations == 23
    assert helm.effective_observations == pytest.approx(23.0, rel=0.05)
    assert "over 23 calls in prod, staging (pooled)" in helm.reason


def test_an_environment_that_disagrees_lends_little(tw: Toolwise) -> None:
    """Shrinkage: staging, where the tool always fails, barely moves prod's estimate."""
    _record(tw, "helm_upgrade", "prod", 20, 0)
    _record(tw, "helm_upgrade", "staging", 0, 10)
    tw.flush()

    [helm, _] = tw.recommend("deploy", TOOLS, agent_id="devops", strategy="greedy")
    [prod_only, _] = tw.recommend(
        "deploy", TOOLS, agent_id="devops", environment="prod", strategy="greedy"
    )

    naive = 21 / 32  # both environments' counts simply added, on a Beta(1, 1) prior
    assert helm.environments == ("prod", "staging")
    assert prod_only.rate - helm.rate < (prod_only.rate - naive) / 2
