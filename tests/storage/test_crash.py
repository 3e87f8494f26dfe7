"""A process killed mid-stream loses nothing it acknowledged; the restart stores it once."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from toolwise import Toolwise
from toolwise.models import ToolOutcome

_CHILD = Path(__file__).with_name("crash_child.py")
_ACKNOWLEDGED_BEFORE_KILL = 450


def _run_and_kill(root: Path, errors: Path, mode: str = "record") -> set[str]:
    """Start the child, SIGKILL it after enough acknowledgements; every id it printed."""
    with errors.open("wb") as stderr:
        child = subprocess.Popen(  # the same interpreter and venv as the tests
            [sys.executable, str(_CHILD), mode, str(root)], stdout=subprocess.PIPE, stderr=stderr
        )
    assert child.stdout is not None
    acknowledged: set[str] = set()
    try:
        for line in child.stdout:
            acknowledged.add(line.decode().strip())
            if len(acknowledged) >= _ACKNOWLEDGED_BEFORE_KILL:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        # Through the same buffered reader: communicate() would skip its read-ahead.
        rest = child.stdout.read()
        child.wait()
    assert child.returncode == -signal.SIGKILL, errors.read_text()[-2_000:]
    # Lines already in the pipe were acknowledged too; a line cut by the kill was not.
    acknowledged.update(line.decode() for line in rest.split(b"\n")[:-1])
    return acknowledged


def test_sigkilled_process_loses_no_acknowledged_record(
    tmp_path: Path, all_calls: Callable[..., list[ToolOutcome]]
) -> None:
    """After SIGKILL, a restart replays the spool: every acknowledged id, exactly once."""
    root = tmp_path / "store"
    acknowledged = _run_and_kill(root, errors=tmp_path / "child-stderr.txt")
    assert len(acknowledged) >= _ACKNOWLEDGED_BEFORE_KILL

    with Toolwise(root) as tw:
        assert tw.counters.replayed > 0
        assert tw.flush(timeout=60)
        stored = [o.id for o in all_calls(tw, "crash")]
        count = tw.store.count("crash")
        counters = tw.counters

    assert len(stored) == len(set(stored)) == count  # exactly once
    assert acknowledged <= set(stored)  # nothing acknowledged is lost
    assert len(set(stored) - acknowledged) <= 1  # at most the record spooled but not printed
    assert (counters.pending, counters.dropped) == (0, 0)


def test_sigkilled_agent_keeps_every_persisted_call(
    tmp_path: Path,
    all_calls: Callable[..., list[ToolOutcome]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Deferred durability: calls made durable by ``persist()`` survive SIGKILL, exactly once,
    and the restart says out loud that the dead process may have lost its last calls."""
    root = tmp_path / "store"
    acknowledged = _run_and_kill(root, errors=tmp_path / "child-stderr.txt", mode="calls")
    assert len(acknowledged) >= _ACKNOWLEDGED_BEFORE_KILL

    with caplog.at_level(logging.WARNING, logger="toolwise.spool"), Toolwise(root) as tw:
        assert tw.flush(timeout=60)
        stored = [json.loads(o.tool_input)["marker"] for o in all_calls(tw, "crash")]
        counters = tw.counters

    assert len(stored) == len(set(stored))  # exactly once
    assert acknowledged <= set(stored)  # nothing persisted is lost
    assert (counters.pending, counters.dropped) == (0, 0)
    assert "ended without closing toolwise" in caplog.text
    assert "It ran durability='deferred': calls that finished in its last 1 s" in caplog.text


def test_the_restart_does_not_claim_losses_for_a_process_that_ran_immediate(
    tmp_path: Path,
    all_calls: Callable[..., list[ToolOutcome]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The dead process's durability mode is recorded in its spool directory: after a
    SIGKILL of a process that ran ``durability='immediate'``, the adopting process says that
    nothing is missing, not the deferred warning."""
    root = tmp_path / "store"
    acknowledged = _run_and_kill(root, errors=tmp_path / "child-stderr.txt", mode="immediate-calls")
    with caplog.at_level(logging.WARNING, logger="toolwise.spool"), Toolwise(root) as tw:
        assert tw.flush(timeout=60)
        stored = {json.loads(o.tool_input)["marker"] for o in all_calls(tw, "crash")}
    assert acknowledged <= stored
    assert "It ran durability='immediate'" in caplog.text
    assert "so none is missing" in caplog.text
    assert "durability='deferred'" not in caplog.text
