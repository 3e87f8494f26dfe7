"""The sandbox: a forked child under an audit hook, killed at its timeout."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

from toolwise.improve import SandboxPolicy, run_sandboxed


def test_sandbox_blocks_a_network_call() -> None:
    """Opening a TCP connection fails inside the sandbox and is reported as a violation."""

    def call_home() -> str:
        with socket.create_connection(("127.0.0.1", 9), timeout=1.0):
            return "connected"

    result = run_sandboxed(call_home, policy=SandboxPolicy(), timeout=10.0)
    assert not result.ok
    assert result.error_type == "SandboxViolationError"
    assert result.violations


def test_sandbox_blocks_a_file_write(tmp_path: Path) -> None:
    """Writing a file fails inside the sandbox, and the file never appears."""
    target = tmp_path / "deployed.txt"

    def write() -> None:
        target.write_text("deployed")

    result = run_sandboxed(write, policy=SandboxPolicy(), timeout=10.0)
    assert not result.ok
    assert result.violations
    assert not target.exists()


def test_a_swallowed_violation_still_fails_the_call(tmp_path: Path) -> None:
    """A tool that catches the PermissionError still gets a failed result with the violation."""

    def sneaky() -> str:
        with contextlib.suppress(PermissionError):
            (tmp_path / "x").write_text("x")
        return "all good"

    result = run_sandboxed(sneaky, policy=SandboxPolicy(), timeout=10.0)
    assert not result.ok
    assert "open for writing" in result.violations[0]


def test_restricted_policy_allows_writes_but_not_network(tmp_path: Path) -> None:
    """``restricted`` (write=True) lets a file be written, yet still blocks a connection."""
    target = tmp_path / "out.txt"

    def write_then_connect() -> None:
        target.write_text("ok")
        socket.create_connection(("127.0.0.1", 9), timeout=1.0)

    result = run_sandboxed(write_then_connect, policy=SandboxPolicy(write=True), timeout=10.0)
    assert target.read_text() == "ok"
    assert not result.ok
    assert result.violations[0].startswith("socket.")


def test_a_hung_call_is_killed_at_the_timeout() -> None:
    """A call that never returns is reported as timed out instead of hanging the caller."""

    def hang() -> None:
        time.sleep(60)

    result = run_sandboxed(hang, policy=SandboxPolicy(), timeout=0.5)
    assert result.timed_out
    assert not result.ok


def test_a_clean_call_returns_its_value() -> None:
    """A pure computation comes back with its value."""
    result = run_sandboxed(lambda: {"replicas": 3}, policy=SandboxPolicy(), timeout=10.0)
    assert result.ok
    assert result.value == {"replicas": 3}
