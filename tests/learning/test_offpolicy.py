"""Off-policy evaluation from logged propensities: the estimate brackets the simulated truth."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from toolwise.learning import ReliabilityView
from toolwise.learning.offpolicy import evaluate_policy
from toolwise.models import ToolOutcome

START = datetime(2026, 1, 5, tzinfo=UTC)
RATES = {"fast_path": 0.8, "middle": 0.55, "slow_path": 0.3}


def _logged(n: int, propensities: dict[str, float], seed: int) -> list[ToolOutcome]:
    """A simulator played by a fixed random logging policy, each call with its propensity."""
    rng = random.Random(seed)
    tools = list(propensities)
    records = []
    for i in range(n):
        tool = rng.choices(tools, weights=[propensities[t] for t in tools])[0]
        ok = rng.random() < RATES[tool]
        records.append(
            ToolOutcome(
                tool=tool,
                task_type="deploy",
                outcome="success" if ok else "failure",
                timestamp=START + timedelta(minutes=10 * i),
                metadata={"propensity": propensities[tool]},
            )
        )
    return records


def _true_value_of_greedy(records: list[ToolOutcome]) -> float:
    """What greedy, fed the same evidence, would have earned: its pick's true rate, averaged."""
    view = ReliabilityView(clock=lambda: records[-1].timestamp)
    earned = 0.0
    for record in records:
        ranked = view.recommend(
            task_type="deploy",
            tools=sorted(RATES),
            objective={"success": 1.0},
            strategy="greedy",
            now=record.timestamp,
        )
        earned += RATES[ranked[0].tool]
        view.observe_outcome(record)
    return earned / len(records)


def test_the_estimates_bracket_the_value_of_a_policy_on_a_simulator() -> None:
    """Uniform logging, greedy target: both intervals hold the truth; the logged mean does not."""
    records = _logged(600, dict.fromkeys(RATES, 1 / 3), seed=11)
    truth = _true_value_of_greedy(records)
    estimate = evaluate_policy(records, strategy="greedy")
    assert estimate.decisions == 600
    assert estimate.skipped == 0
    assert estimate.snips_ci is not None
    assert estimate.dr_ci is not None
    assert estimate.snips_ci[0] <= truth <= estimate.snips_ci[1]
    assert estimate.dr_ci[0] <= truth <= estimate.dr_ci[1]
    assert estimate.logged is not None
    assert estimate.logged < estimate.dr_ci[0]  # greedy beats the uniform logger, and it shows
    assert estimate.ess > 100
    assert not estimate.warnings


def test_thin_support_is_warned_about() -> None:
    """A logger that almost never tried the best tool leaves too little to judge greedy by."""
    records = _logged(300, {"fast_path": 0.01, "middle": 0.01, "slow_path": 0.98}, seed=3)
    estimate = evaluate_policy(records, strategy="greedy")
    assert estimate.ess < 30
    assert any("thin support" in warning for warning in estimate.warnings)


def test_records_without_a_propensity_are_skipped_and_counted() -> None:
    """Calls made without a logged propensity cannot be weighed: counted, not guessed."""
    records = _logged(50, dict.fromkeys(RATES, 1 / 3), seed=5)
    bare = [r.model_copy(update={"metadata": {}}) for r in records[:20]]
    estimate = evaluate_policy(bare + records[20:], strategy="thompson")
    assert (estimate.decisions, estimate.skipped) == (30, 20)
    assert any("no usable propensity" in warning for warning in estimate.warnings)


def test_advise_mode_decisions_and_overruled_advice_are_named() -> None:
    """In ``advise`` the model chooses: the estimate says how often it followed the advice,
    and counts the calls the strategy gave no chance instead of weighing them."""
    records = _logged(40, dict.fromkeys(RATES, 1 / 3), seed=7)
    advised = [
        r.model_copy(
            update={
                "metadata": {**r.metadata, "decision_mode": "advise"},
                "recommended_tool": r.tool if n % 2 else "",
            }
        )
        for n, r in enumerate(records)
    ]
    overruled = advised[0].model_copy(update={"metadata": {"propensity": 0.0}})
    estimate = evaluate_policy([overruled, *advised[1:]], strategy="thompson")
    assert estimate.skipped == 1
    assert any("propensity 0" in warning for warning in estimate.warnings)
    assert any("39 decisions were made in advise mode" in w for w in estimate.warnings)
    assert any("which it did 20 times" in w for w in estimate.warnings)
