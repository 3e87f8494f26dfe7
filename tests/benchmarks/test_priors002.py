"""The tool-priors API (seed 002) and its routing rule as a complete policy."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from learning_sim.priors002 import Priors002


def _observe(priors: Priors002, tool: str, successes: int, failures: int) -> None:
    for _ in range(successes):
        priors.observe(tool, True, "deploy")
    for _ in range(failures):
        priors.observe(tool, False, "deploy")


def test_observe_updates_a_beta_one_one_prior() -> None:
    """Two successes and a failure give Beta(3, 2): rate 0.6, low confidence."""
    priors = Priors002(random.Random(1))
    _observe(priors, "web_search", 2, 1)
    summary = priors.prior("web_search", "deploy")
    assert (summary.alpha, summary.beta, summary.observations) == (3.0, 2.0, 3.0)
    assert summary.rate == pytest.approx(0.6)
    assert summary.confidence == "low"


@pytest.mark.parametrize(("n", "label"), [(4, "low"), (5, "medium"), (19, "medium"), (20, "high")])
def test_confidence_thresholds(n: int, label: str) -> None:
    """low below 5 observations, medium from 5 to 20, high from 20."""
    priors = Priors002(random.Random(1))
    _observe(priors, "t", n, 0)
    assert priors.prior("t", "deploy").confidence == label


def test_contexts_are_kept_apart() -> None:
    """A prior is per tool × context class."""
    priors = Priors002(random.Random(1))
    priors.observe("t", False, "a")
    assert priors.prior("t", "b").rate == 0.5


def test_routes_away_from_a_low_confidence_low_rate_tool() -> None:
    """A tool at 0/2 (rate 0.25, low confidence) is skipped for the best unflagged one."""
    priors = Priors002(random.Random(1))
    _observe(priors, "ansible_run", 0, 2)
    _observe(priors, "kubectl_deploy", 1, 0)
    assert priors.route(["ansible_run", "kubectl_deploy", "helm"], "deploy") == "kubectl_deploy"


def test_medium_confidence_tools_are_not_routed_away_even_when_poor() -> None:
    """The rule only flags *low* confidence: 1/7 successes (rate 0.22, medium) stays eligible."""
    priors = Priors002(random.Random(1))
    _observe(priors, "ansible_run", 1, 6)  # rate 2/9, medium confidence
    _observe(priors, "kubectl_deploy", 0, 2)  # rate 0.25, low: flagged
    assert priors.route(["ansible_run", "kubectl_deploy"], "deploy") == "ansible_run"


def test_when_every_tool_is_flagged_the_highest_rate_wins() -> None:
    """The rule cannot leave no tool: with all flagged, pick the best rate anyway."""
    priors = Priors002(random.Random(1))
    _observe(priors, "a", 0, 2)  # 0.25
    _observe(priors, "b", 0, 3)  # 0.2
    assert priors.route(["a", "b"], "deploy") == "a"


def test_ties_are_broken_at_random() -> None:
    """At cold start every tool is Beta(1, 1): each is picked sometimes."""
    priors = Priors002(random.Random(4))
    picks = Counter(priors.route(["a", "b", "c"], "deploy") for _ in range(300))
    assert set(picks) == {"a", "b", "c"}
