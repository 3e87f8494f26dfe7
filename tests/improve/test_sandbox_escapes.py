"""Every escape issue 16 found in the forked sandbox, attempted again against the OS
boundary, plus secrets, a fork bomb, memory exhaustion and outliving the call.

Each test runs real child processes: the payload (``sandbox_payloads``) tries the escape and
reports what it saw; the test checks that report *and* the world outside.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.improve import sandbox_payloads as payloads

from toolwise import Toolwise
from toolwise.improve import ResourceLimits, Sandbox
from toolwise.improve.sandbox import default_sandbox
from toolwise.storage.clients import ephemeral_client

SANDBOX = default_sandbox()
pytestmark = pytest.mark.skipif(
    not SANDBOX.support.available, reason=f"no OS sandbox here: {SANDBOX.support.reason}"
)


@pytest.fixture
def outside_target() -> Iterator[Path]:
    """A path in the working directory (visible, read-only, inside the sandbox)."""
    target = Path.cwd() / f"owned-{uuid.uuid4().hex}"
    yield target
    target.unlink(missing_ok=True)


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[Toolwise]:
    """A live Toolwise with a spool on disk, as in an agent that runs composites."""
    tw = Toolwise(client=ephemeral_client(), spool_dir=tmp_path / "spool", prefix="escape")
    yield tw
    tw.close()


def test_a_pickle_on_the_result_channel_is_never_unpickled(tmp_path: Path) -> None:
    """A ``__reduce__`` payload sent as the report fails the call; its code never runs."""
    marker = tmp_path / "ran-in-the-parent"
    result = SANDBOX.run(lambda: payloads.send_pickle_instead_of_json(str(marker)), timeout=10.0)
    assert (result.ok, result.reason) == (False, "invalid_result")
    assert not marker.exists()


def test_a_forged_report_with_extra_fields_is_rejected() -> None:
    """A JSON report that does not match the schema exactly is a failed call."""
    forged = {"violations": []}
    result = SANDBOX.run(lambda: payloads.forge_report(forged), timeout=10.0)
    assert (result.ok, result.reason) == (False, "invalid_result")


def test_the_policy_cannot_be_switched_off_from_inside(outside_target: Path) -> None:
    """toolwise is a stub in the child, and the read-only view does not depend on it."""
    result = SANDBOX.run(lambda: payloads.switch_policy_off(str(outside_target)), timeout=10.0)
    assert isinstance(result.value, dict)
    assert "not available inside the toolwise sandbox" in result.value["toolwise"]
    assert "Read-only file system" in result.value["write"]
    assert not outside_target.exists()


def test_a_shell_started_inside_stays_inside(outside_target: Path) -> None:
    """Starting processes is allowed, but they share the boundary: no write, no secrets."""
    os.environ["TOOLWISE_TEST_SECRET"] = "s3cr3t"
    try:
        result = SANDBOX.run(lambda: payloads.start_a_shell(str(outside_target)), timeout=10.0)
    finally:
        del os.environ["TOOLWISE_TEST_SECRET"]
    assert isinstance(result.value, dict)
    assert "Read-only file system" in result.value["err"]
    assert not any("s3cr3t" in line for line in result.value["env"])
    assert not outside_target.exists()


def test_the_agent_cannot_be_signalled() -> None:
    """Its parent is the sandbox's own init; the agent's pid does not exist in there."""
    agent = os.getpid()
    result = SANDBOX.run(lambda: payloads.signal_the_agent(agent), timeout=10.0)
    assert isinstance(result.value, dict)
    assert result.value["parent"] != agent
    assert result.value["probe_agent"].startswith("ProcessLookupError")
    assert result.value["agent_environ"].startswith("FileNotFoundError")


@pytest.mark.usefixtures("recording")
@pytest.mark.parametrize("level", ["sandbox", "restricted"])
def test_learning_data_cannot_be_forged(tmp_path: Path, level: str) -> None:
    """Neither a spool file written into the agent's spool nor a Toolwise built inside
    reaches the store — even at ``restricted``, where the filesystem is writable: every
    Toolwise hides its spool and store from all sandboxes of its process."""
    spool = tmp_path / "spool"
    before = sorted(p.name for p in spool.iterdir())
    result = SANDBOX.run(
        lambda: payloads.forge_spool_records(str(spool)),
        level=level,  # type: ignore[arg-type]
        timeout=10.0,
    )
    assert isinstance(result.value, dict)
    assert result.value["toolwise"].startswith("RuntimeError")
    assert sorted(p.name for p in spool.iterdir()) == before


def test_a_call_leaves_no_spool_directory_and_logs_no_error(
    recording: Toolwise,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """With a live Toolwise in the agent, a sandboxed call opens no spool and prints no
    ERROR (the child is exec'd: toolwise's after-fork hooks never run in it)."""
    spool = tmp_path / "spool"
    before = sorted(p.name for p in spool.iterdir())
    with caplog.at_level(logging.WARNING):
        result = SANDBOX.run(payloads.identity, timeout=10.0)
    assert result.ok
    assert sorted(p.name for p in spool.iterdir()) == before
    assert caplog.records == []
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("level", ["sandbox", "restricted"])
def test_secrets_of_the_agent_are_out_of_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str
) -> None:
    """The agent's environment and its home directory (an SSH key there) are not visible."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI")
    result = SANDBOX.run(
        lambda: payloads.read_secrets("AWS_SECRET_ACCESS_KEY", str(key)),
        level=level,  # type: ignore[arg-type]
        timeout=10.0,
    )
    assert isinstance(result.value, dict)
    assert result.value["env"] is None
    assert set(result.value["environ"]) <= {"HOME", "PATH", "LANG", "PWD"}
    assert result.value["file"].startswith("FileNotFoundError")
    assert result.value["home_entries"] == []


