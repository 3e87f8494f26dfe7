"""The held-out randomised suite: the ε-greedy-with-recency baseline and the versus table."""

from __future__ import annotations

from datetime import UTC, datetime

from learning_heldout import versus_rows
from learning_sim.baselines import BASELINES
from learning_sim.decisions import Decision, Result
from learning_sim.generator import DEVELOPMENT, HELD_OUT, SUCCESS
from learning_sim.heldout import ANY_RATE, Run, Suite
from learning_sim.policies import STANDARD

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def test_epsilon_greedy_with_recency_follows_a_tool_that_broke() -> None:
    """Recency-weighted means: after the favourite starts failing, the other tool leads."""
    policy = BASELINES["eps_recency"](SUCCESS, 1_000, 1)
    tools = ("a", "b")
    for i in range(400):
        decision = Decision(i, NOW, "", tools)
        tool = policy.choose(decision)
        broke = i >= 200
        ok = (tool == "a") != broke  # a is perfect, then broken; b the reverse
        policy.learn(decision, tool, Result(ok, 1.0, 0.0))
    late = [policy.choose(Decision(400 + i, NOW, "", tools)) for i in range(200)]
    assert late.count("b") > 150  # ε = 0.1 of the picks explore
    assert "eps_recency" in STANDARD


def test_held_out_seeds_never_overlap_the_development_seeds() -> None:
    """Tuning seeds and reported seeds are disjoint ranges."""
    assert not set(DEVELOPMENT) & set(HELD_OUT)


def test_the_versus_table_compares_toolwise_with_the_best_baseline_per_rate() -> None:
    """One row per family × rate: toolwise's mean regret beside the best baseline's."""
    runs = [
        Run("abrupt", s, p, ANY_RATE, r, 0.5, (), ())
        for s in (1, 2)
        for p, r in (("thompson", 100.0), ("sw_ucb", 50.0))
    ]
    runs += [Run("abrupt", s, "bayes_ucb", ANY_RATE, 80.0, 0.5, (), ()) for s in (1, 2)]
    others = [b for b in STANDARD if b not in {"thompson", "sw_ucb", "bayes_ucb"}]
    runs += [Run("abrupt", s, b, ANY_RATE, 500.0, 0.5, (), ()) for s in (1, 2) for b in others]
    runs += [
        Run("abrupt", s, "toolwise", rate, 40.0, 0.5, (), ())
        for s in (1, 2)
        for rate in ("1/min", "1/day")
    ]
    suite = Suite(("abrupt",), (1, 2), True, ("1/min", "1/day"), tuple(runs))
    rows = versus_rows(suite)
    assert [row[:6] for row in rows] == [
        ["abrupt", "1/min", "40.0", "sw_ucb", "50.0", "0.80"],
        ["abrupt", "1/day", "40.0", "sw_ucb", "50.0", "0.80"],
    ]
