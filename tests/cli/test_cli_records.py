"""``toolwise calls``, ``summary``, ``forget`` and ``spool`` read and delete the record log
the way an operator uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolwise import ToolOutcome, Toolwise
from toolwise.cli import main


def test_summary_prints_a_table_per_tool(
    devops_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``toolwise summary`` shows calls, success and latency per tool."""
    assert main(["summary", "--path", str(devops_store), "--agent", "devops"]) == 0
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


def test_summary_json_is_machine_readable(
    devops_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json`` prints the summary model as JSON."""
    assert main(["summary", "--path", str(devops_store), "--agent", "devops", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total_calls"] == 5
    assert {t["name"]: t["call_count"] for t in summary["tools"]} == {
        "kubectl_deploy": 4,
        "ansible_run": 1,
    }


def test_calls_lists_failures_only_when_asked(
    devops_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``toolwise calls --failures`` lists just the failed calls."""
    argv = ["calls", "--path", str(devops_store), "--agent", "devops", "--failures"]
    assert main([*argv, "--json"]) == 0
    calls = json.loads(capsys.readouterr().out)
    assert [c["tool"] for c in calls] == ["ansible_run"]


def test_forget_retires_a_tool(devops_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``toolwise forget --tool X --yes`` deletes that tool's records."""
    argv = ["forget", "--path", str(devops_store), "--agent", "devops", "--tool", "ansible_run"]
    assert main([*argv, "--yes"]) == 0
    assert "deleted 1 record(s)" in capsys.readouterr().out
    assert main(["summary", "--path", str(devops_store), "--agent", "devops", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_calls"] == 4


def test_forget_asks_before_deleting(
    devops_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--yes`` a "no" answer deletes nothing."""
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    assert main(["forget", "--path", str(devops_store), "--agent", "devops", "--everything"]) == 1
    assert "nothing deleted" in capsys.readouterr().out


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


@pytest.mark.parametrize(
    ("where", "said"),
    [
        (["--path", "a-file"], "a-file: not a directory"),
        (["--spool-dir", "a-file"], "a-file: not a directory"),
        (
            ["--path", "no-such-store"],
            "no toolwise store at no-such-store: nothing recorded there yet",
        ),
        (["--spool-dir", "no-such-spool"], "no spool at no-such-spool"),
    ],
)
def test_spool_on_a_path_that_holds_none_exits_2_saying_so(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: list[str],
    said: str,
) -> None:
    """A mistyped path printed "0 record(s) … (empty)" with exit 0: nothing waiting, it said."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a store")
    assert main(["spool", *where]) == 2
    assert capsys.readouterr().err == f"toolwise: {said}\n"