def test_a_gibibyte_allocation_fails() -> None:
    """The address-space limit turns a 1 GiB allocation into a MemoryError."""
    result = SANDBOX.run(lambda: payloads.allocate(1 << 30), timeout=10.0)
    assert str(result.value).startswith("MemoryError")


def test_a_fork_bomb_is_stopped_by_the_process_limit() -> None:
    """Forking stops at the process limit (the kernel refuses), far below the attempts."""
    if not (SANDBOX.support.privileged or os.geteuid() != 0):
        pytest.skip("the process limit does not bind uid 0 (no privileged mode here)")
    result = SANDBOX.run(lambda: payloads.fork_until_refused(1_000), timeout=10.0)
    assert isinstance(result.value, dict)
    assert result.value["started"] < SANDBOX.limits.processes
    assert "Resource temporarily unavailable" in result.value["refused"]


def test_no_socket_of_the_agent_is_inherited_or_reachable() -> None:
    """The child holds no descriptor but /dev/null and its report pipe — none of the agent's
    open sockets — and the agent's listener cannot be reached."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        inherited = SANDBOX.run(payloads.open_descriptors, timeout=10.0)
        connected = SANDBOX.run(lambda: payloads.connect("127.0.0.1", port), timeout=10.0)
    assert isinstance(inherited.value, list)
    assert inherited.value[:3] == ["/dev/null"] * 3
    assert [target.split(":")[0] for target in inherited.value[3:]] == ["pipe"]
    assert str(connected.value).startswith("ConnectionRefusedError")


def test_names_do_not_resolve() -> None:
    """No DNS: the child has no network at all."""
    result = SANDBOX.run(lambda: payloads.resolve("example.com"), timeout=10.0)
    assert str(result.value).startswith("gaierror")


def _lock_is_free(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@pytest.mark.parametrize(
    ("then_hang", "timeout", "reason"),
    [(False, 10.0, "ok"), (True, 2.0, "timeout")],
    ids=["after-the-call-returns", "at-the-timeout"],
)
def test_a_grandchild_does_not_outlive_the_call(
    tmp_path: Path, then_hang: bool, timeout: float, reason: str
) -> None:
    """A grandchild in its own session, holding a lock, is gone when the call returns —
    whether the child returned or was killed at the timeout."""
    lock = tmp_path / "held"
    result = SANDBOX.run(
        lambda: payloads.leave_a_grandchild(str(lock), then_hang=then_hang),
        level="restricted",
        timeout=timeout,
    )
    assert result.reason == reason
    assert _lock_is_free(lock)


def test_the_filesystem_is_read_only_at_level_sandbox(outside_target: Path) -> None:
    """Even where the agent's user may write, the sandbox level may not."""
    result = SANDBOX.run(lambda: payloads.write_file(str(outside_target)), timeout=10.0)
    assert "Read-only file system" in str(result.value)
    assert not outside_target.exists()


def test_a_file_above_the_size_limit_cannot_be_written(tmp_path: Path) -> None:
    """At ``restricted`` a write past ``file_bytes`` fails instead of filling the disk."""
    target = tmp_path / "huge"
    size = SANDBOX.limits.file_bytes + 1
    result = SANDBOX.run(
        lambda: payloads.write_file(str(target), size), level="restricted", timeout=10.0
    )
    assert "File too large" in str(result.value)


def test_the_child_has_no_privileges() -> None:
    """no_new_privs is set and no capability is effective; as root, it runs as nobody."""
    result = SANDBOX.run(payloads.identity, timeout=10.0)
    assert isinstance(result.value, dict)
    assert result.value["no_new_privs"] == ["NoNewPrivs:\t1"]
    assert result.value["cap_eff"] == ["CapEff:\t0000000000000000"]
    if SANDBOX.support.privileged:
        assert result.value["uid"] == 65534


def test_cpu_time_is_limited() -> None:
    """A busy loop is killed by the CPU limit (before the wall-clock timeout): the call
    crashes without a result instead of burning a core."""
    sandbox = Sandbox(limits=ResourceLimits(cpu_seconds=1))
    result = sandbox.run(payloads.spin, timeout=60.0)
    assert (result.ok, result.reason) == (False, "crashed")
    assert "resource limit" in result.error_message
