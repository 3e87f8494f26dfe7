"""The command line refuses bad input in one line with exit status 2, and reading never
creates a store (issue 10 item 4, issue 14 item 4). The hostile table is built from the
parser itself, so every command and option, present and future, is walked."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from toolwise import Toolwise
from toolwise.cli import _parser, main

HOSTILE = ("", "x", "-1", "nan", "1e999", "/etc/passwd", "/proc/1/mem", "9999-99-99", "\x01")
NOT_WALKED = {"serve"}  # it would listen: its options are checked by tests/service


def _make_store(path: Path) -> Path:
    with Toolwise(path) as tw:
        tw.record(agent_id="devops", tool="kubectl_deploy", outcome="success")
        tw.record(agent_id="billing", tool="invoice", outcome="failure")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return _make_store(tmp_path / "store")


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the hostile table (nothing there deletes: forget never gets --yes)."""
    return _make_store(tmp_path_factory.mktemp("cli") / "store")


def _commands() -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    def walk(
        prefix: list[str], parser: argparse.ArgumentParser
    ) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield prefix, parser
        for action in subs:
            for name, sub in action.choices.items():
                if name not in NOT_WALKED:
                    yield from walk([*prefix, name], sub)

    return walk([], _parser())


def _cases() -> Iterator[tuple[list[str], str | None, str]]:
    for command, parser in _commands():
        for action in parser._actions:
            if action.nargs == 0 or isinstance(action, argparse._HelpAction):
                continue
            flag = action.option_strings[0] if action.option_strings else None
            for value in HOSTILE:
                yield command, flag, value


CASES = list(_cases())


@pytest.mark.parametrize("case", CASES, ids=[f"{' '.join(c)}-{f}-{v!r}" for c, f, v in CASES])
def test_a_hostile_option_exits_cleanly_in_one_line(
    shared_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: tuple[list[str], str | None, str],
) -> None:
    command, flag, value = case
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    argv = [*command]
    if flag not in {"--path", "--url"} and command[0] != "keys":
        argv += ["--path", str(shared_store)]
    argv += [flag, value] if flag else [value]
    before = sorted(os.listdir(tmp_path))
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code in (0, 1, 2), f"{argv}: exit {code}"
    if code == 2:
        assert len(err.strip().splitlines()) == 1, f"{argv}: {err}"
    if command[0] not in ("keys",):  # keys create writes a key file, on purpose
        assert sorted(os.listdir(tmp_path)) == before, f"{argv} created files"


