"""``toolwise priors``, ``evaluate`` and ``audit`` show what the records taught, the way an
operator reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from toolwise import Toolwise
from toolwise.cli import main


def test_priors_show_the_learnt_reliability(
    devops_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``toolwise priors`` lists rate, interval and confidence per tool and context."""
    assert main(["priors", "--path", str(devops_store), "--agent", "devops"]) == 0
    out = capsys.readouterr().out
    assert "kubectl_deploy" in out
    assert "production_deploy" in out


def test_priors_of_an_old_simulation_read_as_learnt_today_and_as_of_its_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Evidence is forgotten on evidence of change, not by the calendar: records made on
    simulated dates a year back read today as they did at their time (``--as-of``)."""
    then = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
    with Toolwise(tmp_path / "sim", clock=lambda: then, ttl=None) as tw:
        for _ in range(30):
            tw.record(agent_id="devops", tool="kubectl_deploy", task_type="deploy")

    def rate(*extra: str) -> float:
        argv = ["priors", "--path", str(tmp_path / "sim"), "--agent", "devops", "--json"]
        assert main([*argv, *extra]) == 0
        [prior] = json.loads(capsys.readouterr().out)
        return float(prior["rate"])

    assert rate("--as-of", "2025-03-03T12:30") > 0.9
    assert rate() == pytest.approx(rate("--as-of", "2025-03-03T12:30"))


def test_priors_of_an_old_store_are_read_at_its_newest_record_and_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store whose newest record is old is evaluated at that record's time, with one line
    saying so; n and the effective evidence are shown apart."""
    then = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
    with Toolwise(tmp_path / "sim", clock=lambda: then, ttl=None) as tw:
        for _ in range(12):
            tw.record(agent_id="devops", tool="kubectl_deploy", task_type="deploy")
    assert main(["priors", "--path", str(tmp_path / "sim"), "--agent", "devops"]) == 0
    out = capsys.readouterr().out
    assert "evaluated as of 2025-03-03 12:00 UTC, the newest record's time" in out
    header = next(line for line in out.splitlines() if line.startswith("tool"))
    assert "n" in header.split()
    assert "effective n" in header


def test_audit_lists_self_improvement_changes(
    devops_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``toolwise audit`` shows what an improvement pass changed."""
    with Toolwise(devops_store) as tw:
        tw.improve("devops")
    assert main(["audit", "--path", str(devops_store), "--agent", "devops"]) == 0
    assert "lesson" in capsys.readouterr().out


def test_evaluate_estimates_another_strategy_from_logged_propensities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Calls logged with their propensity, read back from the store: an estimate with
    intervals and an effective sample size; a bad --config is refused naming config."""
    import random
    from datetime import timedelta

    rng = random.Random(7)
    rates = {"kubectl_deploy": 0.85, "ansible_run": 0.4}
    path = tmp_path / "store"
    start = datetime.now(UTC) - timedelta(hours=3)
    with Toolwise(path) as tw:
        for i in range(120):
            tool = rng.choice(sorted(rates))
            tw.record(
                agent_id="devops",
                tool=tool,
                task_type="deploy",
                outcome="success" if rng.random() < rates[tool] else "failure",
                timestamp=start + timedelta(minutes=i),  # recent: within the TTL
                metadata={"propensity": 0.5},
            )
    code = main(["evaluate", "--path", str(path), "--agent", "devops", "--strategy", "greedy"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "doubly robust" in printed
    assert "120 logged decisions" in printed
    assert main(["evaluate", "--path", str(path), "--agent", "devops", "--json"]) == 0
    estimate = json.loads(capsys.readouterr().out)
    assert estimate["decisions"] == 120
    assert estimate["dr_ci"][0] <= estimate["dr"] <= estimate["dr_ci"][1]
    bad = ["evaluate", "--path", str(path), "--agent", "devops", "--config"]
    assert main([*bad, '{"epsilon": 7}']) == 2
    assert "epsilon" in capsys.readouterr().err  # the field at fault is named
    assert main([*bad, "{epsilon"]) == 2
    assert "config" in capsys.readouterr().err
