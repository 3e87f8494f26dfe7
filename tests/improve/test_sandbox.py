"""The sandbox's contract: JSON in and out, failures named by reason, refusal when the
machine cannot isolate. Escapes are in ``test_sandbox_escapes.py``."""

from __future__ import annotations

import logging
import os
import resource
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.tools import tool
from tests.improve import sandbox_payloads as payloads

from toolwise import Toolwise
from toolwise.errors import InvalidArgumentError
from toolwise.improve import Improver, ResourceLimits, Sandbox
from toolwise.improve.sandbox import Step, default_sandbox, tool_step
from toolwise.improve.sandbox import _runner as sandbox_runner

SANDBOX = default_sandbox()
needs_sandbox = pytest.mark.skipif(
    not SANDBOX.support.available, reason=f"no OS sandbox here: {SANDBOX.support.reason}"
)


@tool
def render_manifest(service: str, replicas: int = 2) -> str:
    """Render a Deployment manifest."""
    return f"kind: Deployment\nname: {service}\nreplicas: {replicas}"


@tool
def validate_manifest(manifest: str) -> str:
    """Validate a manifest."""
    if "replicas: 0" in manifest:
        raise ValueError("replicas must be positive")
    return "valid"


def test_a_machine_without_bubblewrap_refuses_the_sandbox(caplog: pytest.LogCaptureFixture) -> None:
    """Without bubblewrap the call is refused with reason ``unavailable`` — never run with
    less isolation — and one WARNING line says why."""
    sandbox = Sandbox(bwrap="/nonexistent/bwrap")
    with caplog.at_level(logging.INFO, logger="toolwise.improve.sandbox"):
        result = sandbox.run(payloads.identity, timeout=10.0)
        sandbox.run(payloads.identity, timeout=10.0)
    assert (result.ok, result.reason) == (False, "unavailable")
    assert "bubblewrap" in result.error_message
    [line] = caplog.records
    assert line.levelno == logging.WARNING
    assert "sandbox unavailable" in line.getMessage()


@needs_sandbox
def test_startup_names_the_active_protections(caplog: pytest.LogCaptureFixture) -> None:
    """The first use probes the machine and logs one INFO line listing what is enforced."""
    with caplog.at_level(logging.INFO, logger="toolwise.improve.sandbox"):
        Sandbox().run(payloads.identity, timeout=10.0)
    [line] = caplog.records
    assert "no network" in line.getMessage()
    assert "read-only filesystem" in line.getMessage()


@needs_sandbox
def test_a_clean_call_returns_its_json_value() -> None:
    """A computation comes back as its JSON value."""
    result = SANDBOX.run(lambda: {"replicas": 3, "ready": True}, timeout=10.0)
    assert (result.ok, result.value) == (True, {"replicas": 3, "ready": True})


@needs_sandbox
def test_a_raising_call_fails_with_its_error() -> None:
    """The child's exception becomes reason ``error`` with its type and message."""
    result = SANDBOX.run(payloads.fail, timeout=10.0)
    assert (result.ok, result.reason, result.error_type) == (False, "error", "ConnectionError")
    assert "connection refused" in result.error_message


@needs_sandbox
def test_a_value_json_cannot_carry_fails_the_call() -> None:
    """Only JSON crosses the boundary: a set is a failed call, not a pickled value."""
    result = SANDBOX.run(payloads.not_json, timeout=10.0)
    assert (result.ok, result.error_type) == (False, "ResultNotJSON")


@needs_sandbox
def test_a_hung_call_fails_with_reason_timeout() -> None:
    """A call that never returns is killed and reported as ``timeout``."""
    result = SANDBOX.run(payloads.hang, timeout=0.5)
    assert (result.ok, result.reason, result.timed_out) == (False, "timeout", True)


@needs_sandbox
def test_a_result_above_the_size_limit_fails_the_call() -> None:
    """A report larger than ``max_result_bytes`` is not read: reason ``too_large``."""
    sandbox = Sandbox(max_result_bytes=1_000)
    result = sandbox.run(lambda: payloads.big(5_000), timeout=10.0)
    assert (result.ok, result.reason) == (False, "too_large")


