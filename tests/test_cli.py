"""The ``toolwise`` command line reads like the operator uses it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from toolwise import ToolOutcome, Toolwise
from toolwise.cli import main


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """An embedded store with a few deploys of agent ``devops``."""
    path = tmp_path / "store"
    with Toolwise(path) as tw:
        for i in range(4):
            tw.record(
                agent_id="devops",
                tool="kubectl_deploy",
                latency_ms=1_900 + i,
                task_type="production_deploy",
                cost=0.01,
            )
        tw.record(
            agent_id="devops",
            tool="ansible_run",
            outcome="failure",
            latency_ms=45_000,
            error_type="SSHTimeout",
            error_message="timed out",
            task_type="production_deploy",
        )
    return path


def test_summary_prints_a_table_per_tool(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``toolwise summary`` shows calls, success and latency per tool."""
    assert main(["summary", "--path", str(store), "--agent", "devops"]) == 0
    out = capsys.readouterr().out
    assert "devops: 5 calls, 80% success" in out
    assert "kubectl_deploy" in out
    assert "SSHTimeout: timed out" in out


def test_summary_says_n_a_for_advice_that_was_never_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every advised call followed the advice: "when not" is n/a, not 0 %."""
    path = tmp_path / "store"
    with Toolwise(path) as tw:
        for _ in range(3):
            tw.record(agent_id="devops", tool="kubectl_deploy", recommended_tool="kubectl_deploy")
    assert main(["summary", "--path", str(path), "--agent", "devops"]) == 0
    out = capsys.readouterr().out
    assert (
        "advice followed 100% of 3 advised calls; success 100% when followed, n/a when not" in out
    )


def test_summary_json_is_machine_readable(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--json`` prints the summary model as JSON."""
    assert main(["summary", "--path", str(store), "--agent", "devops", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total_calls"] == 5
    assert {t["name"]: t["call_count"] for t in summary["tools"]} == {
        "kubectl_deploy": 4,
        "ansible_run": 1,
    }


def test_calls_lists_failures_only_when_asked(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``toolwise calls --failures`` lists just the failed calls."""
    assert main(["calls", "--path", str(store), "--agent", "devops", "--failures", "--json"]) == 0
    calls = json.loads(capsys.readouterr().out)
    assert [c["tool"] for c in calls] == ["ansible_run"]


def test_forget_retires_a_tool(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``toolwise forget --tool X --yes`` deletes that tool's records."""
    assert (
        main(
            ["forget", "--path", str(store), "--agent", "devops", "--tool", "ansible_run", "--yes"]
        )
        == 0
    )
    assert "deleted 1 record(s)" in capsys.readouterr().out
    assert main(["summary", "--path", str(store), "--agent", "devops", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_calls"] == 4


def test_forget_asks_before_deleting(
    store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--yes`` a "no" answer deletes nothing."""
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    assert main(["forget", "--path", str(store), "--agent", "devops", "--everything"]) == 1
    assert "nothing deleted" in capsys.readouterr().out


def test_priors_show_the_learnt_reliability(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``toolwise priors`` lists rate, interval and confidence per tool and context."""
    assert main(["priors", "--path", str(store), "--agent", "devops"]) == 0
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
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``toolwise audit`` shows what an improvement pass changed."""
    with Toolwise(store) as tw:
        tw.improve("devops")
    assert main(["audit", "--path", str(store), "--agent", "devops"]) == 0
    assert "lesson" in capsys.readouterr().out


def test_a_bad_agent_id_is_reported_not_raised(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input exits 2 with a message naming the field."""
    assert main(["calls", "--path", str(store), "--agent", "bad\x01id"]) == 2
    assert "agent_id" in capsys.readouterr().err


def test_spool_lists_what_waits_on_disk_without_taking_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``toolwise spool`` shows a running process's directory and one left with records,
    and leaves both where they are (it never adopts)."""
    from toolwise.storage.spool import Spool

    root = tmp_path / "store" / "spool"
    running = Spool(root)
    ended = Spool(root)
    for i in range(2):
        ended.append(ToolOutcome(tool="deploy", latency_ms=float(i)))
    ended.close(drained=False)  # closed while the store was down
    assert main(["spool", "--path", str(tmp_path / "store"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    states = {d["state"]: d["records"] for d in report["directories"]}
    assert states == {"running": None, "closed": 2}
    assert main(["spool", "--path", str(tmp_path / "store")]) == 0
    assert "2 record(s) left by processes that ended" in capsys.readouterr().out
    assert list((root / ended._dir.name).glob("seg-*.jsonl"))  # left for a real process
    running.close(drained=True)


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
