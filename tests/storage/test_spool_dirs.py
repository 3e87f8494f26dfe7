"""The spool's directories: one per live process, taken over only once their process ended."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from toolwise.models import ToolOutcome
from toolwise.storage.spool import Spool
from toolwise.storage.spool_dirs import (
    DeadDirectories,
    SpoolDirectory,
    count_lines,
    inspect_spool,
    own_directory,
    write_note,
)
from toolwise.storage.spool_lines import encode


def _dead(root: Path, name: str, lines: int) -> Path:
    """A directory as a killed process leaves it: a lock nobody holds, and a segment."""
    directory = root / name
    directory.mkdir(parents=True)
    (directory / ".lock").touch()
    records = b"".join(encode(ToolOutcome(tool="deploy")) for _ in range(lines))
    (directory / "seg-00000001.jsonl").write_bytes(records)
    return directory


def test_only_directories_whose_lock_is_free_are_adopted(tmp_path: Path) -> None:
    """A live process's directory is left alone; a dead one is adopted with its segments."""
    live, live_fd = own_directory(tmp_path)
    dead = _dead(tmp_path, "inst-1-dead", lines=2)
    mine, _ = own_directory(tmp_path)
    adopted = DeadDirectories(tmp_path, mine).adopt()
    assert adopted == [(dead, [dead / "seg-00000001.jsonl"])]
    assert live.exists()
    assert live_fd >= 0


def test_a_directory_is_adopted_once_while_its_lock_is_held(tmp_path: Path) -> None:
    """Holding the dead owner's lock keeps a second adopter (another process) away."""
    _dead(tmp_path, "inst-1-dead", lines=1)
    first = DeadDirectories(tmp_path, own_directory(tmp_path)[0])
    second = DeadDirectories(tmp_path, own_directory(tmp_path)[0])
    assert len(first.adopt()) == 1
    assert second.adopt() == []
    first.close()
    assert len(second.adopt()) == 1


def test_a_dead_directory_without_segments_is_removed(tmp_path: Path) -> None:
    directory = tmp_path / "inst-1-empty"
    directory.mkdir()
    (directory / ".lock").touch()
    assert DeadDirectories(tmp_path, own_directory(tmp_path)[0]).adopt() == []
    assert not directory.exists()


@pytest.mark.parametrize(
    ("durability", "said"),
    [
        ("immediate", "so none is missing"),
        ("deferred", "calls that finished in its last 1 s"),
        (None, "How it recorded is unknown"),
    ],
)
def test_the_restart_warning_says_what_the_dead_process_risked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, durability: str | None, said: str
) -> None:
    dead = _dead(tmp_path, "inst-1-dead", lines=1)
    if durability is not None:
        write_note(dead, durability=durability, window=1.0)
    with caplog.at_level(logging.WARNING, logger="toolwise.spool"):
        DeadDirectories(tmp_path, own_directory(tmp_path)[0]).adopt()
    assert "ended without closing toolwise" in caplog.text
    assert said in caplog.text


def test_inspect_spool_reports_each_directory_without_taking_it(tmp_path: Path) -> None:
    running = Spool(tmp_path)
    _dead(tmp_path, "inst-1-ended", lines=3)
    closed = _dead(tmp_path, "inst-2-closed", lines=1)
    (closed / ".closed").touch()
    (tmp_path / "rejected.jsonl").write_text("{}\n{}\n")
    found, rejected = inspect_spool(tmp_path)
    live = [d for d in found if d.state == "running"]
    assert [(d.records, d.name.startswith("inst-")) for d in live] == [(None, True)]
    assert set(found) - set(live) == {
        SpoolDirectory("inst-1-ended", "ended", 3),
        SpoolDirectory("inst-2-closed", "closed", 1),
    }
    assert rejected == 2
    assert (tmp_path / "inst-1-ended").exists()
    running.close(drained=True)


def test_a_torn_last_line_is_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "seg"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"torn')
    assert count_lines(path) == 2


def test_an_adoption_after_close_lets_go_of_the_locks(tmp_path: Path) -> None:
    """A spool closed while its writer looked for dead directories keeps none of them: the
    next process can take them over at once."""
    spool = Spool(tmp_path)
    spool.close(drained=True)
    _dead(tmp_path, "inst-1-dead", lines=1)
    assert spool.adopt_orphans() == 0
    assert len(DeadDirectories(tmp_path, own_directory(tmp_path)[0]).adopt()) == 1