def test_a_job_that_cannot_be_pickled_names_the_step() -> None:
    """A step holding a lock cannot travel to the child: ``not_sendable``, naming it."""
    lock = threading.Lock()
    step = tool_step(render_manifest, {"service": "web"})
    unsendable = Step("locked_step", lock.locked)
    result = SANDBOX.run_steps([step, unsendable], timeout=10.0)
    assert (result.ok, result.reason) == (
        False,
        "unavailable" if not SANDBOX.support.available else "not_sendable",
    )
    if SANDBOX.support.available:
        assert "step 2/2 (locked_step)" in result.error_message


@needs_sandbox
def test_steps_run_in_order_and_report_each_output() -> None:
    """A module-level ``@tool`` travels to the child and its output comes back per step."""
    manifest = render_manifest.invoke({"service": "web", "replicas": 3})
    steps = [
        tool_step(render_manifest, {"service": "web", "replicas": 3}),
        tool_step(validate_manifest, {"manifest": manifest}),
    ]
    result = SANDBOX.run_steps(steps, timeout=10.0)
    assert result.value == {
        "steps": [
            {"tool": "render_manifest", "output": manifest},
            {"tool": "validate_manifest", "output": "valid"},
        ]
    }


@needs_sandbox
def test_the_first_failing_step_fails_the_call_and_is_named() -> None:
    """A step that raises ends the chain; the message names it and its error."""
    steps = [tool_step(validate_manifest, {"manifest": "replicas: 0"})]
    result = SANDBOX.run_steps(steps, timeout=10.0)
    assert (result.reason, result.error_type) == ("error", "StepFailed")
    assert "step 1/1 (validate_manifest) failed: ValueError" in result.error_message


def test_bad_step_arguments_fail_in_the_parent() -> None:
    """Arguments that do not fit the tool's schema are refused before any process starts."""
    with pytest.raises(ValueError, match="replicas"):
        tool_step(render_manifest, {"service": "web", "replicas": "many"})


@needs_sandbox
def test_restricted_level_writes_files_but_has_no_network(tmp_path: Path) -> None:
    """``restricted`` may write where the agent's user may; connections still fail."""
    target = tmp_path / "out.txt"
    written = SANDBOX.run(
        lambda: payloads.write_file(str(target)), level="restricted", timeout=10.0
    )
    refused = SANDBOX.run(
        lambda: payloads.connect("1.1.1.1", 443), level="restricted", timeout=10.0
    )
    assert (written.value, target.read_text()) == ("ok", "xxxxx")
    assert str(refused.value).startswith("OSError")


def test_limits_are_validated_objects() -> None:
    """A bad limit fails when built, naming the field."""
    with pytest.raises(InvalidArgumentError, match="processes"):
        ResourceLimits(processes=0)
    with pytest.raises(InvalidArgumentError, match="level"):
        SANDBOX.run(payloads.identity, level="full", timeout=1.0)  # type: ignore[arg-type]


def test_without_a_sandbox_no_composite_is_proposed(
    run_task: Callable[..., None],
    make_improver: Callable[..., Improver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a machine that cannot sandbox, a recurring sequence is rejected — audited with the
    reason — instead of starting at a level that would run unisolated."""
    monkeypatch.setattr(sandbox_runner, "_default", Sandbox(bwrap="/nonexistent/bwrap"))
    for i in range(3):
        run_task(f"release-{i}", f"release web build {i}", ["terraform_apply", "helm_upgrade"])
    improver = make_improver()
    improver.improve("devops")
    assert improver.composites("devops") == []
    [rejected] = [e for e in improver.audit("devops") if e.kind == "composite.rejected"]
    assert "SandboxUnavailable" in rejected.reason


@needs_sandbox
def test_a_tool_wrapped_for_recording_runs_unwrapped(tw: Toolwise) -> None:
    """``tw.instrument(tool)`` holds the recorder (which cannot travel); its step is the
    original tool, and nothing is recorded from inside."""
    step = tool_step(tw.instrument(render_manifest), {"service": "web"})
    result = SANDBOX.run_steps([step], timeout=10.0)
    assert result.ok
    assert tw.counters.recorded == 0


@needs_sandbox
def test_a_process_with_more_than_1024_open_files_still_runs_calls() -> None:
    """A long-lived agent or server holds many sockets and files: the sandbox's descriptors
    then number above 1023, which ``select()`` refuses ("filedescriptor out of range")."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this process may open at most {hard} files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        result = SANDBOX.run(lambda: {"replicas": 3}, timeout=10.0)
        hung = SANDBOX.run(payloads.hang, timeout=0.5)
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert (result.ok, result.value) == (True, {"replicas": 3})
    assert (hung.ok, hung.reason) == (False, "timeout")