def test_forget_with_empty_ids_deletes_nothing(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for ids in ("", " , ", ","):
        code = main(["forget", "--path", str(store), "--agent", "devops", "--ids", ids, "--yes"])
        assert code == 2
        assert "--ids" in capsys.readouterr().err
    with Toolwise(store) as tw:
        assert len(tw.list_calls("devops")) == 1


def test_forget_without_yes_and_no_terminal_exits_2(
    store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["forget", "--path", str(store), "--agent", "devops", "--everything"]) == 2
    assert "--yes" in capsys.readouterr().err
    with Toolwise(store) as tw:
        assert len(tw.list_calls("devops")) == 1


@pytest.mark.parametrize("timeout", ["-1", "nan", "inf"])
def test_forget_with_a_bad_timeout_names_it_and_deletes_nothing(
    store: Path, timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["forget", "--path", str(store), "--agent", "devops", "--everything", "--yes"]
    assert main([*argv, "--timeout", timeout]) == 2
    assert "timeout" in capsys.readouterr().err
    with Toolwise(store) as tw:
        assert len(tw.list_calls("devops")) == 1


@pytest.mark.parametrize("command", ["calls", "priors", "forget"])
def test_a_blank_tool_is_refused_naming_the_option(
    store: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--tool ''`` names no tool: refused in one line, never read as "any tool"."""
    yes = ["--yes"] if command == "forget" else []
    with pytest.raises(SystemExit) as done:
        main([command, "--path", str(store), "--agent", "devops", "--tool", " ", *yes])
    assert done.value.code == 2
    assert "argument --tool: must not be blank" in capsys.readouterr().err
    with Toolwise(store) as tw:
        assert len(tw.list_calls("devops")) == 1


@pytest.mark.parametrize("since", ["x", "2026-13-45", "yesterday"])
def test_a_bad_date_is_one_line_and_exit_2(
    store: Path, since: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["calls", "--path", str(store), "--since", since])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "not an ISO date or time" in err


@pytest.mark.parametrize("path", ["/etc/passwd", "/proc/1/mem", "/proc/self"])
def test_a_path_that_holds_no_store_is_refused_in_one_line(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", "--path", path, "--agent", "devops"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["calls", "summary", "priors", "audit"])
def test_reading_never_creates_a_store(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOOLWISE_PATH", raising=False)
    assert main([command, "--agent", "devops"]) == 2
    assert "no toolwise store at .toolwise" in capsys.readouterr().err
    assert main([command, "--path", str(tmp_path / "elsewhere")]) == 2
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_agent_lists_the_known_ones(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", "--path", str(store), "--agent", "devop"]) == 2
    err = capsys.readouterr().err
    assert "'devop'" in err
    assert "billing, devops" in err


def test_rebuild_takes_no_agent_because_it_relearns_every_agent(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rebuild --agent devops`` used to be accepted, ignored and relearn every agent,
    even for an agent the store has never seen."""
    with pytest.raises(SystemExit) as exit_:
        main(["rebuild", "--path", str(store), "--agent", "devops"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --agent devops" in capsys.readouterr().err


def test_library_and_cli_share_one_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """$TOOLWISE_PATH (else ./.toolwise) is where Toolwise() writes and the CLI reads."""
    monkeypatch.chdir(tmp_path)
    for where in (None, tmp_path / "shared"):
        if where is None:
            monkeypatch.delenv("TOOLWISE_PATH", raising=False)
        else:
            monkeypatch.setenv("TOOLWISE_PATH", str(where))
        with Toolwise() as tw:
            tw.record(agent_id="devops", tool="kubectl_deploy", outcome="success")
        assert main(["summary", "--agent", "devops"]) == 0
        assert "devops: 1 calls" in capsys.readouterr().out
    assert (tmp_path / ".toolwise" / "chroma").is_dir()
    assert (tmp_path / "shared" / "chroma").is_dir()


def _toolwise(*argv: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: a process of its own, no logging configured."""
    command = [sys.executable, "-m", "toolwise.cli", *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    "argv",
    [["keys", "list"], ["keys", "create", "--agent", "ci"]],
    ids=["keys list", "keys create"],
)
def test_a_failure_is_one_line_in_a_process_of_its_own(tmp_path: Path, argv: list[str]) -> None:
    """Python's last-resort handler printed the key ring's logged error before the command's
    own line: the same failure, twice (tests in-process never saw it: pytest captures logs)."""
    broken = tmp_path / "keys.json"
    broken.write_text("{ not json")
    done = _toolwise(*argv, "--keys", str(broken))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"toolwise: the key file {broken} cannot be read")


def test_warnings_of_a_command_that_succeeds_follow_its_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Held while the command runs, one line each afterwards."""
    from toolwise.cli.logs import warnings_unless_failed

    def warns() -> int:
        logging.getLogger("toolwise.test").warning("a warning\nover two lines")
        print("output")
        return 0

    assert warnings_unless_failed(warns) == 0
    captured = capsys.readouterr()
    assert captured.out == "output\n"
    assert captured.err == "toolwise: warning: a warning over two lines\n"


@pytest.mark.parametrize("seed", ["-1", "x", "1.5"])
def test_evaluate_refuses_a_seed_that_is_not_a_non_negative_integer(
    store: Path, capsys: pytest.CaptureFixture[str], seed: str
) -> None:
    """With no logged decision to rank, ``--seed -1`` used to be accepted (exit 0)."""
    with pytest.raises(SystemExit) as done:
        main(["evaluate", "--path", str(store), "--agent", "devops", "--seed", seed])
    assert done.value.code == 2
    assert "argument --seed: expected a non-negative integer" in capsys.readouterr().err
